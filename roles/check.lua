-- check.lua: what `ezk check` says about the cluster as a whole, before any
-- host is touched (each role checks its own part in roles/<role>/check.lua;
-- core/check.h documents the `ezk` these files see).
--
-- Here: [kube_master] has hosts, every host is in a group, config.yml keeps
-- no placeholder of kubeasz's, CLUSTER_NETWORK and CONTAINER_RUNTIME are
-- values the steps install, SERVICE_CIDR and CLUSTER_CIDR are networks apart
-- from each other and from the hosts. (Node names: roles/prepare/check.lua,
-- which `ezk setup` runs before step 01 touches a host.)

-- The values steps 03 and 06 accept: a new network plugin or runtime adds
-- its name here (and its role to roles/steps.lua, and to roles/network).
local NETWORKS = { "calico", "flannel", "cilium", "kube-router", "kube-ovn", "host-gw", "none" }
local RUNTIMES = { "containerd", "docker" }

local HOSTS = { file = ezk.hosts_file, line = 0 }
local SETTINGS = { file = ezk.config_file or ezk.hosts_file, line = 0 }
local groups = ezk.groups

-- ---- groups
if #(groups.kube_master or {}) == 0 then ezk.error(HOSTS, "the [kube_master] group has no hosts") end
for _, h in ipairs(groups.ungrouped or {}) do
  ezk.warning(ezk.host_at(h), "host " .. h .. " is in no group: ezk will not use it")
end

-- ---- kubeasz's example config.yml carries version placeholders
-- ("__calico__") that `ezctl new` fills in; a config copied by hand keeps them
for _, e in ipairs(ezk.config()) do
  local p = type(e.value) == "string" and e.value:match("(__[a-z0-9_]-[a-z0-9]__)")
  if p then
    ezk.warning(e.where, e.key .. " holds the placeholder '" .. p ..
      "' that 'ezctl new' fills in: set a real value")
  end
end

if #ezk.hosts == 0 then return end

-- a variable of a host: value, where; nil when unset (said when required)
-- or when it cannot be evaluated (that error is `ezk check`'s already)
local function var(h, name, required)
  local v, at, err = ezk.var(h, name)
  if err then return nil end
  if v == nil and required then ezk.error(SETTINGS, name .. " is not set (hosts' [all:vars] or config.yml)") end
  return v, at
end

-- ---- one of the supported values
local function one_of(name, allowed)
  for _, h in ipairs(ezk.hosts) do
    local v, at = var(h, name, true)
    if v ~= nil then
      local ok = false
      for _, a in ipairs(allowed) do ok = ok or v == a end
      if not ok then
        ezk.error(at, name .. " '" .. tostring(v) .. "' is not supported (one of: " ..
          table.concat(allowed, ", ") .. ")")
      end
    end
  end
end
one_of("CLUSTER_NETWORK", NETWORKS)
one_of("CONTAINER_RUNTIME", RUNTIMES)

-- ---- networks: a comma-separated list each (dual stack)
local function cidrs(name)
  local v, at = var(ezk.hosts[1], name, true)
  if v == nil then return {}, at end
  if type(v) ~= "string" then
    ezk.error(at, name .. " must be a string like 10.68.0.0/16")
    return {}, at
  end
  local nets = {}
  for t in v:gmatch("[^,]+") do
    t = t:match("^%s*(.-)%s*$")
    local n = t:find("/", 1, true) and ezk.net(t)
    if n then nets[#nets + 1] = n
    else
      ezk.error(at, name .. ": '" .. t .. "' is not a network address with a prefix length (like 10.68.0.0/16)")
    end
  end
  return nets, at
end
local svc, svc_at = cidrs("SERVICE_CIDR")
local pod, pod_at = cidrs("CLUSTER_CIDR")
for _, s in ipairs(svc) do
  for _, p in ipairs(pod) do
    if s:overlaps(p) then ezk.error(pod_at, "CLUSTER_CIDR overlaps SERVICE_CIDR: they must be disjoint") end
  end
end
for _, h in ipairs(ezk.hosts) do
  local addr = h
  local ah = ezk.var(h, "ansible_host")
  if type(ah) == "string" then addr = ah end
  local a = ezk.net(addr)
  if a then
    for _, s in ipairs(svc) do
      if s:contains(a) then ezk.error(svc_at, "SERVICE_CIDR contains the address of host " .. h .. " (" .. addr .. ")") end
    end
    for _, p in ipairs(pod) do
      if p:contains(a) then ezk.error(pod_at, "CLUSTER_CIDR contains the address of host " .. h .. " (" .. addr .. ")") end
    end
  end
end
