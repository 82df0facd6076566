-- services/start-node (ezk start, step 91: on every master and node,
-- last): containerd, kube-lb, kubelet and kube-proxy enabled and started,
-- then the node waited for until it says Ready.
local vars, q = ezk.vars, ezk.q
local name = vars.K8S_NODENAME
for _, s in ipairs({ vars.CONTAINERD_SERVICE_NAME or "containerd", "kube-lb", "kubelet", "kube-proxy" }) do
  service { name = s, state = "started", enabled = true }
end
wait_for { title = "node " .. name .. " Ready", timeout = tonumber(vars.NODE_READY_TIMEOUT) or 120, sleep = 1,
           cmd = q(vars.bin_dir .. "/kubectl") .. " --kubeconfig=/root/.kube/config get node " .. q(name) ..
             " -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True" }
