-- kube-master/clean (del-master, on the master that leaves, once every
-- kube-lb stopped sending to it and it was drained): kube-apiserver,
-- kube-controller-manager and kube-scheduler stopped and disabled (a
-- controller-manager or scheduler that led hands over when its lease
-- expires), their units removed, and the control plane's files: its
-- certificates and the CA's key (no host that is not a master keeps it),
-- the component kubeconfigs, audit files, binaries and restart markers.
-- The node part is kube-node/clean's.
local vars = ezk.vars
local bin, ca = vars.bin_dir, vars.ca_dir

for _, c in ipairs({ "kube-apiserver", "kube-controller-manager", "kube-scheduler" }) do
  service { name = c, state = "stopped", enabled = false }
  systemd_unit { name = c .. ".service", state = "absent" }
  file { path = bin .. "/" .. c, state = "absent" }
  file { path = "/var/lib/ezk/restart-pending/" .. c, state = "absent" }
end
for _, p in ipairs({ ca .. "/ca-key.pem", ca .. "/kubernetes.pem", ca .. "/kubernetes-key.pem",
                     ca .. "/aggregator-proxy.pem", ca .. "/aggregator-proxy-key.pem", ca .. "/ca-previous.pem",
                     "/etc/kubernetes/kube-controller-manager.kubeconfig",
                     "/etc/kubernetes/kube-scheduler.kubeconfig", "/etc/kubernetes/audit",
                     "/var/log/kubernetes/audit", bin .. "/kubectl" }) do
  file { path = p, state = "absent" }
end
