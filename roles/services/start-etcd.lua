-- services/start-etcd (ezk start, step 91: on [etcd], first): etcd enabled
-- and started on every member at once, without waiting (a member of a
-- stopped cluster waits for its peers' quorum), then each member waits
-- until it answers healthy over TLS.
local vars, q = ezk.vars, ezk.q
local ip, ca = vars.inventory_hostname, vars.ca_dir

service { name = "etcd", enabled = true }
local st = ezk.trim(ezk.exec("systemctl is-active etcd").stdout)
if st ~= "active" and st ~= "activating" and st ~= "reloading" then
  command { title = "etcd: start", cmd = "systemctl start --no-block etcd" }
end
wait_for { title = "etcd: etcd-" .. ip .. " healthy", sleep = 1,
           timeout = tonumber(vars.ETCD_HEALTH_TIMEOUT) or 120,
           cmd = "ETCDCTL_API=3 " .. q(vars.bin_dir .. "/etcdctl") .. " --cacert=" .. q(ca .. "/ca.pem") ..
             " --cert=" .. q(ca .. "/etcd.pem") .. " --key=" .. q(ca .. "/etcd-key.pem") ..
             " --endpoints=https://" .. ip .. ":2379 --dial-timeout=2s --command-timeout=3s endpoint health" }
