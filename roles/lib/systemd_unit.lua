-- systemd_unit and service: unit files, and the state of services.
--
--   systemd_unit { name = "kubelet.service", template = "kubelet.service.j2",
--                  notify = "restart kubelet" }
--   service { name = "kubelet", state = "started", enabled = true }
--   handler("restart kubelet", function() service { name = "kubelet", state = "restarted" } end)
--
-- systemd_unit options:
--   name      string (required): the unit's file name; ".service" is added
--             when it has no unit suffix
--   content   string: the unit's text; or
--   src       a file on the deploy node (relative: the role's files/); or
--   template  a Jinja template (relative: the role's templates/), rendered
--             with the host's variables and, above them, the vars table
--             with the host's variables
--   dest      path (default "/etc/systemd/system/<name>"); also for drop-ins
--             ("/etc/systemd/system/containerd.service.d/10-ezk.conf")
--   mode      default "0644"
--   state     "present" (default) | "absent" (the file is removed)
-- Written with ezk.upload (sha256 compare first: nothing is sent when the
-- file is the same). Under --diff: the file's unified diff.
--
-- daemon-reload: a changed (or removed) unit file marks this host "reload
-- pending" (a Lua upvalue: one Lua state per host and run) instead of
-- reloading at once, so several units written in a row cost one reload. The
-- pending reload is done by the next service task on the host, before it acts,
-- or at the end of the role (after its handlers), whichever comes first; it
-- is skipped when systemd has each of the units written (a drop-in counts for
-- its unit) from its file as it is now: `systemctl show` loads a unit it had
-- not loaded (a first install's) from its file, so only one loaded from an
-- older file says NeedDaemonReload (or, on systemd < 246, one it had found
-- missing before: not-found); the service task asks in its own show, no
-- extra process; a file removed or a template's always reloads. A
-- service task also reloads when systemd says the unit NeedDaemonReload (a
-- unit written by a run that failed before its reload), or when asked
-- (daemon_reload = true). A reload alone does not make a task changed.
--
-- service options:
--   name           string (required): the unit; ".service" is implied by
--                  systemctl when there is no suffix
--   state          "started": start unless active; "stopped": stop if active;
--                  "restarted": always restart (what handlers call: a service
--                  is restarted only when something it depends on changed
--                  and notified; a handler's restart of a unit that this
--                  role started after every change that notified the
--                  handler is skipped: a first run starts a service once,
--                  not start then restart); "reloaded": reload-or-restart when active,
--                  start when not (skipped as "restarted" is). nil: leave the run state alone.
--   enabled        true | false | nil: enable / disable at boot (static,
--                  generated, transient and indirect units count as enabled
--                  and are never disabled)
--   daemon_reload  true: `systemctl daemon-reload` first, always
--   masked         true | false | nil: mask / unmask (before the rest);
--                  systemd refuses to mask a unit whose file is in
--                  /etc/systemd/system (the task fails, saying so)
-- A unit that does not exist is ok for state=stopped / enabled=false (msg
-- says so) and a failure otherwise; under --check it is reported as what
-- would be done (a systemd_unit task before it would have written it). A
-- failed start/stop/restart reports systemctl's words and the unit's last
-- status lines in msg. Needs systemd running on the host.
-- One round trip: a sh script inspects (systemctl show, is-enabled), decides,
-- acts (not under --check) and reports what it did or would do. Under
-- --diff: the unit's state before and after (ActiveState, enabled).

local q, trim, lines, mode_str, role_file, text_diff = ezk.q, ezk.trim, ezk.lines, ezk.mode_str, ezk.role_file, ezk.text_diff

-- a daemon-reload pending, and what made it so: the units whose files
-- changed (a drop-in counts for its unit), or forced (a file removed, a
-- template's)
local reload_units, reload_forced = {}, false
local function reload_pending() return reload_forced or next(reload_units) ~= nil end

-- the unit a file under .../system/ belongs to: NAME.service for
-- NAME.service and NAME.service.d/x.conf; nil for a template's
local function owner_unit(dest)
  local u = dest:match("/([^/]+)%.d/[^/]+$") or dest:match("([^/]+)$")
  if not u or u:find("@", 1, true) or not u:match("^[%w_.:-]+$") then return nil end
  return u
end

local function mark_reload(dest)
  local u = owner_unit(dest)
  if u then reload_units[u] = true else reload_forced = true end
end

local function clear_reload()
  reload_units, reload_forced = {}, false
end

-- the units of a pending reload, as words for sh (nil when forced)
local function reload_words()
  if reload_forced then return nil end
  local t = {}
  for u in pairs(reload_units) do t[#t + 1] = u end
  table.sort(t)
  return table.concat(t, " ")
end
-- unit name -> {role, change}: the role (ezk._role_seq) whose task started
-- or restarted it, and the number of that change (ezk.changes() after it)
local started_in_role = {}

local SUFFIXES = { service = true, socket = true, timer = true, target = true, mount = true,
  automount = true, path = true, slice = true, scope = true, swap = true, device = true }

local function unit_name(n)
  local sfx = n:match("%.(%a+)$")
  if sfx and SUFFIXES[sfx] then return n end
  return n .. ".service"
end

ezk.module("systemd_unit", function(a, ctx)
  if type(a.name) ~= "string" or a.name == "" then return { failed = true, msg = "name is required" } end
  if a.name:find("/", 1, true) then return { failed = true, msg = "name is a unit file name; use dest for a path" } end
  local name = unit_name(a.name)
  local dest = a.dest or ("/etc/systemd/system/" .. name)
  if a.state == "absent" then
    local r = ezk.exec("[ -e " .. q(dest) .. " ] || [ -L " .. q(dest) .. " ] || exit 3; cat " .. q(dest) .. " 2>/dev/null; exit 0",
      { read_only = true })
    if r.rc == 3 then return { changed = false } end
    if r.rc ~= 0 then return { failed = true, msg = trim(r.stderr) } end
    local res = { changed = true }
    if ctx.diff then res.diff = text_diff(r.stdout, "", dest) end
    if ctx.check then return res end
    local d = ezk.exec("rm -f -- " .. q(dest))
    if d.rc ~= 0 then return { failed = true, msg = "cannot remove " .. dest .. ": " .. trim(d.stderr) } end
    reload_forced = true
    return res
  elseif a.state ~= nil and a.state ~= "present" then
    return { failed = true, msg = "state must be present or absent, not " .. tostring(a.state) }
  end

  local content, src = a.content, nil
  if content ~= nil then
    content = tostring(content)
  elseif a.template then
    local p = role_file(a.template, "templates")
    local text, err = ezk.read_local(p)
    if not text then return { failed = true, msg = "template " .. a.template .. ": " .. tostring(err) } end
    local out, terr = ezk.template(text, a.vars, a.template)
    if not out then return { failed = true, msg = terr } end
    content = out
  elseif a.src then
    src = role_file(a.src, "files")
  else
    return { failed = true, msg = "content, src or template is required" }
  end
  local res = ezk.put({ dest = dest, content = content, src = content == nil and src or nil,
    mode = mode_str(a.mode or "0644"), mkdir = true }, ctx)
  if res.changed and not ctx.check then mark_reload(dest) end
  return res
end)

local SERVICE_SH = [=[
u=$EZK_UNIT
command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ] ||
  { echo "err=systemd is not running on this host"; exit 0; }
did() { ezk_did=1; echo "did=$*"; }
# show [UNIT...]: the unit's state; with units, in the same systemctl, also
# whether one of them needs a daemon-reload (stale=1: loaded from an older
# file, or found missing before its file was written)
show() {
  LoadState= ActiveState= NeedDaemonReload= UnitFileState= stale= n=0
  while IFS='=' read -r k v; do
    case $k in
      '') n=$((n + 1)) ;;
      LoadState|ActiveState|NeedDaemonReload|UnitFileState|SubState)
        if [ $n = 0 ]; then eval "$k=\$v"
        else case $k=$v in NeedDaemonReload=yes|LoadState=not-found) stale=1 ;; esac; fi ;;
    esac
  done <<EOF
$(systemctl show -p LoadState -p ActiveState -p SubState -p NeedDaemonReload -p UnitFileState -- "$u" "$@" 2>/dev/null)
EOF
  en=$UnitFileState
  [ -n "$en" ] || en=$(systemctl is-enabled -- "$u" 2>/dev/null)
  [ -n "$en" ] || en=unknown
}
fail() {
  echo "err=$1"
  systemctl status --no-pager -n 8 -- "$u" 2>&1 | tail -n 14 | sed 's/^/log=/'
  exit 0
}
act() { # act WHAT CMD...: do it unless checking
  w=$1; shift
  did "$w"
  [ "$EZK_CHECK" = 1 ] && return 0
  m=$("$@" 2>&1) || fail "systemctl $w $u failed: $(printf %s "$m" | tr '\n' ' ')"
  return 0
}
# Units written by this run: systemd loads one it has not loaded from its
# file as show asks (and retries one it found missing once its directory
# changed, systemd >= 246); only one loaded from an older file (or still
# missing: an older systemd) needs the reload. None does: no reload, and
# none by enable.
if [ "$EZK_RELOAD" != 1 ] && [ -n "$EZK_RELOAD_UNITS" ] && [ "$EZK_CHECK" != 1 ]; then
  # shellcheck disable=SC2086
  show $EZK_RELOAD_UNITS
  if [ -n "$stale" ]; then EZK_RELOAD=1; else echo fresh; noreload=--no-reload; fi
else
  show
fi
echo "before_active=$ActiveState"; echo "before_enabled=$en"
if [ "$EZK_RELOAD" = 1 ] || [ "$NeedDaemonReload" = yes ]; then
  if [ "$EZK_CHECK" != 1 ]; then
    m=$(systemctl daemon-reload 2>&1) || { echo "err=systemctl daemon-reload failed: $(printf %s "$m" | tr '\n' ' ')"; exit 0; }
    echo reloaded; noreload=--no-reload
    show
  else
    echo reloaded
  fi
fi
[ -n "$LoadState" ] || { echo "err=cannot read the state of $u (systemctl show)"; exit 0; }
if [ "$LoadState" = not-found ] && [ "$EZK_MASKED" != 1 ]; then
  case $EZK_STATE in ""|stopped) case $EZK_ENABLED in ""|0) echo missing; echo end; exit 0 ;; esac ;; esac
  if [ "$EZK_CHECK" = 1 ]; then # the unit may be one this run would write
    [ "$EZK_ENABLED" = 1 ] && did enable
    case $EZK_STATE in started|restarted|reloaded) did "${EZK_STATE%ed}" ;; esac
    echo nounit; echo end; exit 0
  fi
  echo "err=no unit named $u"; exit 0
