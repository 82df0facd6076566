-- kube-master/check.lua: for `ezk check` and before step 04 touches a host
-- (core/check.h): the values written into the units of kube-apiserver,
-- kube-controller-manager and kube-scheduler (roles/lib/checks/written.lua).
local masters = ezk.groups.kube_master or {}
local written = dofile(ezk.lib_dir .. "/checks/written.lua")
written(masters, "the kube-master units", {
  { "bin_dir", "systemd_arg", path = true },
  { "ca_dir", "systemd_arg", path = true },
  { "SERVICE_CIDR", "systemd_arg" },
  { "CLUSTER_CIDR", "systemd_arg" },
  { "NODE_PORT_RANGE", "systemd_arg" },
  { "SECURE_PORT", "systemd_arg", "word" },
})
written.names(masters, "the kube-master units", "systemd_arg", "word")
