-- cilium/node (step 06, CLUSTER_NETWORK "cilium", every master and node,
-- after helm installed cilium's chart on the deploy node), as kubeasz's
-- cilium role does on each node:
--   * the cilium CLI, and hubble's, in bin_dir when $EZK_HOME/bin has them
--     (`ezk download` fetches cilium for a cilium cluster, hubble when
--     cilium_hubble_enabled; a missing one is warned of, as calico/node
--     does for calicoctl; kubeasz copies both and fails without them);
--   * cilium's agent pod on this node Running (label k8s-app=cilium, the
--     node's name as spec.nodeName; kubeasz asks every 8 s, 15 times):
--     CILIUM_READY_TIMEOUT; kubectl runs on the node with the admin
--     kubeconfig step 01 put in /root/.kube/config, as kube-node/ready's;
--   * then, once the agent has written /etc/cni/net.d/05-cilium.conflist
--     (cilium-config's write-cni-conf-when-ready), kubeasz's default bridge
--     config goes (ezk.cni_takeover, roles/lib/cni.lua: ezk waits first, so
--     a node whose cilium cannot start keeps a working config and the task
--     says why; kubeasz removes it first). With the chart's cni.exclusive
--     the agent itself renames other configs to *.cilium_bak; the default
--     one is then already gone. Tag apply.

local vars = ezk.vars
if vars.CLUSTER_NETWORK ~= "cilium" then return end

for _, b in ipairs({ { name = "cilium", fetched = "for a cilium cluster" },
                     { name = "hubble", fetched = "for a cilium cluster with cilium_hubble_enabled",
                       wanted = ezk.bool(vars.cilium_hubble_enabled) } }) do
  local src = ezk.home .. "/bin/" .. b.name
  if ezk.stat_local(src) then
    copy { dest = vars.bin_dir .. "/" .. b.name, src = src, mode = "0755", tags = { "bin", "apply" } }
  elseif (b.wanted == nil or b.wanted) and ezk.tagged({ "bin", "apply" }) then
    ezk.warn(src .. " is missing: no " .. b.name .. " CLI on the nodes (ezk download fetches it " .. b.fetched .. ")")
  end
end

local timeout = tonumber(vars.CILIUM_READY_TIMEOUT) or 120
local hint = "kubectl -n kube-system get pod -l k8s-app=cilium -o wide; helm's log is in " ..
  ezk.cluster_dir .. "/logs/cilium-helm-*.log; is easzlab.io.local:5000/cilium/cilium:v" ..
  tostring(vars.cilium_ver) .. " in the offline bundle?"
ezk.cni_takeover {
  name = "cilium", pod = "k8s-app=cilium", conf = "/etc/cni/net.d/05-cilium.conflist",
  timeout = timeout,
  who = "cilium's agent", hint = hint,
}
