-- services/stop-node (ezk stop, step 92: first, on every master and node):
-- kube-proxy, kubelet, kube-lb and containerd stopped and disabled at boot,
-- as kubeasz's `ezctl stop`. The pods' containers keep running under
-- containerd's shims (containerd stops alone: KillMode=process); the
-- kubelet takes them up again at `ezk start`.
for _, s in ipairs({ "kube-proxy", "kubelet", "kube-lb", ezk.vars.CONTAINERD_SERVICE_NAME or "containerd" }) do
  service { name = s, state = "stopped", enabled = false }
end
