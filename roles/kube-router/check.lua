-- kube-router/check.lua: kube-router's settings, for `ezk check` and before
-- step 06 runs (core/check.h), when CLUSTER_NETWORK is "kube-router". The
-- manifest is one for the whole cluster: the first host's values are used
-- (roles/lib/checks/plugin.lua).

local var = dofile(ezk.lib_dir .. "/checks/plugin.lua")("kube-router")
if not var then return end

local overlay, o_at = var("OVERLAY_TYPE")
if overlay ~= nil and overlay ~= "full" and overlay ~= "subnet" then
  ezk.error(o_at, "OVERLAY_TYPE '" .. tostring(overlay) .. "': kube-router's --overlay-type is \"full\" or \"subnet\"")
end
-- kube-router's --run-firewall is a Go bool: the manifest carries the
-- setting as Jinja prints it (true: "True")
local fw, f_at = var("FIREWALL_ENABLE")
if type(fw) == "string" and not ({ ["true"] = 1, ["false"] = 1, ["1"] = 1, ["0"] = 1, t = 1, f = 1 })[fw:lower()] then
  ezk.error(f_at, "FIREWALL_ENABLE '" .. fw .. "': write true or false (kube-router's --run-firewall)")
end
