-- calico/check.lua: calico's settings, for `ezk check` and before step 06
-- runs (core/check.h), when CLUSTER_NETWORK is "calico". The manifest is
-- one for the whole cluster: the first host's values are the ones used
-- (roles/lib/checks/plugin.lua).

local var = dofile(ezk.lib_dir .. "/checks/plugin.lua")("calico")
if not var then return end

local backend, b_at = var("CALICO_NETWORKING_BACKEND")
if backend ~= nil and backend ~= "bird" and backend ~= "vxlan" and backend ~= "none" then
  ezk.error(b_at, "CALICO_NETWORKING_BACKEND '" .. tostring(backend) .. "': calico's backends are \"bird\", " ..
    "\"vxlan\" and \"none\"")
end
local overlay, o_at = var("CALICO_ENABLE_OVERLAY")
if overlay ~= nil and overlay ~= "Always" and overlay ~= "CrossSubnet" and overlay ~= "Never" then
  ezk.error(o_at, "CALICO_ENABLE_OVERLAY '" .. tostring(overlay) .. "': calico takes \"Always\", \"CrossSubnet\" " ..
    "or \"Never\"")
end
local main, m_at = var("calico_ver_main")
-- (said at calico_ver's line: calico_ver_main is made from it)
local _, v_at = var("calico_ver")
if main ~= nil and main ~= "v3.26" and main ~= "v3.28" and main ~= "v3.32" then
  ezk.error(v_at and v_at.line and v_at.line > 0 and v_at or m_at, "calico_ver_main '" .. tostring(main) .. "': ezk has calico's manifest for v3.26, v3.28 and " ..
    "v3.32 (kubeasz 3.7's templates); set calico_ver to one of those releases")
end