fi
case $EZK_MASKED in
  1) [ "$en" = masked ] || [ "$en" = masked-runtime ] || act mask systemctl mask -- "$u" ;;
  0) [ "$en" = masked ] && act unmask systemctl unmask -- "$u" && show ;;
esac
case $ActiveState in active|reloading|activating) running=1 ;; *) running=0 ;; esac
if [ "$EZK_MASKED" != 1 ]; then
  case $EZK_ENABLED:$en in
    1:enabled|1:enabled-runtime|1:static|1:generated|1:transient|1:indirect|1:alias) ;;
    # just reloaded: a second reload by enable would cost as much again;
    # enable and start in one systemctl when both are to be done
    1:*) if [ "$EZK_STATE" = started ] && [ $running = 0 ]; then
           did enable; act start systemctl enable $noreload --now -- "$u"; running=1
         else
           act enable systemctl enable $noreload -- "$u"
         fi ;;
    0:enabled|0:enabled-runtime|0:linked|0:linked-runtime|0:alias) act disable systemctl disable -- "$u" ;;
  esac
fi
case $EZK_STATE in
  started) [ $running = 1 ] || act start systemctl start -- "$u" ;;
  stopped) case $ActiveState in inactive|failed) ;; *) act stop systemctl stop -- "$u" ;; esac ;;
  restarted) act restart systemctl restart -- "$u" ;;
  reloaded) if [ $running = 1 ]; then act reload systemctl reload-or-restart -- "$u"; else act start systemctl start -- "$u"; fi ;;
