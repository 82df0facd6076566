-- modprobe: kernel modules, loaded now and at boot (modules-load.d).
--
--   modprobe { name = "br_netfilter" }
--   modprobe { name = { "br_netfilter", "overlay", "ip_vs" }, optional = true,
--              persist = "10-k8s-modules.conf" }
--
-- Options:
--   name      string or list of module names ([A-Za-z0-9_-]); one task and
--             one round trip to inspect them all
--   state     "present" (default): loaded, and listed for boot;
--             "absent": unloaded (modprobe -r) if loaded, and no longer listed
--   persist   true (default): /etc/modules-load.d/<name>.conf per module;
--             a file name ("10-k8s-modules.conf", under /etc/modules-load.d/)
--             or an absolute path: one shared file, a line per module, other
--             lines kept; false: nothing is persisted. With state=absent the
--             module's line is removed, and a per-module file left with no
--             module in it is deleted.
--   optional  false (default): a module that cannot be loaded (the kernel
--             lacks it, /lib/modules is missing, modprobe is not installed)
--             fails the task, saying why. true: the task is ok (or changed,
--             if a file was written) with a warning in msg.
--
-- Loaded means listed in /proc/modules or present under /sys/module (built
-- in, or loaded); a module named in modules.builtin counts as built in.
-- Persisting and failures: a module that fails to load and is not optional
-- fails the task before anything is persisted (the host is left as it was);
-- an optional one is persisted even so, as kubeasz does for its module list:
-- a kernel that has it loads it at the next boot, and the warning says it is
-- not loaded now.
-- Round trips: one to inspect (module states and the persisted files); when
-- something differs, one to load/unload and an upload per file.

local q, trim, lines, text_diff = ezk.q, ezk.trim, ezk.lines, ezk.text_diff

local DIR = "/etc/modules-load.d/"
local END = "\1EZK-END\1\n"

-- ezk_mod_inspect "U:N ..." FILE...: U is the module's name with "_" for
-- "-" (as /sys/module has it), N as given. Prints modprobe's path (or an
-- empty line), yes/no (/proc/modules: the kernel loads modules), a state per
-- module: P a loaded module (/sys/module/U with an initstate; only modules
-- have one), B built in (/sys/module/U without, or named in the kernel's
-- modules.builtin), U not loaded; then per file F, its text and END, or N.
-- Only tests and builtins unless a module is missing (one grep for all of
-- them) and a cat per file. (Defined once per session, run by the resident
-- shell itself: locals and return only.)
local INSPECT_SH = [[
ezk_mod_inspect() {
  local mods="$1" m u miss= rel= bl= f
  shift
  command -v modprobe || { local PATH="$PATH:/sbin:/usr/sbin"; command -v modprobe; } || echo
  if [ -e /proc/modules ]; then echo yes; else echo no; fi
  for m in $mods; do
    [ -d "/sys/module/${m%%:*}" ] || miss="$miss|${m#*:}"
  done
  if [ -n "$miss" ] && read -r rel </proc/sys/kernel/osrelease && [ -f "/lib/modules/$rel/modules.builtin" ]; then
    bl=$(grep -oE "/(${miss#|})\.ko" "/lib/modules/$rel/modules.builtin")
  fi
  for m in $mods; do
    u=${m%%:*}
    if [ -d "/sys/module/$u" ]; then
      if [ -e /proc/modules ] && [ -e "/sys/module/$u/initstate" ]; then echo P; else echo B; fi
    else
      case "$bl" in *"/${m#*:}.ko"*) echo B ;; *) echo U ;; esac
    fi
  done
  for f in "$@"; do
    if [ -f "$f" ]; then echo F; cat -- "$f"; printf '\1EZK-END\1\n'; else echo N; fi
  done
  return 0
}
]]

local function file_for(persist, name)
  if persist == false then return nil end
  if persist == nil or persist == true then return DIR .. name .. ".conf" end
  persist = tostring(persist)
  if persist:sub(1, 1) == "/" then return persist end
  return DIR .. persist
end

