-- kube-node/delete (del-node and del-master, on the deploy node, once the
-- node was drained and its kubelet stopped): each node of NODE_TO_DEL is
-- deleted from the cluster (kubectl delete node: the controllers forget it,
-- its pod subnet is released), and its kubelet certificate and kubeconfig
-- (kube-node/cert's) leave the cluster's folder. A node already gone is
-- left alone.

local vars, q = ezk.vars, ezk.q
local kubectl = q(ezk.home .. "/bin/kubectl") .. " --kubeconfig=" .. q(ezk.cluster_dir .. "/kubectl.kubeconfig")

for _, h in ipairs(ezk.list(vars.NODE_TO_DEL)) do
  local name = ezk.hostvar(h, "K8S_NODENAME")
  local there = command { title = "node " .. name .. " in the cluster", check_mode = false, changed_when = false,
                          cmd = kubectl .. " get node " .. q(name) .. " -o name --ignore-not-found" }
  if ezk.trim(there.stdout or "") ~= "" then
    command { title = "kubectl delete node " .. name, cmd = kubectl .. " delete node " .. q(name) }
  end
  for _, f in ipairs({ ezk.cluster_dir .. "/ssl/" .. name .. "-kubelet.pem",
                       ezk.cluster_dir .. "/ssl/" .. name .. "-kubelet-key.pem",
                       ezk.cluster_dir .. "/" .. name .. "-kubelet.kubeconfig" }) do
    file { path = f, state = "absent" }
  end
end