esac
if [ "$EZK_CHECK" != 1 ] && [ "$EZK_DIFF" = 1 ]; then
  # ask systemd again only when something was done, for --diff's after
  [ -n "$ezk_did" ] && show
  echo "after_active=$ActiveState"; echo "after_enabled=$en"
fi
echo end
]=]

-- a pending reload, done outside a service task (end of the role)
local function flush_reload()
  if not reload_pending() or ezk.check then return end
  local words = reload_words()
  clear_reload()
  if words and words ~= "" then
    -- loaded from their files as show asks: none from an older one (or
    -- missing, an older systemd), no reload (as the service task decides)
    local l = ezk.exec("systemctl show -p NeedDaemonReload -p LoadState -- " .. words .. " 2>&1", { read_only = true })
    if l.rc == 0 and l.stdout:find("LoadState=", 1, true) and not l.stdout:find("NeedDaemonReload=yes", 1, true)
        and not l.stdout:find("LoadState=not-found", 1, true) then
      ezk.debug("systemd: no daemon-reload: each of " .. words .. " is loaded from its file as it is")
      return
    end
  end
  local r = ezk.exec("systemctl daemon-reload")
  ezk.debug("systemd: daemon-reload after unit changes: rc=" .. r.rc)
  if r.rc ~= 0 then ezk.fail("systemctl daemon-reload failed: " .. trim(r.stderr)) end
