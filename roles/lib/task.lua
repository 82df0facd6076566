-- task.lua: the `ezk` namespace roles and modules share, and what every
-- module call goes through. Loaded first; see README.md in this folder.
--
-- One namespace, as neovim's `vim`: the globals a role or module sees are
-- the module functions (command, copy, template, ...), `ezk`, and Lua's
-- standard library untouched. Everything else lives under `ezk`. At the end
-- of this file _G is sealed: assigning a new global, or reading one that
-- does not exist, is an error at that line (a value a role keeps for its
-- later phases goes in ezk.shared; a module is made with ezk.module).

local ezk = ezk

-- ---- handlers and the end of a role ----

local handlers, handler_order, notified = {}, {}, {}
local role_changes = 0 -- tasks of this role that changed something, so far

local handler_notified_at = nil

-- ezk.changes(): how many tasks of the running role changed something so
-- far; ezk.notified_at(): in a handler, the number of the change that last
-- notified it (nil outside handlers). A module can tell from them whether
-- what notified a handler happened before or after one of its own tasks.
function ezk.changes() return role_changes end
function ezk.notified_at() return handler_notified_at end

-- ezk.tagged(tags): whether a task with these tags runs under -t and
-- --skip-tags (a role skips its own checks for work that will not run)
function ezk.tagged(tags) return ezk._tagged(tags) end
local role_end_hooks = {}
local modules = {} -- the names ezk.module defined

-- Called by the engine before each role: handlers belong to their role.
function ezk._role_begin()
  handlers, handler_order, notified = {}, {}, {}
  role_changes = 0
  ezk._role_seq = (ezk._role_seq or 0) + 1
end

