-- etcd/check.lua: the [etcd] group, for `ezk check` and before step 02
-- touches a host (core/check.h). etcd needs a member; an even number of
-- members tolerates no more failures than one fewer.

local members = ezk.groups.etcd or {}
if #members == 0 then
  ezk.error({ file = ezk.hosts_file, line = 0 }, "the [etcd] group has no hosts: etcd needs 1, 3 or 5")
elseif #members % 2 == 0 then
  ezk.warning(ezk.host_at(members[1]), "[etcd] has " .. #members .. " members: an even number tolerates " ..
    "no more failures than one fewer (a quorum of " .. #members .. " is " .. (#members // 2 + 1) ..
    "): use 1, 3, 5 or 7")
end

-- values written into the etcd unit (WorkingDirectory=, ExecStart= words):
-- the unit quotes them as systemd reads them; what no quoting can carry
-- (a newline, a relative path) is refused before any host is touched
local written = dofile(ezk.lib_dir .. "/checks/written.lua")
written(members, "the etcd unit", {
  { "bin_dir", "systemd_arg", path = true },
  { "ca_dir", "systemd_arg", path = true },
  { "ETCD_DATA_DIR", "systemd_value", "systemd_arg", path = true },
  { "ETCD_WAL_DIR", "systemd_arg", path = true, empty = true },
  { "ETCD_CLUSTER_TOKEN", "systemd_arg" },
})
written.names(members, "the etcd unit", "word")
