-- sysctl: kernel parameters, persisted in a sysctl.d file and set live.
--
--   sysctl { name = "net.ipv4.ip_forward", value = 1 }
--   sysctl { values = { ["net.ipv4.ip_forward"] = 1, ["vm.swappiness"] = 0 },
--            file = "/etc/sysctl.d/95-k8s-sysctl.conf" }
--
-- Options:
--   name    string: the parameter, dotted ("net.ipv4.ip_forward") or with
--           slashes ("net/ipv4/conf/eth0.1/rp_filter", for names with dots)
--   value   string | number | boolean (true = 1, false = 0). Compared with
--           runs of blanks squeezed, so "1024 65000" matches the kernel's
--           "1024\t65000".
--   values  table {name = value, ...}: several parameters in one task (in
--           name order); instead of name/value
--   file    path (default "/etc/sysctl.d/95-k8s-sysctl.conf", kubeasz's), or
--           false to persist nothing. One "name = value" line per parameter:
--           an existing line for it ("name=value", "-name = value", the
--           slash form) is edited in place, later duplicates are dropped (the
--           last one would win at boot), a missing one is appended; comments
--           and other lines are kept. Written with ezk.upload (atomic), mode
--           0644 for a new file.
--   apply   boolean (default true): also set the live value (/proc/sys, as
--           `sysctl -w` does) when it differs, and read it back: a kernel
--           that keeps another value is a failure, not a change every run.
--           A parameter the kernel does not have (e.g. net.bridge.* before
--           br_netfilter is loaded) fails when apply is true, and so does a
--           live value that differs where /proc/sys is read-only (a
--           container: Docker and LXC mount it so), with a message that says
--           so; nothing is written then. A parameter that is read-only by
--           nature (mode 0444) and differs always fails.
--   optional  boolean (default false): with apply, a parameter the kernel
--           lacks (its /proc/sys path is absent) or whose live value differs
--           but cannot be written (`[ -w ]` says no: /proc/sys is read-only)
--           is not a failure: its line is still persisted in file (a kernel
--           that has it, or the host's next boot outside the container,
--           applies it) and msg carries a warning: "warning: NAMES not applied
--           live (/proc/sys is read-only: a container?)" or "warning: NAMES
--           absent: not applied". No write is attempted. A rerun reports ok
--           with the same warning.
--   state   "present" (default) | "absent": absent removes the parameter's
--           lines from file; the live value is left as it is.
--
-- Order: the live value is set first (the kernel validates it), then the
-- file is written; a value the kernel refuses is not persisted (one left
-- unapplied under optional is persisted as given, unchecked).
-- Round trips: the inspection (file and live values together) through the
-- host's SFTP server (ezk.fs: no process; a few round trips), or the shell
-- (one, with a grep) where there is none, a target becomes, or under
-- --check; only when something differs, one to set live values (the shell
-- itself writes them), their read-back (SFTP, else a grep) and the upload
-- of the file.
-- Returns changed, and under --diff the file's unified diff plus the live
-- values as "/proc/sys (live)" lines.

local q, trim, lines, text_diff = ezk.q, ezk.trim, ezk.lines, ezk.text_diff

local DEFAULT_FILE = "/etc/sysctl.d/95-k8s-sysctl.conf"

local function norm_value(v)
  if v == true then return "1" end
  if v == false then return "0" end
  return (trim(tostring(v)):gsub("%s+", " "))
end

-- the dotted form, for matching "a/b/c" against "a.b.c"
local function norm_key(k)
  k = trim(k):gsub("^%-", "")
  if k:find("/", 1, true) then k = k:gsub("^/+", ""):gsub("/", ".") end
  return k
end

local function proc_path(k)
  if k:find("/", 1, true) then return "/proc/sys/" .. k:gsub("^/+", "") end
  return "/proc/sys/" .. k:gsub("%.", "/")
end

local function valid_key(k)
  return type(k) == "string" and k:match("^[%w_][%w_%-%.%/@:+]*$") ~= nil
    and not k:find("..", 1, true) and not k:find("//", 1, true)
end

-- The parsed sysctl.d line: key and value, or nil for comments and blanks.
local function parse_line(l)
  local s = trim(l)
  if s == "" or s:match("^[#;]") then return nil end
  local k, v = s:match("^([^=]-)%s*=%s*(.*)$")
  if not k then return nil end
  return norm_key(k), norm_value(v)
end

-- new file text: want = list of {key, value} (value nil: remove)
local function edit_file(old, want)
  local byk = {}
  for _, p in ipairs(want) do byk[norm_key(p[1])] = p end
  local seen, out = {}, {}
  for _, l in ipairs(lines(old or "")) do
    local k, v = parse_line(l)
    local p = k and byk[k]
    if not p then
      out[#out + 1] = l
    elseif p[2] ~= nil and not seen[k] then
      seen[k] = true
      out[#out + 1] = (v == p[2]) and l or (p[1] .. " = " .. p[2])
    end -- a duplicate, or state=absent: dropped
  end
  for _, p in ipairs(want) do
    local k = norm_key(p[1])
    if p[2] ~= nil and not seen[k] then
      seen[k] = true
      out[#out + 1] = p[1] .. " = " .. p[2]
    end
  end
  if #out == 0 then return "" end
  return table.concat(out, "\n") .. "\n"
end

-- ezk_sysctl_read APPLY FILE PROCPATH...: what the module reads, in one
-- round trip (defined once per session, run by the resident shell itself:
-- locals and return only).
local READ_SH = [[
ezk_sysctl_read() {
  local apply="$1" file="$2" ro= pp rd=
  shift 2
  if [ -n "$file" ] && [ -L "$file" ]; then
    echo "$file is a symbolic link (to $(readlink -- "$file")): ezk neither reads nor writes through a link; remove it, or manage the file it points to" >&2
    return 5
  fi
  for pp in "$@"; do
    if [ -z "$apply" ]; then echo -
    elif [ -r "$pp" ] && [ -f "$pp" ]; then
      if [ -w "$pp" ]; then echo Lw; else echo Lr; ro="$ro $pp"; fi
      rd=1
    elif [ -f "$pp" ]; then echo W; else echo M; fi
  done
  # the values, all in one process ("PATH:line"; the shell's own read
  # cannot: it reads a byte at a time, and /proc/sys answers only a read
  # from the start), and the file's lines with them when there is one (G)
  local g=
  [ -z "$file" ] || ! [ -f "$file" ] || ! [ -r "$file" ] || g=1
  if [ -n "$rd" ]; then grep -aH '' -- "$@" ${g:+"$file"} 2>/dev/null; printf '\1EZK-V\1\n'; fi
  [ -z "$ro" ] || stat -Lc %A $ro || return 1
  if [ -z "$file" ]; then echo N
  elif [ -n "$g" ] && [ -n "$rd" ]; then echo G
  elif [ -f "$file" ]; then echo F; cat -- "$file"; else echo N; fi
}
]]

-- ezk_sysctl_set KEY VALUE PATH...: each value written by the shell itself
-- (run by the resident shell: locals and return only); "ro=KEY" for one
-- that cannot be written (a read-only /proc/sys); read back by read_back.
local SET_SH = [[
ezk_sysctl_set() {
  local k v p
  while [ $# -ge 3 ]; do
    k=$1 v=$2 p=$3; shift 3
    [ -w "$p" ] || { echo "ro=$k"; continue; }
    printf '%s\n' "$v" 2>/dev/null >"$p" || { echo "cannot set $k to $v" >&2; return 1; }
  done
  return 0
}
]]

-- data's lines as grep -aH '' prints them for path ("PATH:line"), into t
local function grep_lines(t, path, data)
  for l in data:gmatch("([^\n]*)\n?") do
    if l ~= "" then t[#t + 1] = path .. ":" .. l end
  end
end

-- The values of these /proc/sys paths as "PATH:line" lines: through SFTP
-- (no process), else one grep.
local function read_back(paths)
  local ops = {}
  for _, pp in ipairs(paths) do ops[#ops + 1] = { "read", pp } end
  local rb = ezk.fs(ops)
  if not rb then
    local g = {}
    for _, pp in ipairs(paths) do g[#g + 1] = q(pp) end
    return ezk.exec("grep -aH '' -- " .. table.concat(g, " ") .. " 2>/dev/null", { read_only = true }).stdout
  end
  local t = {}
  for j, pp in ipairs(paths) do grep_lines(t, pp, rb[j].data or "") end
  return table.concat(t, "\n")
end

-- What ezk_sysctl_read prints, read through the host's SFTP server
-- instead (ezk.fs: no process; /proc/sys answers a read from the start):
-- nil when there is no SFTP here, or for anything but values and a file to
-- read (the shell then says it in its words). A parameter whose file has
-- no owner write bit is read-only ("Lr" and such a mode); one that cannot
-- be written for another reason (a read-only /proc/sys) is found when it
-- is set (ezk_sysctl_set: [ -w ]).
local function read_sftp(want, file, apply)
  local ops = {}
  if apply then for _, p in ipairs(want) do ops[#ops + 1] = { "read", proc_path(p[1]) } end end
  if file then ops[#ops + 1] = { "read", file } end
  if #ops == 0 then return nil end
  local r = ezk.fs(ops)
  if not r then return nil end
  local head, vals, modes = {}, {}, {}
  for i, p in ipairs(want) do
    local f = apply and r[i]
    if not apply then head[#head + 1] = "-"
    elseif f.status == 2 then head[#head + 1] = "M"
    elseif f.status ~= 0 or f.kind ~= "file" or not f.data then return nil
    else
      head[#head + 1] = (f.mode & 128) ~= 0 and "Lw" or "Lr"
      if (f.mode & 128) == 0 then modes[#modes + 1] = "-r--r--r--" end
      grep_lines(vals, proc_path(p[1]), f.data)
    end
  end
  local out = table.concat(head, "\n") .. (#head > 0 and "\n" or "")
  local any = false
  for _, h in ipairs(head) do any = any or h:sub(1, 1) == "L" end
  if any then out = out .. table.concat(vals, "\n") .. (#vals > 0 and "\n" or "") .. "\1EZK-V\1\n" end
  if #modes > 0 then out = out .. table.concat(modes, "\n") .. "\n" end
  if not file then return { rc = 0, stdout = out .. "N\n", stderr = "" } end
  local f = r[#r]
  if f.status == 2 then return { rc = 0, stdout = out .. "N\n", stderr = "" } end
  if f.status == 0 and f.kind == "link" and f.target then
    return { rc = 5, stdout = "", stderr = ezk.link_msg(file, f.target) }
  end
  if f.status ~= 0 or f.kind ~= "file" or not f.data then return nil end
  -- a last line without its newline reads as one with it (as the shell's
  -- grep gives it): such a file is left as it is
  local d = f.data
  if d ~= "" and d:sub(-1) ~= "\n" then d = d .. "\n" end
  return { rc = 0, stdout = out .. "F\n" .. d, stderr = "", known = { size = f.size, mode = f.mode } }
end

ezk.module("sysctl", function(a, ctx)
  local absent = a.state == "absent"
  if a.state ~= nil and a.state ~= "present" and not absent then
    return { failed = true, msg = "state must be present or absent, not " .. tostring(a.state) }
  end
  local want = {}
  if a.values ~= nil then
    if type(a.values) ~= "table" then return { failed = true, msg = "values must be a table" } end
    local ks = {}
    for k in pairs(a.values) do ks[#ks + 1] = k end
    table.sort(ks, function(x, y) return tostring(x) < tostring(y) end)
    for _, k in ipairs(ks) do want[#want + 1] = { k, norm_value(a.values[k]) } end
  elseif a.name ~= nil then
    if a.value == nil and not absent then return { failed = true, msg = "value is required" } end
    want[1] = { a.name, a.value ~= nil and norm_value(a.value) or nil }
  else
    return { failed = true, msg = "name (and value) or values is required" }
  end
  for _, p in ipairs(want) do
    if not valid_key(p[1]) then return { failed = true, msg = "bad parameter name: " .. tostring(p[1]) } end
    if p[2] and p[2]:find("\n", 1, true) then return { failed = true, msg = "a value is one line: " .. p[1] } end
    if absent then p[2] = nil end
  end
  local file = a.file
  if file == nil or file == true then file = DEFAULT_FILE end
  local apply = a.apply ~= false and not absent
  if file == false and not apply then return { changed = false, msg = "nothing to do (file = false, apply = false)" } end

  -- one round trip: a line per parameter (L<w>: w is "w" writable, "r" not
  -- writable; M missing, W not readable), then the values of the L ones as
  -- grep -H prints them and a mark, then the modes of the ones
  -- not writable (one stat: "-rw-r--r--" is a read-only /proc/sys, no w at
  -- all a read-only parameter), then F or N (file there or not) and the
  -- file's text
  local call = { "ezk_sysctl_read", q(apply and "1" or ""), q(file or "") }
  for _, p in ipairs(want) do call[#call + 1] = q(proc_path(p[1])) end
  -- (under --check, the shell's: only its [ -w ] tells a read-only /proc/sys)
  local r = (not ctx.check and read_sftp(want, file, apply)) or
    ezk.exec(table.concat(call, " "), { lib = READ_SH, lib_name = "ezk_sysctl_read", read_only = true })
  -- (5: a symbolic link at file, refused: roles/lib/README.md)
  if r.rc ~= 0 then return { failed = true, msg = (r.rc == 5 and "" or "inspect: ") .. trim(r.stderr) } end
  local out, pos, live, ro, missing, flines = r.stdout, 1, {}, {}, {}, {}
  for i, p in ipairs(want) do
    local e = out:find("\n", pos, true)
    if not e then return { failed = true, msg = "inspect: short output" } end
    local l = out:sub(pos, e - 1)
    pos = e + 1
    if l == "M" then
      if not a.optional then
        return { failed = true, msg = "no such kernel parameter: " .. p[1] ..
          " (" .. proc_path(p[1]) .. " is absent; is its module loaded?)" }
      end
      missing[i] = true
    elseif l == "Lw" or l == "Lr" then
      live[i] = ""
      ro[i] = l == "Lr"
    end
  end
  if next(live) then -- the values: "PATH:line" (a line each), up to the mark
    local e = out:find("\1EZK-V\1\n", pos, true)
    if not e then return { failed = true, msg = "inspect: short output" } end
    local vals, fp = {}, (file or "") .. ":"
    for _, l in ipairs(lines(out:sub(pos, e - 1))) do
      local best, blen = nil, 0
      if file and l:sub(1, #fp) == fp then -- the file's line (G below)
        flines[#flines + 1] = l:sub(#fp + 1)
        goto next
      end
      for i, p in ipairs(want) do -- the longest path that is the line's prefix
        local pp = proc_path(p[1]) .. ":"
        if live[i] and #pp > blen and l:sub(1, #pp) == pp then best, blen = i, #pp end
      end
      if best then vals[best] = (vals[best] and vals[best] .. " " or "") .. l:sub(blen + 1) end
      ::next::
    end
    for i in pairs(live) do live[i] = norm_value(vals[i] or "") end
    pos = e + #"\1EZK-V\1\n"
  end
  for i = 1, #want do
    if ro[i] then
      local e = out:find("\n", pos, true)
      if not e then return { failed = true, msg = "inspect: short output" } end
      ro[i] = out:sub(pos, e - 1):find("w", 1, true) and "r" or "p"
      pos = e + 1
    end
  end
  local e = out:find("\n", pos, true) or #out + 1
  local how = out:sub(pos, e - 1)
  local old = how == "F" and out:sub(e + 1) or nil
  -- G: the file's lines came with the values (a last line without its
  -- newline reads as one with it: such a file is left as it is)
  if how == "G" then old = #flines > 0 and table.concat(flines, "\n") .. "\n" or "" end

  local set, warn, ro_names, absent_names = {}, {}, {}, {}
  if apply then
    for i, p in ipairs(want) do
      if missing[i] then absent_names[#absent_names + 1] = p[1]
      elseif live[i] == nil then warn[#warn + 1] = p[1] .. " is write-only: not applied"
      elseif live[i] ~= p[2] and ro[i] == "p" then
        return { failed = true, msg = "cannot set " .. p[1] .. " to " .. p[2] .. " (it is " .. live[i] ..
          "): a read-only kernel parameter" }
      elseif live[i] ~= p[2] and ro[i] then
        if not a.optional then
          return { failed = true, msg = "cannot set " .. p[1] .. " to " .. p[2] .. " (it is " .. live[i] ..
            "): " .. proc_path(p[1]) .. " is read-only (/proc/sys is read-only: a container?); " ..
            "optional = true persists it without applying it" }
        end
        ro_names[#ro_names + 1] = p[1]
      elseif live[i] ~= p[2] then set[#set + 1] = i end
    end
  end
  if #ro_names > 0 then
    warn[#warn + 1] = "warning: " .. table.concat(ro_names, ", ") ..
      " not applied live (/proc/sys is read-only: a container?)"
  end
  if #absent_names > 0 then
    warn[#warn + 1] = "warning: " .. table.concat(absent_names, ", ") .. " absent: not applied"
  end
  local new = file and edit_file(old, want)
  local file_changes = file and new ~= (old or "") and not (absent and old == nil)
  if #set == 0 and not file_changes then
    return { changed = false, msg = #warn > 0 and table.concat(warn, "; ") or nil }
  end

  local res = { changed = true, msg = #warn > 0 and table.concat(warn, "; ") or nil }
  if ctx.diff then
    local d = file_changes and text_diff(old or "", new, file) or ""
    if #set > 0 then
      local b, af = {}, {}
      for _, i in ipairs(set) do
        b[#b + 1] = want[i][1] .. " = " .. live[i] .. "\n"
        af[#af + 1] = want[i][1] .. " = " .. want[i][2] .. "\n"
      end
      d = d .. text_diff(table.concat(b), table.concat(af), "/proc/sys (live)")
    end
    res.diff = d
  end
  if ctx.check then return res end

  if #set > 0 then
    -- written by the shell itself, read back (read_back)
    local call, got = { "ezk_sysctl_set" }, {}
    for _, i in ipairs(set) do
      call[#call + 1] = q(want[i][1]) .. " " .. q(want[i][2]) .. " " .. q(proc_path(want[i][1]))
    end
    local wr = ezk.exec(table.concat(call, " "), { lib = SET_SH, lib_name = "ezk_sysctl_set" })
    if wr.rc ~= 0 then return { failed = true, msg = trim(wr.stderr) } end
    -- not writable after all (read through SFTP: a read-only /proc/sys)
    local rok, done, paths, ro_now = {}, {}, {}, {}
    for k in wr.stdout:gmatch("ro=([^\n]*)") do rok[k] = true end
    for _, i in ipairs(set) do
      if rok[want[i][1]] then
        if not a.optional then
          return { failed = true, msg = "cannot set " .. want[i][1] .. " to " .. want[i][2] .. " (it is " ..
            live[i] .. "): " .. proc_path(want[i][1]) .. " is read-only (/proc/sys is read-only: a container?); " ..
            "optional = true persists it without applying it" }
        end
        ro_now[#ro_now + 1] = want[i][1]
      else
        done[#done + 1] = i
        paths[#paths + 1] = proc_path(want[i][1])
      end
    end
    if #ro_now > 0 then
      res.msg = (res.msg and res.msg .. "; " or "") .. "warning: " .. table.concat(ro_now, ", ") ..
        " not applied live (/proc/sys is read-only: a container?)"
    end
    set = done
    -- none could be set after all, and the file is as it was: no change
    if #set == 0 and not file_changes then res.changed, res.diff = false, nil end
    local back = #paths > 0 and read_back(paths) or ""
    for _, l in ipairs(lines(back)) do -- "PATH:line": the longest path that is its prefix
      local best, blen = nil, 0
      for _, i in ipairs(set) do
        local pp = proc_path(want[i][1]) .. ":"
        if #pp > blen and l:sub(1, #pp) == pp then best, blen = i, #pp end
      end
      if best then got[best] = (got[best] and got[best] .. " " or "") .. l:sub(blen + 1) end
    end
    for _, i in ipairs(set) do
      if norm_value(got[i] or "") ~= want[i][2] then
        return { failed = true, msg = want[i][1] .. ": wrote " .. want[i][2] ..
          " but the kernel reports " .. norm_value(got[i] or "") }
      end
    end
  end
  if file_changes then
    local ok, err = ezk.upload { dest = file, content = new, mkdir = true, known = r.known }
    if ok == nil then return { failed = true, msg = err } end
  end
  return res
end, { title = function(a) -- values: the task is called after the parameters
  if type(a.values) ~= "table" then return nil end
  local ks = {}
  for k in pairs(a.values) do ks[#ks + 1] = tostring(k) end
  table.sort(ks)
  return "sysctl " .. table.concat(ks, ",")
end })
