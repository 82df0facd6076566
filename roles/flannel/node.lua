-- flannel/node (step 06, CLUSTER_NETWORK "flannel", every master and node,
-- after flannel's manifest was applied): once flannel's pod on this node has
-- put its CNI config in place (/etc/cni/net.d/10-flannel.conflist, written
-- by its install-cni container), kubeasz's default bridge config goes, so
-- new pods get flannel's network. kubeasz removes it at once and then waits
-- for the pod; ezk waits first, so a node whose flannel cannot start (an
-- image missing from the bundle) keeps a working config and the task says
-- why.

local vars = ezk.vars
if vars.CLUSTER_NETWORK ~= "flannel" then return end

-- (tag apply, as the manifest's apply: -t config leaves the nodes alone)
if not ezk.tagged({ "apply" }) then return end

local conf = "/etc/cni/net.d/10-flannel.conflist"
local up = wait_for {
  title = "flannel's CNI config on " .. tostring(vars.K8S_NODENAME), path = conf, tags = "apply",
  timeout = tonumber(vars.FLANNEL_READY_TIMEOUT) or 120, sleep = 2, ignore_errors = true,
}
if up.failed then
  ezk.fail("flannel's pod did not write " .. conf .. " (kubectl -n kube-system get pod -l app=flannel -o wide; " ..
           "is easzlab.io.local:5000/flannel/flannel:" .. tostring(vars.flannel_ver) .. " in the offline bundle?)")
end
if up.skipped then
  -- --check before flannel runs: its config would appear, and the default go
  if ezk.stat("/etc/cni/net.d/10-default.conf") then
    ezk.report("remove /etc/cni/net.d/10-default.conf", "changed", "would remove it once " .. conf .. " is in place")
  end
  return
end
file { path = "/etc/cni/net.d/10-default.conf", state = "absent", tags = "apply" }