local function has_line(text, name)
  for _, l in ipairs(lines(text or "")) do
    local w = l:match("^%s*([^#;%s]+)")
    if w == name then return true end
  end
  return false
end

local function without(text, name)
  local out, left = {}, false
  for _, l in ipairs(lines(text or "")) do
    local w = l:match("^%s*([^#;%s]+)")
    if w ~= name then
      out[#out + 1] = l
      if w then left = true end
    end
  end
  return #out > 0 and (table.concat(out, "\n") .. "\n") or "", left
end

ezk.module("modprobe", function(a, ctx)
  local names = type(a.name) == "table" and a.name or { a.name }
  if #names == 0 or names[1] == nil then return { failed = true, msg = "name is required" } end
  for _, n in ipairs(names) do
    if type(n) ~= "string" or not n:match("^[%w_%-]+$") then
      return { failed = true, msg = "bad module name: " .. tostring(n) }
    end
  end
  local absent = a.state == "absent"
  if a.state ~= nil and a.state ~= "present" and not absent then
    return { failed = true, msg = "state must be present or absent, not " .. tostring(a.state) }
  end

  -- the files to look at, each once
  local files, fidx = {}, {}
  for _, n in ipairs(names) do
    local f = file_for(a.persist, n)
    if f and not fidx[f] then files[#files + 1] = f; fidx[f] = #files end
  end

  -- inspect: modprobe's path, whether the kernel loads modules, a state per
  -- module (P loaded module, B built in, U not loaded), then the files: one
  -- call of ezk_mod_inspect (no process when every module is there)
  local pairs_ = {}
  for _, n in ipairs(names) do pairs_[#pairs_ + 1] = (n:gsub("-", "_")) .. ":" .. n end
  local call = { "ezk_mod_inspect", q(table.concat(pairs_, " ")) }
  for _, f in ipairs(files) do call[#call + 1] = q(f) end
  local r = ezk.exec(table.concat(call, " "), { lib = INSPECT_SH, lib_name = "ezk_mod_inspect",
    read_only = true })
  if r.rc ~= 0 then return { failed = true, msg = "inspect: " .. trim(r.stderr) } end
  local out, pos = r.stdout, 1
  local function line()
    local e = out:find("\n", pos, true) or #out + 1
    local l = out:sub(pos, e - 1)
    pos = e + 1
    return l
  end
  local modprobe_bin = line()
  local can_modules = line() == "yes"
  local st = {}
  for i = 1, #names do st[i] = line() end
  local old = {}
  for i = 1, #files do
    if line() == "F" then
      local e = out:find(END, pos, true)
      if not e then return { failed = true, msg = "inspect: cannot read " .. files[i] } end
      old[i] = out:sub(pos, e - 1)
      pos = e + #END
    end
  end

  -- decide
  local act, warn, fail = {}, {}, nil
  local new = {}
  for i = 1, #files do new[i] = old[i] end
  for i, n in ipairs(names) do
    if not absent and st[i] == "U" then act[#act + 1] = i
    elseif absent and st[i] == "P" then act[#act + 1] = i
    elseif absent and st[i] == "B" then
      local m = n .. " is built into the kernel: it cannot be unloaded"
      if a.optional then warn[#warn + 1] = "warning: " .. m else fail = m end
    end
  end
  if fail then return { failed = true, msg = fail } end
  local why_not
  if #act > 0 and modprobe_bin == "" then
    why_not = "modprobe is not installed (package kmod)" ..
      (can_modules and "" or "; this kernel has no loadable module support (/proc/modules is absent)")
  end

  local function persist_all()
    for _, n in ipairs(names) do
      local f = file_for(a.persist, n)
      if f then
        local k = fidx[f]
        if absent then
          local t, left = without(new[k], n)
          if new[k] ~= nil then new[k] = (left or f ~= DIR .. n .. ".conf") and t or false end
        elseif not has_line(new[k], n) then
          local t = new[k] or ""
          if t ~= "" and t:sub(-1) ~= "\n" then t = t .. "\n" end
          new[k] = t .. n .. "\n"
        end
      end
    end
  end

  -- load/unload (not under check)
  local loaded_now, failed_mods = {}, {}
  if #act > 0 and why_not then -- known to fail, under check too
    for _, i in ipairs(act) do failed_mods[i] = why_not end
  elseif #act > 0 and not ctx.check then
    local w = {}
    for _, i in ipairs(act) do
      w[#w + 1] = "if o=$(" .. q(modprobe_bin) .. (absent and " -r -- " or " -- ") .. q(names[i]) ..
        " 2>&1); then echo ok; else printf 'fail\\t%s\\n' \"$(printf %s \"$o\" | tr '\\n' ' ')\"; fi"
    end
    local wr = ezk.exec(table.concat(w, "\n"))
    if wr.rc ~= 0 then return { failed = true, msg = "modprobe: " .. trim(wr.stderr) } end
    local got = lines(wr.stdout)
    for n, i in ipairs(act) do
      if got[n] == "ok" then loaded_now[#loaded_now + 1] = i
      else failed_mods[i] = trim((got[n] or ""):gsub("^fail\t", "")) end
    end
  end
  local hard = {}
  local by_reason, reasons = {}, {} -- optional ones, grouped by why: one warning each
  for _, i in ipairs(act) do
    local m = failed_mods[i]
    if m then
      local s = (absent and "modprobe -r " or "modprobe ") .. names[i] .. " failed: " .. m
      if a.optional then
        if not by_reason[m] then by_reason[m] = {}; reasons[#reasons + 1] = m end
        table.insert(by_reason[m], names[i])
      else hard[#hard + 1] = s end
    end
  end
  for _, m in ipairs(reasons) do
    warn[#warn + 1] = "warning: " .. table.concat(by_reason[m], ", ") .. " not " ..
      (absent and "unloaded" or "loaded") .. " (optional): " .. m
  end
  if #hard > 0 then
    return { failed = true, msg = table.concat(hard, "; ") .. (a.persist ~= false and " (nothing persisted)" or "") }
  end

  persist_all()
  local changed_files = {}
  for i, f in ipairs(files) do
    if new[i] ~= old[i] then
      changed_files[#changed_files + 1] = i
    end
  end
  -- under check, what would be loaded counts as a change
  local would_act = ctx.check and #act > 0 and not why_not
  local changed = #loaded_now > 0 or #changed_files > 0 or would_act
  local notes = {}
  local done = would_act and act or loaded_now
  if #done > 0 then
    local ns = {}
    for _, i in ipairs(done) do ns[#ns + 1] = names[i] end
    notes[1] = (would_act and "would " or "") .. (absent and "unload " or "load ") .. table.concat(ns, ", ")
  end
  for _, w in ipairs(warn) do notes[#notes + 1] = w end
  local res = { changed = changed, msg = #notes > 0 and table.concat(notes, "; ") or nil }
  if not changed then return res end
  if ctx.diff then
    local d = {}
    for _, i in ipairs(changed_files) do d[#d + 1] = text_diff(old[i] or "", new[i] or "", files[i]) end
    local mods = {}
    for _, i in ipairs(done) do mods[#mods + 1] = names[i] .. "\n" end
    if #mods > 0 then
      local t = table.concat(mods)
      d[#d + 1] = text_diff(absent and t or "", absent and "" or t, "loaded modules")
    end
    res.diff = table.concat(d)
  end
  if ctx.check then return res end
  for _, i in ipairs(changed_files) do
    if new[i] == false then
      local rr = ezk.exec("rm -f -- " .. q(files[i]))
      if rr.rc ~= 0 then return { failed = true, msg = "cannot remove " .. files[i] .. ": " .. trim(rr.stderr) } end
    else
      local ok, err = ezk.upload { dest = files[i], content = new[i], mkdir = true }
      if ok == nil then return { failed = true, msg = err } end
    end
  end
  return res
end, { title = function(a) -- a list of names: the task is called after all of them
  if type(a.name) == "table" then return "modprobe " .. table.concat(a.name, ",") end
end })
