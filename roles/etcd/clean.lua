-- etcd/clean (del-etcd, on the member that leaves, once it was removed
-- from the cluster): etcd stopped and disabled, its unit, data (and WAL)
-- directory, certificate, binaries and restart marker removed. The CA stays
-- when the host is still a master or a node (their components read it).
local vars = ezk.vars
local bin, ca = vars.bin_dir, vars.ca_dir
local function member(g)
  for _, h in ipairs(vars.groups[g] or {}) do if h == vars.inventory_hostname then return true end end
  return false
end

service { name = "etcd", state = "stopped", enabled = false }
systemd_unit { name = "etcd.service", state = "absent" }
local gone = { vars.ETCD_DATA_DIR, ca .. "/etcd.pem", ca .. "/etcd-key.pem", bin .. "/etcd", bin .. "/etcdctl",
               "/var/lib/ezk/restart-pending/etcd" }
if vars.ETCD_WAL_DIR and vars.ETCD_WAL_DIR ~= "" then gone[#gone + 1] = vars.ETCD_WAL_DIR end
if not member("kube_master") and not member("kube_node") then gone[#gone + 1] = ca .. "/ca.pem" end
for _, p in ipairs(gone) do file { path = p, state = "absent" } end