end

-- End of each role, after its handlers: a reload still pending.
ezk.on_role_end(flush_reload)

ezk.module("service", function(a, ctx)
  if type(a.name) ~= "string" or a.name == "" then return { failed = true, msg = "name is required" } end
  local states = { started = true, stopped = true, restarted = true, reloaded = true }
  if a.state ~= nil and not states[a.state] then
    return { failed = true, msg = "state must be started, stopped, restarted or reloaded, not " .. tostring(a.state) }
  end
  if a.state == nil and a.enabled == nil and a.masked == nil and not a.daemon_reload then
    return { failed = true, msg = "state, enabled, masked or daemon_reload is required" }
  end
  local function b(v) if v == nil then return "" end return v and "1" or "0" end
  -- A handler's restart (or reload) of a unit this role started after
  -- every change that notified the handler would start it again with the
  -- same files: a first run starts each service once.
  local started, at = started_in_role[a.name], ezk.notified_at()
  if (a.state == "restarted" or a.state == "reloaded") and started and started.role == ezk._role_seq and at
      and at < started.change then
    return { changed = false, msg = "started by this role after what notified the " ..
             (a.state == "restarted" and "restart: not restarted" or "reload: not reloaded") }
  end
  local pending = reload_pending()
  local words = pending and reload_words()
  local want_reload = a.daemon_reload or (pending and (not words or words == ""))
  local r = ezk.exec(SERVICE_SH, { env = {
    EZK_UNIT = a.name, EZK_STATE = a.state or "", EZK_ENABLED = b(a.enabled), EZK_MASKED = b(a.masked),
    EZK_RELOAD = want_reload and "1" or "0", EZK_RELOAD_UNITS = (not want_reload and words) or "",
    EZK_CHECK = ctx.check and "1" or "0", EZK_DIFF = ctx.diff and "1" or "0" } })
  if r.rc ~= 0 then return { failed = true, msg = "service " .. a.name .. ": " .. trim(r.stderr) } end
  local info, did, logs = {}, {}, {}
  for _, l in ipairs(lines(r.stdout)) do
    local k, v = l:match("^([%w_]+)=(.*)$")
    if k == "did" then did[#did + 1] = v
    elseif k == "log" then logs[#logs + 1] = v
    elseif k then info[k] = v
    else info[l] = true end
  end
  if (info.reloaded or info.fresh) and not ctx.check then clear_reload() end
  if info.err then
    return { failed = true, msg = info.err .. (#logs > 0 and ("\n" .. table.concat(logs, "\n")) or "") }
  end
  if not info["end"] then
    return { failed = true, msg = "service " .. a.name .. ": unexpected output: " .. r.stdout .. r.stderr }
  end
  local notes = {}
  if info.missing then notes[#notes + 1] = "no unit named " .. a.name end
  if info.nounit then notes[#notes + 1] = "no unit named " .. a.name .. " yet" end
  if info.reloaded then notes[#notes + 1] = (ctx.check and "would " or "") .. "daemon-reload" end
  if #did > 0 then notes[#notes + 1] = (ctx.check and "would " or "") .. table.concat(did, ", ") end
  local res = { changed = #did > 0, msg = #notes > 0 and table.concat(notes, "; ") or nil }
  for _, d in ipairs(did) do
    if d == "start" or d == "restart" then
      -- (this task counts as a change once it returns)
      started_in_role[a.name] = { role = ezk._role_seq, change = ezk.changes() + 1 }
    end
  end
  if res.changed and ctx.diff then
    local before = "active: " .. (info.before_active or "?") .. "\nenabled: " .. (info.before_enabled or "?") .. "\n"
    local after = (ctx.check and "" or ("active: " .. (info.after_active or "?") .. "\nenabled: " ..
      (info.after_enabled or "?") .. "\n")) .. (ctx.check and "would: " or "done: ") .. table.concat(did, ", ") .. "\n"
    res.diff = text_diff(before, after, a.name .. " (state)")
  end
  return res
end)
