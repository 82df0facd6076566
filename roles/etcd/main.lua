-- etcd (step 02) on every member: binaries, certificates, data directory
-- and the unit. Nothing is started here: the play is any_errors_fatal, so a
-- member that fails (or cannot be reached) stops the step before any member
-- starts half-configured; etcd/join.lua then adds and starts members that
-- join a running cluster, etcd/start.lua starts new members and restarts
-- changed ones one at a time, and etcd/health.lua waits for all.
--
-- A change that needs a restart leaves a marker on the member
-- (/var/lib/ezk/restart-pending/etcd) until the restart is done: a run that
-- fails in between still restarts the member on the next run.

local vars, q = ezk.vars, ezk.q
local ip = vars.inventory_hostname
local bin, cadir = vars.bin_dir, vars.ca_dir
local data, wal = vars.ETCD_DATA_DIR, vars.ETCD_WAL_DIR
local ssl = ezk.cluster_dir .. "/ssl"
local members = vars.groups.etcd or {}

-- shared with etcd/join, etcd/start and etcd/health (same host, same run)
local ETCD = {
  name = "etcd-" .. ip,
  ip = ip,
  marker = "/var/lib/ezk/restart-pending/etcd",
  unit = "/etc/systemd/system/etcd.service",
  timeout = tonumber(vars.ETCD_HEALTH_TIMEOUT) or 120,
}
ezk.shared.etcd = ETCD
local function endpoints(list)
  local t = {}
  for _, m in ipairs(list) do t[#t + 1] = "https://" .. m .. ":2379" end
  return table.concat(t, ",")
end
-- etcdctl with the member's certificates (ETCDCTL_API=3 is 3.4's default)
ETCD.ctl = "ETCDCTL_API=3 " .. q(bin .. "/etcdctl") .. " --cacert=" .. q(cadir .. "/ca.pem") ..
  " --cert=" .. q(cadir .. "/etcd.pem") .. " --key=" .. q(cadir .. "/etcd-key.pem")
ETCD.all = endpoints(members)
ETCD.n = #members

local others = {}
for _, m in ipairs(members) do if m ~= ip then others[#others + 1] = m end end
ETCD.others = endpoints(others)

ezk.handler("etcd changed", function()
  command { title = "etcd: restart pending", cmd = "mkdir -p /var/lib/ezk/restart-pending && : > " .. q(ETCD.marker) }
  ETCD.pending = true -- under --check the marker is not written
end)

file { path = bin, state = "directory", mode = "0755" }
for _, b in ipairs({ "etcd", "etcdctl" }) do
  local src = ezk.home .. "/bin/" .. b
  if not ezk.stat_local(src) then
    ezk.fail(src .. " is missing: put etcd and etcdctl (the version to install) in " .. ezk.home ..
             "/bin (scripts/bin-from-debian.sh copies them from Debian's etcd-server and etcd-client)")
  end
  copy { dest = bin .. "/" .. b, src = src, mode = "0755", notify = "etcd changed" }
end

file { path = cadir, state = "directory", mode = "0755" }
for _, f in ipairs({ { "ca.pem", "0644" }, { "etcd.pem", "0644" }, { "etcd-key.pem", "0600" } }) do
  local src = ssl .. "/" .. f[1]
  if ezk.stat_local(src) or not ezk.check then
    copy { dest = cadir .. "/" .. f[1], src = src, mode = f[2], notify = "etcd changed" }
  else -- --check on a new cluster: step 01 or etcd/cert would have made it
    ezk.report("copy " .. cadir .. "/" .. f[1], "changed", "would copy " .. src .. " (made by this run)")
    ETCD.pending = true
  end
end

file { path = data, state = "directory", mode = "0700" }
if wal and wal ~= "" then file { path = wal, state = "directory", mode = "0700" } end

-- How this member starts the first time. --initial-cluster-state and
-- --initial-cluster only matter then: a member with data keeps what its
-- unit says (so adding a member changes no other member's unit), a new
-- cluster bootstraps with "new" and every [etcd] member, and a member
-- joining a running cluster is added to it and written by etcd/join.lua.
local cluster = {}
for _, m in ipairs(members) do cluster[#cluster + 1] = "etcd-" .. m .. "=https://" .. m .. ":2380" end
local state, initial = "new", table.concat(cluster, ",")
ETCD.fresh = ezk.stat(data .. "/member") == nil
if not ETCD.fresh then
  local unit = ezk.read_remote(ETCD.unit)
  if unit then
    state = unit:match("%-%-initial%-cluster%-state=(%a+)") or state
    initial = unit:match("%-%-initial%-cluster=(%S+)") or initial
  end
elseif #others > 0 and not ezk.check then
  -- is there a cluster already? Ask the others, if any of them listens (a
  -- bootstrap finds none listening: no 2 s dial timeout then).
  local probe = {}
  for _, m in ipairs(others) do
    probe[#probe + 1] = "timeout 1 bash -c 'exec 3<>/dev/tcp/$0/2379' " .. q(m) .. " 2>/dev/null && up=1"
  end
  local r = ezk.exec("up=0\n" .. table.concat(probe, "\n") .. "\n[ $up = 1 ] || exit 3\n" ..
    ETCD.ctl .. " --endpoints=" .. ETCD.others .. " --dial-timeout=2s --command-timeout=5s member list",
    { timeout = 20 })
  if r.rc == 0 then
    ETCD.join = true
    -- (a member added but never started has no name yet: its peer URL says)
    ETCD.listed = r.stdout:find(", https://" .. ip .. ":2380,", 1, true) ~= nil
    ezk.debug("etcd: " .. ETCD.name .. " joins the running cluster" ..
          (ETCD.listed and " (already a member)" or " (member add before it starts)"))
  end
end

if not ETCD.join then
  systemd_unit { name = "etcd.service", template = "etcd.service.j2", notify = "etcd changed",
                 vars = { etcd_name = ETCD.name, etcd_ip = ip, etcd_state = state,
                          etcd_initial_cluster = initial } }
  service { name = "etcd", enabled = true }
  -- its state, for etcd/start: that play goes one host at a time, so it
  -- is asked here, on every member at once (a joining member is asked
  -- there: etcd/join starts it in between)
  ETCD.active = ezk.trim(ezk.exec("systemctl is-active etcd", { read_only = true }).stdout)
end
