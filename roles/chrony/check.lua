-- chrony/check.lua: for `ezk check` and before step 01 touches a host
-- (core/check.h): the servers, pools, networks and address written into
-- chrony.conf, each a word of its line (roles/lib/checks/written.lua).
local hosts = ezk.groups.chrony or {}
if #hosts == 0 then return end
local written = dofile(ezk.lib_dir .. "/checks/written.lua")
written(hosts, "chrony.conf", {
  { "ntp_servers", "word" },
  { "ntp_pools", "word" },
  { "local_network", "word" },
})
written.names(hosts, "chrony.conf", "word")
