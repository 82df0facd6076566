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

-- values written into the etcd unit (WorkingDirectory=, ExecStart= flags):
-- systemd splits a line at blanks and expands % and $, and these
-- directives take no quoting that ezk could rely on, so what cannot stand
-- there as is is refused here, before any host is touched
local UNIT_SAFE = {
  ETCD_DATA_DIR = { "^/[%w%._/@+%-]*$", "an absolute path of letters, digits and . _ - + @ /" },
  ETCD_WAL_DIR = { "^/[%w%._/@+%-]*$", "an absolute path of letters, digits and . _ - + @ / (or \"\")", true },
  bin_dir = { "^/[%w%._/@+%-]*$", "an absolute path of letters, digits and . _ - + @ /" },
  ca_dir = { "^/[%w%._/@+%-]*$", "an absolute path of letters, digits and . _ - + @ /" },
  ETCD_CLUSTER_TOKEN = { "^[%w%._%-]+$", "letters, digits and . _ -" },
}
local names = {}
for n in pairs(UNIT_SAFE) do names[#names + 1] = n end
table.sort(names)
local said = {}
for _, h in ipairs(members) do
  for _, n in ipairs(names) do
    local v, at, err = ezk.var(h, n)
    local rule = UNIT_SAFE[n]
    if not err and type(v) == "string" and not (rule[3] and v == "") and not v:match(rule[1]) then
      local key = n .. "\0" .. v
      if not said[key] then
        said[key] = true
        ezk.error(at or ezk.host_at(h), n .. " '" .. v .. "' cannot be written into the etcd unit as is " ..
          "(systemd would split or expand it): use " .. rule[2])
      end
    end
  end
end
