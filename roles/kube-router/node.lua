-- kube-router/node (step 06, CLUSTER_NETWORK "kube-router", every master and
-- node, after kube-router's manifest was applied): once kube-router's init
-- container has put /etc/cni/net.d/10-kuberouter.conflist in place (it
-- removes the node's *.conf itself), kubeasz's default bridge config is
-- sure to be gone. kubeasz removes it at once and then waits for the pod;
-- ezk waits first (as flannel/node), so a node whose kube-router cannot
-- start keeps a working config and the task says why.

local vars = ezk.vars
if vars.CLUSTER_NETWORK ~= "kube-router" then return end

-- (tag apply, as the manifest's apply: -t config leaves the nodes alone)
if not ezk.tagged({ "apply" }) then return end

local conf = "/etc/cni/net.d/10-kuberouter.conflist"
local up = wait_for {
  title = "kube-router's CNI config on " .. tostring(vars.K8S_NODENAME), path = conf, tags = "apply",
  timeout = tonumber(vars.KUBE_ROUTER_READY_TIMEOUT) or 120, sleep = 2, ignore_errors = true,
}
if up.failed then
  ezk.fail("kube-router's pod did not write " .. conf .. " (kubectl -n kube-system get pod -l k8s-app=kube-router " ..
           "-o wide; is easzlab.io.local:5000/cloudnativelabs/kube-router:" .. tostring(vars.kube_router_ver) ..
           " in the offline bundle?)")
end
if up.skipped then
  -- --check before kube-router runs: its config would appear, and the default go
  if ezk.stat("/etc/cni/net.d/10-default.conf") then
    ezk.report("remove /etc/cni/net.d/10-default.conf", "changed", "would remove it once " .. conf .. " is in place")
  end
  return
end
file { path = "/etc/cni/net.d/10-default.conf", state = "absent", tags = "apply" }
