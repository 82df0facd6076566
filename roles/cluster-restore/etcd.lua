-- cluster-restore/etcd (ezk restore, step 95: every [etcd] member at once,
-- any_errors_fatal, once the API servers are stopped): etcd stops, the
-- restored data takes the place of the member's (which is kept in
-- <ETCD_DATA_DIR>.before-restore until the next restore, for a way back),
-- etcd starts on every member and each waits until it answers healthy;
-- the member's copy of the snapshot goes.

local vars, q = ezk.vars, ezk.q
local S = ezk.shared["cluster-restore"]
if not S then ezk.fail("cluster-restore/etcd runs after cluster-restore, in the same run") end
local ip, ca, data = vars.inventory_hostname, vars.ca_dir, vars.ETCD_DATA_DIR

service { name = "etcd", state = "stopped" }
local old = data .. ".before-restore"
local swap = {
  "set -e",
  "rm -rf " .. q(old) .. " && mkdir -m 0700 " .. q(old),
  "if [ -e " .. q(data .. "/member") .. " ]; then mv " .. q(data .. "/member") .. " " .. q(old .. "/member") .. "; fi",
  "mkdir -p -m 0700 " .. q(data),
  "mv " .. q(S.new .. "/member") .. " " .. q(data .. "/member"),
  "rmdir " .. q(S.new),
}
if S.wal ~= "" then
  swap[#swap + 1] = "if [ -e " .. q(S.wal) .. " ]; then mv " .. q(S.wal) .. " " .. q(old .. "/wal") .. "; fi"
  swap[#swap + 1] = "mv " .. q(S.newwal) .. " " .. q(S.wal)
end
command { title = "etcd: the restored data in " .. data .. " (the old in " .. old .. ")", cmd = table.concat(swap, "\n") }
command { title = "etcd: start", cmd = "systemctl start --no-block etcd" }
wait_for { title = "etcd: etcd-" .. ip .. " healthy", sleep = 1, timeout = tonumber(vars.ETCD_HEALTH_TIMEOUT) or 120,
           cmd = "ETCDCTL_API=3 " .. q(vars.bin_dir .. "/etcdctl") .. " --cacert=" .. q(ca .. "/ca.pem") ..
             " --cert=" .. q(ca .. "/etcd.pem") .. " --key=" .. q(ca .. "/etcd-key.pem") ..
             " --endpoints=https://" .. ip .. ":2379 --dial-timeout=2s --command-timeout=3s endpoint health" }
file { path = S.work, state = "absent" }
