-- cluster-restore/stop (ezk restore, step 95: every master and node at
-- once, once every member has the restored data ready): the clients of the
-- cluster's state stop before it changes under them, as Kubernetes advises
-- for a restore: kube-proxy, the kubelet, the scheduler, the
-- controller-manager and the API server (those the host has). Nothing is
-- disabled: cluster-restore/start starts them again.
for _, s in ipairs({ "kube-proxy", "kubelet", "kube-scheduler", "kube-controller-manager", "kube-apiserver" }) do
  service { name = s, state = "stopped" }
end
