-- network (step 06, on the deploy node, before the plugin's own play): the
-- CLUSTER_NETWORK asked for is one ezk installs (host-gw, flannel, calico,
-- kube-router). kubeasz's cilium and kube-ovn are accepted in the inventory
-- (ezk check warns) but not installed yet: step 06 stops here, before any
-- host changed, and says what works today (for cilium, `-t config` renders
-- its Helm values and applies nothing).

local vars = ezk.vars
-- the plugins step 06 installs: each has a role of its name in the step's
-- next play (roles/steps.lua); "none" installs nothing
local INSTALLED = { ["host-gw"] = true, flannel = true, calico = true, ["kube-router"] = true, none = true }
local net = vars.CLUSTER_NETWORK
-- cilium: its Helm values are rendered (roles/cilium), not yet installed;
-- a `-t config` run (which applies nothing and touches no host) renders them
if net == "cilium" and not ezk.tagged({ "apply" }) then
  ezk.warn("CLUSTER_NETWORK cilium: only its Helm values are rendered (yml/cilium-values.yaml); ezk does not install it yet")
  return
end
if not INSTALLED[net] then
  ezk.fail("CLUSTER_NETWORK '" .. tostring(net) .. "' is not installed by ezk yet: set CLUSTER_NETWORK=\"calico\", \"flannel\", \"kube-router\" or \"host-gw\" " ..
           "in the inventory (calico, flannel, kube-router: their images from the offline bundle; host-gw: no image, one L2 segment; " ..
           "README: 06 network), " ..
           "or \"none\" to install a network yourself")
end
if net == "none" then ezk.warn("CLUSTER_NETWORK none: no pod network installed; nodes keep the default bridge config") end
