-- kube-router/node (step 06, CLUSTER_NETWORK "kube-router", every master and
-- node, after kube-router's manifest was applied): once kube-router's init
-- container has put /etc/cni/net.d/10-kuberouter.conflist in place (it
-- removes the node's *.conf itself), kubeasz's default bridge config is
-- sure to be gone (ezk.cni_takeover, roles/lib/cni.lua: ezk waits first, so
-- a node whose kube-router cannot start keeps a working config and the task
-- says why).

local vars = ezk.vars
if vars.CLUSTER_NETWORK ~= "kube-router" then return end

ezk.cni_takeover {
  name = "kube-router", conf = "/etc/cni/net.d/10-kuberouter.conflist",
  timeout = tonumber(vars.KUBE_ROUTER_READY_TIMEOUT) or 120,
  who = "kube-router's pod", hint = "kubectl -n kube-system get pod -l k8s-app=kube-router -o wide; " ..
    "is easzlab.io.local:5000/cloudnativelabs/kube-router:" .. tostring(vars.kube_router_ver) .. " in the offline bundle?",
}
