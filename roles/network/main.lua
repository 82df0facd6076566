-- network (step 06, on the deploy node, before the plugin's own play): the
-- CLUSTER_NETWORK asked for is one ezk installs (host-gw, flannel, calico,
-- kube-router, kube-ovn). kubeasz's cilium is accepted in the inventory
-- (ezk check warns) but not installed yet: step 06 stops here, before any
-- host changed, and says what works today (for it, `-t config` renders
-- what kubeasz renders and applies nothing).

local vars = ezk.vars
-- the plugins step 06 installs: each has a role of its name in the step's
-- next play (roles/steps.lua); "none" installs nothing
local INSTALLED = { ["host-gw"] = true, flannel = true, calico = true, ["kube-router"] = true, ["kube-ovn"] = true,
                    none = true }
local net = vars.CLUSTER_NETWORK
-- cilium: what kubeasz renders for it (roles/cilium: the chart's Helm
-- values) is, it is not yet installed; a `-t config` run (which applies
-- nothing and touches no host) renders them
local RENDERED = { cilium = "its Helm values (yml/cilium-values.yaml)" }
if RENDERED[net] and not ezk.tagged({ "apply" }) then
  ezk.warn("CLUSTER_NETWORK " .. net .. ": only " .. RENDERED[net] .. " rendered; ezk does not install it yet")
  return
end
if not INSTALLED[net] then
  ezk.fail("CLUSTER_NETWORK '" .. tostring(net) .. "' is not installed by ezk yet: set CLUSTER_NETWORK=\"calico\", \"flannel\", \"kube-router\", \"kube-ovn\" or \"host-gw\" " ..
           "in the inventory (calico, flannel, kube-router, kube-ovn: their images from the offline bundle; host-gw: no image, one L2 segment; " ..
           "README: 06 network), " ..
           "or \"none\" to install a network yourself")
end
if net == "none" then ezk.warn("CLUSTER_NETWORK none: no pod network installed; nodes keep the default bridge config") end
