-- flannel/check.lua: flannel's settings, for `ezk check` and before step 06
-- runs (core/check.h), when CLUSTER_NETWORK is "flannel". The manifest is
-- one for the whole cluster: the first host's values are the ones used
-- (roles/lib/checks/plugin.lua).
--
-- DIRECT_ROUTING is a boolean: kubeasz's template tests it as Jinja truth,
-- so a quoted "false" turns it on there; ezk reads it as Ansible's `| bool`
-- and says so. It only means something with the vxlan backend.

local var = dofile(ezk.lib_dir .. "/checks/plugin.lua")("flannel")
if not var then return end

local backend, b_at = var("FLANNEL_BACKEND")
if backend ~= nil and backend ~= "vxlan" and backend ~= "host-gw" then
  ezk.warning(b_at, "FLANNEL_BACKEND '" .. tostring(backend) .. "': kubeasz's backends are \"vxlan\" and " ..
    "\"host-gw\"; flannel must know this one and the nodes support it")
end
local dr, d_at = var("DIRECT_ROUTING")
if type(dr) == "string" then
  ezk.warning(d_at, "DIRECT_ROUTING is the string '" .. dr .. "': write true or false unquoted " ..
    "(kubeasz takes any non-empty string for true; ezk reads it as Ansible's bool)")
end
local on = dr == true or (type(dr) == "string" and ({ ["true"] = 1, yes = 1, on = 1, ["1"] = 1, y = 1 })[dr:lower()])
if on and backend ~= "vxlan" then
  ezk.warning(d_at, "DIRECT_ROUTING is on but FLANNEL_BACKEND is '" .. tostring(backend) ..
    "': it is vxlan's (routes instead of the tunnel between nodes of one subnet) and is ignored")
end
