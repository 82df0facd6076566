-- flags.lua: command-line flags of the Kubernetes components, from a table
-- whose rows can depend on the version being installed (a role's version
-- table lives in its rows, not in its templates).
--
--   local rows = {
--     { "allow-privileged", "true" },
--     { "insecure-port", "0", before = "1.24" },        -- removed in 1.24
--     { "audit-log-path", "/var/log/audit.log", when = audit },
--   }
--   ezk.flags(rows, vars.K8S_VER)  -> "  --allow-privileged=true \\\n  --insecure-port=0"
--
-- A row: name, value (nil: a bare --name), since (the first version that
-- has it), before (the first that no longer has it), when (false: left out).
-- The text is the continuation lines of a unit's ExecStart: each flag on a
-- line of its own, indented two spaces, joined by " \" line ends. Each
-- --name=value is one word as systemd reads it: quoted when it needs to be
-- (ezk.quote "systemd_arg", core/quote.h); a value no unit can hold (a
-- newline) fails the task, naming the flag (`ezk check` refuses such
-- settings before any host is touched).

function ezk.flag_rows(rows, ver)
  local out = {}
  for _, r in ipairs(rows) do
    local keep = r.when ~= false
    if r.since and ver and not ezk.version_ge(ver, r.since) then keep = false end
    if r.before and ver and ezk.version_ge(ver, r.before) then keep = false end
    if keep then out[#out + 1] = r end
  end
  return out
end

function ezk.flags(rows, ver)
  local t = {}
  for _, r in ipairs(ezk.flag_rows(rows, ver)) do
    local word = "--" .. r[1] .. (r[2] ~= nil and ("=" .. tostring(r[2])) or "")
    local quoted, why = ezk.quote("systemd_arg", word)
    if not quoted then ezk.fail("the flag --" .. r[1] .. " cannot be written into a unit: its value " .. why) end
    t[#t + 1] = "  " .. quoted
  end
  return table.concat(t, " \\\n")
end
