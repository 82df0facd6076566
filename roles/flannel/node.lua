-- flannel/node (step 06, CLUSTER_NETWORK "flannel", every master and node,
-- after flannel's manifest was applied): once flannel's pod on this node has
-- put its CNI config in place (/etc/cni/net.d/10-flannel.conflist, written
-- by its install-cni container), kubeasz's default bridge config goes, so
-- new pods get flannel's network (ezk.cni_takeover, roles/lib/cni.lua: ezk
-- waits first, so a node whose flannel cannot start keeps a working config
-- and the task says why).

local vars = ezk.vars
if vars.CLUSTER_NETWORK ~= "flannel" then return end

ezk.cni_takeover {
  name = "flannel", conf = "/etc/cni/net.d/10-flannel.conflist", timeout = tonumber(vars.FLANNEL_READY_TIMEOUT) or 120,
  who = "flannel's pod", hint = "kubectl -n kube-system get pod -l app=flannel -o wide; " ..
    "is easzlab.io.local:5000/flannel/flannel:" .. tostring(vars.flannel_ver) .. " in the offline bundle?",
}
