-- kube-lb/clean (del-node and del-master, on the host that leaves): kube-lb
-- stopped and disabled, its unit and /etc/kube-lb removed. (A host that
-- leaves [kube_master] and [kube_node] runs no kubelet or control plane
-- that would need it.)
service { name = "kube-lb", state = "stopped", enabled = false }
systemd_unit { name = "kube-lb.service", state = "absent" }
file { path = "/etc/kube-lb", state = "absent" }
