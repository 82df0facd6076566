-- checks/plugin.lua: for a network plugin's check.lua (core/check.h). The
-- plugin's manifest is one for the whole cluster: the first host's values
-- are the ones used. Returns nil when the cluster has no host or another
-- CLUSTER_NETWORK (the check has nothing to say); else var(name): that
-- host's value of a setting (nil when undefined or when it does not
-- evaluate, which `ezk check` says already) and where it is set (config.yml
-- or hosts, line 0, when it is a role's default).
--
--   local var = dofile(ezk.lib_dir .. "/checks/plugin.lua")("flannel")
--   if not var then return end
--   local backend, at = var("FLANNEL_BACKEND")
return function(plugin)
  local h = ezk.hosts[1]
  if not h then return nil end
  local function var(name)
    local v, at, err = ezk.var(h, name)
    if err then return nil end
    return v, at or { file = ezk.config_file or ezk.hosts_file, line = 0 }
  end
  if var("CLUSTER_NETWORK") ~= plugin then return nil end
  return var
end
