-- network (step 06, on the deploy node, before the plugin's own role): the
-- CLUSTER_NETWORK asked for is one ezk installs (host-gw, flannel, calico,
-- kube-router, cilium, kube-ovn, or none); any other value stops step 06
-- here, before any host changed, and says what works.

local vars = ezk.vars
-- the plugins step 06 installs: each has a role of its name after this one,
-- in the same play (roles/steps.lua's network()); "none" installs nothing
local INSTALLED = { ["host-gw"] = true, flannel = true, calico = true, ["kube-router"] = true, cilium = true,
                    ["kube-ovn"] = true, none = true }
local net = vars.CLUSTER_NETWORK
if not INSTALLED[net] then
  ezk.fail("CLUSTER_NETWORK '" .. tostring(net) .. "' is not installed by ezk yet: set CLUSTER_NETWORK=" ..
           "\"calico\", \"flannel\", \"kube-router\", \"cilium\", \"kube-ovn\" or \"host-gw\" in the inventory " ..
           "(calico, flannel, kube-router, cilium, kube-ovn: their images from the offline bundle; host-gw: no " ..
           "image, one L2 segment; README: 06 network), or \"none\" to install a network yourself")
end
if net == "none" then ezk.warn("CLUSTER_NETWORK none: no pod network installed; nodes keep the default bridge config") end
