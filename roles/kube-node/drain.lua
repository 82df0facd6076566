-- kube-node/drain (del-node and del-master, on the deploy node, first):
-- each node of NODE_TO_DEL is drained: cordoned, and its pods evicted (so
-- they start on the other nodes, PodDisruptionBudgets respected) but the
-- DaemonSets' and mirror pods; pods no controller owns are deleted
-- (--force), emptyDir data goes with its pod. A node that is not in the
-- cluster (a rerun after it was deleted) has nothing to drain.

local vars, q = ezk.vars, ezk.q
local kubectl = q(ezk.home .. "/bin/kubectl") .. " --kubeconfig=" .. q(ezk.cluster_dir .. "/kubectl.kubeconfig")
local timeout = tonumber(vars.NODE_DRAIN_TIMEOUT) or 300

for _, h in ipairs(ezk.list(vars.NODE_TO_DEL)) do
  local name = ezk.hostvar(h, "K8S_NODENAME")
  local there = command { title = "node " .. name .. " in the cluster", check_mode = false, changed_when = false,
                          cmd = kubectl .. " get node " .. q(name) .. " -o name --ignore-not-found" }
  if ezk.trim(there.stdout or "") ~= "" then
    command { title = "drain " .. name, timeout = timeout + 30,
              cmd = kubectl .. " drain " .. q(name) .. " " .. table.concat(ezk.drain_flags(vars.K8S_VER), " ") ..
                " --timeout=" .. timeout .. "s" }
  end
end