-- ezk.handler(name, fn): a handler of this role; tasks notify it by name.
function ezk.handler(name, fn)
  if handlers[name] == nil then handler_order[#handler_order + 1] = name end
  handlers[name] = fn
end

-- Called by the engine after each role: notified handlers, once each, in
-- the order they were defined, then the on_role_end hooks.
function ezk._role_end()
  for name in pairs(notified) do
    if handlers[name] == nil then error("notify: no handler named '" .. name .. "' in this role", 0) end
  end
  for _, name in ipairs(handler_order) do
    if notified[name] then
      -- (which change of the role last notified it: ezk.notified_at())
      handler_notified_at = notified[name]
      notified[name] = nil
      handlers[name]()
    end
  end
  handler_notified_at = nil
  for _, fn in ipairs(role_end_hooks) do fn() end
end

-- ezk.on_role_end(fn): fn runs after every role, after its handlers (for
-- work a module defers to the end, such as systemd's daemon-reload).
function ezk.on_role_end(fn)
  role_end_hooks[#role_end_hooks + 1] = fn
end

-- ezk.shared: a table per host that lives for the whole run, for what a role
-- hands to its later phases in other plays (ezk.shared.etcd: the etcd role
-- to etcd/join, etcd/start and etcd/health). Key it by the role's name.
ezk.shared = {}

-- ---- helpers ----

-- quote for sh
function ezk.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

function ezk.trim(s)
  return (tostring(s or ""):gsub("^%s+", ""):gsub("%s+$", ""))
end

-- "0644" from 644 (a number written 0644), "644", "0644" or nil
function ezk.mode_str(m)
  if m == nil then return nil end
  -- Lua has no octal literals: mode = 0644 is the number 644, read as octal digits
  if type(m) == "number" then m = string.format("%d", m) end
  if not m:match("^[0-7]+$") then error("bad mode '" .. m .. "': octal digits, as \"0644\"", 3) end
  m = tostring(m)
  if #m == 3 then m = "0" .. m end
  return m
end

-- A role's file on the deploy node: src as given when absolute, else
-- role_dir/<sub>/src (sub: "files" or "templates"), else role_dir/src; the
-- first guess when neither exists, so the error names it.
function ezk.role_file(src, sub)
  if src:sub(1, 1) == "/" then return src end
  local p = ezk.role_dir .. "/" .. (sub or "files") .. "/" .. src
  if ezk.stat_local(p) then return p end
  local p2 = ezk.role_dir .. "/" .. src
  if ezk.stat_local(p2) then return p2 end
  return p
end

-- the lines of a text, without their "\n"
function ezk.lines(s)
  local t = {}
  for l in (s or ""):gmatch("([^\n]*)\n?") do t[#t + 1] = l end
  if t[#t] == "" then t[#t] = nil end
  return t
end

-- A text as lines without their "\n", and whether it ended with one (an
-- empty text: no lines, and true). ezk.text_join puts them back.
function ezk.text_lines(content)
  if content == nil or content == "" then return {}, true end
  local nl = content:sub(-1) == "\n"
  local body = nl and content:sub(1, -2) or content
  local t = {}
  for l in (body .. "\n"):gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t, nl
end

function ezk.text_join(t, nl)
  if #t == 0 then return "" end
  return table.concat(t, "\n") .. (nl and "\n" or "")
end

-- Every module refuses a symbolic link at the path it manages (the file
-- module's state=link aside, whose path is the link): it neither reads nor
-- writes through it (a link planted at /root/.bashrc must not make ezk edit
-- its target). A line of sh that fails (exit 5) with the message.
function ezk.no_link_sh(path)
  local p = ezk.q(path)
  return "if [ -L " .. p .. " ]; then echo " .. p .. "\" is a symbolic link (to $(readlink -- " .. p ..
    ")): ezk neither reads nor writes through a link; remove it, or manage the file it points to\" >&2; exit 5; fi"
end

-- The content of a remote text file (nil if missing), its path (a symbolic
-- link there is refused, as ezk.no_link_sh says) and, when attrs is true,
-- its attributes {mode, owner, uid, group, gid} ("ids": {mode, uid, gid}).
-- Through SFTP (below) no process and a few round trips; through the shell
-- one round trip, one process (cat) without attrs, a stat too with them
-- (none when the stat cache holds it: shell.c).
-- (A function the resident shell defines once and runs itself: no subshell.)
local TEXT_READ = [[
ezk_text_read() {
  local p="$1"
  if [ -L "$p" ]; then
    echo "$p is a symbolic link (to $(readlink -- "$p")): ezk neither reads nor writes through a link; remove it, or manage the file it points to" >&2
    return 5
  fi
  printf '%s\n' "$p"
  [ -e "$p" ] || return 3
  [ -f "$p" ] || { echo "$p is not a regular file" >&2; return 4; }
  if [ -z "$2" ]; then echo
  elif ezk_sc_get "$p" && [ "$ezk_sk" = file ]; then set -- $ezk_sv; echo "$2 $3 $4 $5 $6"
  else stat -c '%a %U %u %G %g' -- "$p" || return; fi
  cat -- "$p"
}
]]
-- Read through SFTP, a fifth value: {size, mode}, for text_write's upload
-- (its probe then needs no stat when the size is another).
-- attrs: true, or "ids" when numbers will do (no owner or group given by
-- name): then, unless the target becomes, the file is read through the
-- host's SFTP server (ezk.fs: no process at all); the shell otherwise, and
-- for whatever SFTP cannot say in the shell's words.
local function link_msg(p, target)
  return p .. " is a symbolic link (to " .. target .. "): ezk neither reads nor writes through a link; " ..
    "remove it, or manage the file it points to"
end
ezk.link_msg = link_msg

function ezk.text_read(path, attrs)
  if attrs ~= true then
    local r = ezk.fs({ { "read", path } })
    local f = r and r[1]
    if f and f.status == 2 then return nil, path end
    if f and f.status == 0 and f.kind == "link" and f.target then return nil, nil, link_msg(path, f.target) end
    if f and f.status == 0 and f.kind and f.kind ~= "file" then return nil, nil, path .. " is not a regular file" end
    if f and f.status == 0 and f.data then
      return f.data, path, nil, attrs and { mode = string.format("%o", f.mode), uid = tostring(f.uid),
        gid = tostring(f.gid) } or nil, { size = f.size, mode = f.mode }
    end
  end
  local r = ezk.exec("ezk_text_read " .. ezk.q(path) .. (attrs and " 1" or ""),
    { lib = TEXT_READ, lib_name = "ezk_text_read", stat_path = path })
  local real, st, content = r.stdout:match("^([^\n]*)\n([^\n]*)\n(.*)$")
  if r.rc == 3 then return nil, r.stdout:match("^([^\n]*)") or path end
  if r.rc ~= 0 or not real then return nil, nil, ezk.trim(r.stderr) ~= "" and ezk.trim(r.stderr) or ("cannot read " .. path) end
  local m, u, uid, g, gid = st:match("^(%d+) (%S+) (%d+) (%S+) (%d+)$")
  return content, real, nil, m and { mode = m, owner = u, uid = uid, group = g, gid = gid }
end

-- Writes new content (or only fixes mode/owner/group) the way every text
-- module does: nothing under check, one upload otherwise (none when the
-- text and the attributes text_read saw are already right). Returns the
-- module's result table.
function ezk.text_write(a, ctx, path, old, new, text_changed, msg, mkdir, attrs_now, known)
  local res = { changed = text_changed, msg = msg }
  if text_changed and ctx.diff then
    res.diff = { before = old or "", after = new, name = path }
  end
  local attrs = a.mode ~= nil or a.owner ~= nil or a.group ~= nil
  if not text_changed and not attrs then return res end
  if not text_changed and attrs_now then
    local want = a.mode ~= nil and ezk.mode_str(a.mode)
    local ok = (not want or string.format("%o", tonumber(want, 8)) == attrs_now.mode)
      and (a.owner == nil or tostring(a.owner) == attrs_now.owner or tostring(a.owner) == attrs_now.uid)
      and (a.group == nil or tostring(a.group) == attrs_now.group or tostring(a.group) == attrs_now.gid)
    if ok then return res end
  end
  if text_changed and ctx.check then return res end
  local changed, err = ezk.upload { dest = path, content = new, mode = ezk.mode_str(a.mode),
    owner = a.owner, group = a.group, mkdir = mkdir, check = ctx.check, known = known }
  if changed == nil then return { failed = true, msg = err } end
  if changed and not text_changed then res.msg = "mode or owner changed" end
  res.changed = text_changed or changed
  return res
end

-- ezk.put(args, ctx, diff): a file to the host the way every file module
-- does it, and the module's result. args as ezk.upload's (dest, content |
-- src, mode, owner, group, mkdir). Neither --check nor --diff: one upload
-- (a sha256 probe, data only when it differs). Otherwise a probe first; when
-- it would change: the diff (diff() when given, else the host's file before
-- and the new content after), and the upload unless --check.
function ezk.put(args, ctx, diff)
  if not ctx.check and not ctx.diff then
    local changed, err = ezk.upload(args)
    if changed == nil then return { failed = true, msg = err } end
    return { changed = changed }
  end
  local probe = { check = true }
  for k, v in pairs(args) do if k ~= "check" then probe[k] = v end end
  local would, err = ezk.upload(probe)
  if would == nil then return { failed = true, msg = err } end
  if not would then return { changed = false } end
  local res = { changed = true }
  if ctx.diff then
    if diff then
      res.diff = diff()
    else
      local before = ezk.read_remote(args.dest) or ""
      local after = args.content or (args.src and ezk.read_local(args.src)) or ""
      if before ~= after then res.diff = { before = before, after = after, name = args.dest } end
    end
  end
  if ctx.check then return res end
  local changed, err2 = ezk.upload(args)
  if changed == nil then return { failed = true, msg = err2 } end
  return res
end

-- the cluster's certificates on the deploy node (cert and kubeconfig)
ezk.ssl_dir = ezk.cluster_dir and (ezk.cluster_dir .. "/ssl")

-- nil on the deploy node; elsewhere the failed result of a module that
-- works there only (cert, kubeconfig)
function ezk.deploy_node_only(what)
  if ezk.host ~= "localhost" then
    return { failed = true, msg = what .. " runs on the deploy node: use it in a play on localhost" }
  end
end

-- Both run in the resident shell itself and change nothing (read_only: the
-- stat cache stays, shell.c); ezk_st reads a path's stat from the cache when
-- it holds it, and a missing path costs no process.
local READ_LIB = [[
ezk_rd() { [ -f "$1" ] || return 3; cat -- "$1"; }
ezk_st() {
  [ -e "$1" ] || [ -L "$1" ] || return 1
  if [ ! -L "$1" ] && ezk_sc_get "$1"; then
    set -- "$1" $ezk_sv
    case $ezk_sk in file) printf 'regular file|%s|%s|%s|%s\n' "$3" "$4" "$6" "$2" ;;
    *) printf 'directory|%s|%s|%s|%s\n' "$3" "$4" "$6" "$2" ;; esac
    return 0
  fi
  LC_ALL=C stat -c '%F|%a|%U|%G|%s' -- "$1" 2>/dev/null || return 1
  if [ -L "$1" ]; then readlink -- "$1"; fi
  return 0
}
]]

-- the content of a remote file, or nil if it does not exist
function ezk.read_remote(path, become)
  local r = ezk.exec("ezk_rd " .. ezk.q(path), { become = become, lib = READ_LIB, lib_name = "ezk_read",
    read_only = true })
  if r.rc == 3 then return nil end
  if r.rc ~= 0 then error("cannot read " .. path .. ": " .. r.stderr, 2) end
  return r.stdout
end

-- nil, or {type=file|directory|link|other, mode="0644", owner, group, size, target}
function ezk.stat(path)
  local r = ezk.exec("ezk_st " .. ezk.q(path), { lib = READ_LIB, lib_name = "ezk_read", stat_path = path })
  if r.rc ~= 0 then return nil end
  local f, m, u, g, sz = r.stdout:match("^([^|]*)|(%d+)|([^|]*)|([^|]*)|(%d+)")
  if not f then return nil end
  local t = f == "directory" and "directory" or f == "symbolic link" and "link"
    or f:match("regular") and "file" or "other"
  local target = r.stdout:match("\n([^\n]*)\n?$")
  return { type = t, mode = ezk.mode_str(m), owner = u, group = g, size = tonumber(sz),
    target = t == "link" and target or nil }
end

-- the host's variables, read-only, resolved on use
ezk.vars = setmetatable({}, {
  __index = function(_, k) return ezk.var(k) end,
  __newindex = function() error("ezk.vars is read-only", 2) end,
})

-- ezk.fail(msg): fail this host now
function ezk.fail(msg)
  ezk._task("fail", "fail", "failed", msg, nil, 0)
  error({ ezk_failed = true, msg = msg }, 0)
end

-- ezk.debug(msg): a line in the run's log (and on the terminal with -v)
function ezk.debug(msg)
  ezk.log(tostring(msg))
end

-- ezk.report(title, status, msg): a task line of a role's own ("changed"
-- under --check for what a later task of the same run would do, as "would
-- copy")
function ezk.report(title, status, msg)
  ezk._task(title, "report", status, msg, nil, 0)
end

-- ezk.warn(msg): a task line "warning: msg" (ok, shown even on a terminal)
function ezk.warn(msg)
  ezk._task("warning", "warn", "ok", "warning: " .. tostring(msg), nil, 0)
end

-- A line diff of two texts (before, after), unified-style, small inputs.
function ezk.text_diff(a, b, name)
  local x, y = ezk.lines(a or ""), ezk.lines(b or "")
  local n, m = #x, #y
  if n * m > 4000000 then
    return string.format("--- %s (before)\n+++ %s (after)\n(%d lines -> %d lines)\n", name, name, n, m)
  end
  local L = {}
  for i = n + 1, 1, -1 do
    L[i] = {}
    for j = m + 1, 1, -1 do
      if i > n or j > m then L[i][j] = 0
      elseif x[i] == y[j] then L[i][j] = L[i + 1][j + 1] + 1
      else L[i][j] = math.max(L[i + 1][j], L[i][j + 1]) end
    end
  end
  -- the edit script: {op, line, i (before), j (after)}
  local ops = {}
  local i, j = 1, 1
  while i <= n or j <= m do
    if i <= n and j <= m and x[i] == y[j] then
      ops[#ops + 1] = { " ", x[i], i, j }; i, j = i + 1, j + 1
    elseif i <= n and (j > m or L[i + 1][j] >= L[i][j + 1]) then
      ops[#ops + 1] = { "-", x[i], i, j }; i = i + 1
    else
      ops[#ops + 1] = { "+", y[j], i, j }; j = j + 1
    end
  end
  -- hunks with 3 lines of context, as diff -u
  local out = { "--- " .. name .. " (before)", "+++ " .. name .. " (after)" }
  local k = 1
  while k <= #ops do
    while k <= #ops and ops[k][1] == " " do k = k + 1 end
    if k > #ops then break end
    local s = math.max(1, k - 3)
    local e = k
    local last = k
    while e <= #ops do
      if ops[e][1] ~= " " then last = e end
      if e - last > 6 then break end
      e = e + 1
    end
    e = math.min(#ops, last + 3)
    local a0, b0, ac, bc = ops[s][3], ops[s][4], 0, 0
    for t = s, e do
      if ops[t][1] ~= "+" then ac = ac + 1 end
      if ops[t][1] ~= "-" then bc = bc + 1 end
    end
    out[#out + 1] = string.format("@@ -%d,%d +%d,%d @@", ac > 0 and a0 or a0 - 1, ac,
      bc > 0 and b0 or b0 - 1, bc)
    for t = s, e do out[#out + 1] = ops[t][1] .. ops[t][2] end
    k = e + 1
  end
  return table.concat(out, "\n") .. "\n"
end

local function diff_text(d, title)
  if d == nil then return nil end
  if type(d) == "string" then return d end
  return ezk.text_diff(d.before, d.after, d.name or title)
end

local function default_title(name, a)
  local main = a.dest or a.path or a.name or a.cmd or a[1] or a.src or ""
  if type(main) == "table" then
    local t = {}
    for _, v in ipairs(main) do t[#t + 1] = tostring(v) end
    main = table.concat(t, ",")
  end
  return name .. (main ~= "" and (" " .. tostring(main)) or "")
end

-- ezk.module(name, fn, opts): defines the global function `name`; each call
-- is a task. fn(a, ctx) does the work (README.md: writing a module);
-- opts.title(a), when given, makes the task's title when the call has none.
function ezk.module(name, fn, opts)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    error("ezk.module: bad module name " .. tostring(name), 2)
  end
  -- (package: the module takes the name of Lua's package table; require
  -- holds that table itself and keeps working)
  if name == "ezk" or (rawget(_G, name) ~= nil and not modules[name] and name ~= "package") then
    error("ezk.module: " .. name .. " would replace a global of Lua's or ezk's", 2)
  end
  local title_of = opts and opts.title
  modules[name] = true
  rawset(_G, name, function(a)
    a = a or {}
    local title = a.title or (title_of and title_of(a)) or default_title(name, a)
    if a.tags and not ezk._tagged(a.tags) then return { skipped = true } end
    if a.tags == nil and not ezk._tagged({}) then return { skipped = true } end
    if a.when == false then
      ezk._task(title, name, "skipped", "when is false", nil, 0)
      return { skipped = true }
    end
    local ctx = { check = ezk.check and a.check_mode ~= false, diff = ezk.diff }
    ezk._begin(title)
    local t0 = ezk.clock()
    local res = fn(a, ctx) or {}
    local status = res.failed and "failed" or res.skipped and "skipped"
      or res.changed and "changed" or "ok"
    local d = (ctx.diff and res.changed) and diff_text(res.diff, title) or nil
    ezk._task(title, name, status, res.msg, d, ezk.clock() - t0)
    if status == "changed" then role_changes = role_changes + 1 end
    if res.changed and a.notify then
      local list = type(a.notify) == "table" and a.notify or { a.notify }
      for _, h in ipairs(list) do notified[h] = role_changes end
    end
    if res.failed and not a.ignore_errors then
      error({ ezk_failed = true, msg = title .. ": " .. (res.msg or "failed") }, 0)
    end
    return res
  end)
end

-- ezk.modules(): the names of the modules defined, sorted
function ezk.modules()
  local t = {}
  for n in pairs(modules) do t[#t + 1] = n end
  table.sort(t)
  return t
end

-- ---- the sealed global table ----

-- the old global names (before the ezk namespace), for a message that says
-- where they went
local MOVED = { vars = "ezk.vars", facts = "ezk.facts()", handler = "ezk.handler", fail = "ezk.fail",
  report = "ezk.report", warn = "ezk.warn", q = "ezk.q", trim = "ezk.trim", lines = "ezk.lines",
  mode_str = "ezk.mode_str", role_file = "ezk.role_file", read_remote = "ezk.read_remote",
  stat = "ezk.stat", text_diff = "ezk.text_diff", module = "ezk.module", role_dir = "ezk.role_dir",
  on_role_end = "ezk.on_role_end", re = "ezk.regex", text_read = "ezk.text_read",
  text_write = "ezk.text_write", ETCD = "ezk.shared.etcd" }

local function moved(k)
  return MOVED[k] and (" (it is " .. MOVED[k] .. " now)") or ""
end

setmetatable(_G, {
  __newindex = function(_, k, _)
    error("assignment to the global '" .. tostring(k) .. "': keep it local (a value for a later " ..
      "phase of the role goes in ezk.shared; a module is made with ezk.module)" .. moved(k), 2)
  end,
  __index = function(_, k)
    error("no global '" .. tostring(k) .. "'" .. moved(k), 2)
  end,
})
