-- network/check.lua: before step 06 runs (and for `ezk check`): the pod
-- network is named. kubeasz's hosts sets CLUSTER_NETWORK in [all:vars]; a
-- hosts written without that section would otherwise get as far as step 06
-- with every earlier step done. (Whether the value is one ezk installs:
-- roles/check.lua and roles/network/main.lua.)
local h = ezk.hosts[1]
if not h then return end
local v, _, err = ezk.var(h, "CLUSTER_NETWORK")
if v == nil and not err then
  ezk.error({ file = ezk.config_file or ezk.hosts_file, line = 0 },
    "CLUSTER_NETWORK is not set (hosts' [all:vars] or config.yml)")
end
