-- checks/nodes.lua: for a role's check.lua (core/check.h) about what every
-- Kubernetes node gets (containerd, kubelet, kube-proxy, kube-lb): the hosts
-- of [kube_master] and [kube_node], each once, masters first.
--
--   local hosts = dofile(ezk.lib_dir .. "/checks/nodes.lua")
local hosts, seen = {}, {}
for _, g in ipairs({ "kube_master", "kube_node" }) do
  for _, h in ipairs(ezk.groups[g] or {}) do
    if not seen[h] then seen[h] = true hosts[#hosts + 1] = h end
  end
end
return hosts
