-- cluster-restore/etcd-start (ezk restore, step 95: every [etcd] member at
-- once, after cluster-restore/etcd stopped them all and put the restored
-- data in place): etcd starts on every member, each waits until it answers
-- healthy (a member alone waits for its peers' quorum), and the member's
-- copy of the snapshot goes.

local vars, q = ezk.vars, ezk.q
local S = ezk.shared["cluster-restore"]
if not S then ezk.fail("cluster-restore/etcd-start runs after cluster-restore, in the same run") end
local ip, ca = vars.inventory_hostname, vars.ca_dir

command { title = "etcd: start", cmd = "systemctl start --no-block etcd" }
wait_for { title = "etcd: etcd-" .. ip .. " healthy", sleep = 1, timeout = tonumber(vars.ETCD_HEALTH_TIMEOUT) or 120,
           cmd = "ETCDCTL_API=3 " .. q(vars.bin_dir .. "/etcdctl") .. " --cacert=" .. q(ca .. "/ca.pem") ..
             " --cert=" .. q(ca .. "/etcd.pem") .. " --key=" .. q(ca .. "/etcd-key.pem") ..
             " --endpoints=https://" .. ip .. ":2379 --dial-timeout=2s --command-timeout=3s endpoint health" }
file { path = S.work, state = "absent" }
