-- kube-node/check.lua: for `ezk check` and before steps 04 and 05 touch a
-- host (core/check.h): the values written into the kubelet and kube-proxy
-- units and their YAML configuration (roles/lib/checks/written.lua).
local hosts = dofile(ezk.lib_dir .. "/checks/nodes.lua")
local written = dofile(ezk.lib_dir .. "/checks/written.lua")
written(hosts, "the kubelet and kube-proxy units and configuration", {
  { "bin_dir", "systemd_arg", path = true },
  { "ca_dir", "yaml", path = true },
  { "KUBELET_ROOT_DIR", "systemd_arg", path = true },
  { "CONTAINERD_STATE_DIR", "systemd_arg", "yaml", path = true },
  { "CLUSTER_DNS_DOMAIN", "yaml", "word" },
  { "KUBELET_CGROUP_ROOT", "yaml" },
})
