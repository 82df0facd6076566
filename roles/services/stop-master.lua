-- services/stop-master (ezk stop, step 92: on [kube_master], after the
-- nodes and the ex-lb): the control plane stopped and disabled at boot.
for _, s in ipairs({ "kube-scheduler", "kube-controller-manager", "kube-apiserver" }) do
  service { name = s, state = "stopped", enabled = false }
end
