-- kube-ovn/node (step 06, CLUSTER_NETWORK "kube-ovn", every master and
-- node, after kube-ovn's install.sh ran on the deploy node): kube-ovn-cni's
-- pod on this node Running, as kubeasz waits for it (it asks every 8 s, 15
-- times), then, once that pod has put /etc/cni/net.d/01-kube-ovn.conflist
-- in place (install.sh's CNI_CONFIG_PRIORITY 01), kubeasz's default bridge
-- config goes (ezk.cni_takeover, roles/lib/cni.lua: ezk waits first, so a
-- node whose kube-ovn cannot start keeps a working config and the task
-- says why). kubectl runs on the node with the admin kubeconfig step 01
-- put in /root/.kube/config, as kube-node/ready's. Tag apply.

local vars = ezk.vars
if vars.CLUSTER_NETWORK ~= "kube-ovn" then return end

local timeout = tonumber(vars.KUBE_OVN_READY_TIMEOUT) or 120
local hint = "kubectl -n kube-system get pod -l app=kube-ovn-cni -o wide; the install's log is in " ..
  ezk.cluster_dir .. "/logs/kube-ovn-install-*.log; is " .. tostring(vars.KUBE_OVN_REGISTRY) .. "/kube-ovn:" ..
  tostring(vars.kube_ovn_ver) .. " in the offline bundle?"
ezk.cni_takeover {
  name = "kube-ovn", pod = "app=kube-ovn-cni", pod_name = "kube-ovn-cni",
  conf = "/etc/cni/net.d/01-kube-ovn.conflist", timeout = timeout,
  who = "kube-ovn-cni's pod", hint = hint,
}
