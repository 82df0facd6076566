-- cluster-addon/check.lua: the add-on settings of config.yml, for `ezk
-- check` and before step 07 runs (core/check.h). Step 07 runs on the deploy
-- node: its variables are localhost's (ezk.var(nil, ...)).
--
-- kubeasz's switches are strings compared with "yes": an unquoted yes is a
-- YAML boolean, which kubeasz takes for "no" without a word; here it is an
-- error. The add-ons kubeasz has and ezk does not install yet are warnings
-- when switched on. NodeLocal DNSCache needs an address of its own.

local SETTINGS = { file = ezk.config_file or ezk.hosts_file, line = 0 }

local function var(name)
  local v, at, err = ezk.var(nil, name)
  if err then return nil end
  return v, at or SETTINGS
end

-- the switches step 07 installs, and kubeasz's others (ezk: not yet)
local SWITCHES = { "dns_install", "metricsserver_install", "headlamp_install", "local_path_provisioner_install" }
local NOT_YET = {
  { "nfs_provisioner_install", "nfs-provisioner" },
  { "openebs_install", "openebs" },
  { "prom_install", "the prometheus stack" },
  { "node_problem_detector_install", "node-problem-detector" },
  { "kubeblocks_install", "kubeblocks" },
  { "higress_install", "higress" },
  { "ingress_nginx_install", "ingress-nginx" },
  { "argocd_install", "argocd" },
}

local function switch(name)
  local v, at = var(name)
  if v == nil or v == "yes" or v == "no" then return v end
  if type(v) == "boolean" then
    ezk.error(at, name .. " is " .. tostring(v) .. " (a YAML boolean): kubeasz compares it with the string " ..
      "\"yes\" and would take it for \"no\": write \"yes\" or \"no\", quoted")
  else
    ezk.error(at, name .. " is '" .. tostring(v) .. "': \"yes\" or \"no\"")
  end
  return nil
end

for _, s in ipairs(SWITCHES) do switch(s) end
for _, s in ipairs(NOT_YET) do
  if switch(s[1]) == "yes" then
    local _, at = var(s[1])
    ezk.warning(at, s[1] .. " is \"yes\" but ezk does not install " .. s[2] .. " yet (step 07 installs coredns, " ..
      "nodelocaldns, metrics-server, headlamp and local-path-provisioner): it is ignored")
  end
end
do
  local v, at = var("network_check_enabled")
  if v == true or v == "true" or v == "yes" then
    ezk.warning(at, "network_check_enabled is on but ezk does not install kubeasz's network-check yet: it is ignored")
  end
end

-- ENABLE_LOCAL_DNS_CACHE: Ansible's `| bool`
local BOOL = { ["true"] = true, yes = true, on = true, ["1"] = true, y = true,
               ["false"] = false, no = false, off = false, ["0"] = false, n = false }
local cache, cache_at = var("ENABLE_LOCAL_DNS_CACHE")
if cache ~= nil and type(cache) ~= "boolean" then
  local b = BOOL[tostring(cache):lower()]
  if b == nil then
    ezk.error(cache_at, "ENABLE_LOCAL_DNS_CACHE is '" .. tostring(cache) .. "': true or false")
  end
  cache = b
end

if cache then
  local ip, ip_at = var("LOCAL_DNS_CACHE")
  local a = type(ip) == "string" and not ip:find("/", 1, true) and ezk.net(ip)
  if ip == nil then
    ezk.error(SETTINGS, "ENABLE_LOCAL_DNS_CACHE is on but LOCAL_DNS_CACHE is not set (kubeasz: 169.254.20.10)")
  elseif not a or a.family ~= 4 then
    ezk.error(ip_at, "LOCAL_DNS_CACHE '" .. tostring(ip) .. "' is not an IPv4 address (kubeasz: 169.254.20.10)")
  else
    -- the cache's address is bound on every node: it must be nobody else's
    local inside = false
    for _, n in ipairs({ "SERVICE_CIDR", "CLUSTER_CIDR" }) do
      local v = var(n)
      for t in tostring(v or ""):gmatch("[^,%s]+") do
        local net = ezk.net(t)
        if net and net.family == 4 and net:contains(a) then
          inside = true
          ezk.error(ip_at, "LOCAL_DNS_CACHE " .. ip .. " is inside " .. n .. " (" .. t .. "): use a " ..
            "link-local address such as 169.254.20.10")
        end
      end
    end
    if not inside and not ezk.net("169.254.0.0/16"):contains(a) then
      ezk.warning(ip_at, "LOCAL_DNS_CACHE " .. ip .. " is not link-local (169.254.0.0/16): every node binds " ..
        "it, so it must be an address nothing else uses (kubeasz: 169.254.20.10)")
    end
  end
  if var("dns_install") == "no" then
    local _, at = var("dns_install")
    ezk.warning(at, "ENABLE_LOCAL_DNS_CACHE is on and dns_install is \"no\": the node caches forward the " ..
      "cluster's names to pods labelled k8s-app=kube-dns, which only your own DNS would provide")
  end
end

-- what the manifests take as words of their own (image tags, the DNS
-- domain in the Corefile) and the provisioner's folder: a value YAML or the
-- Corefile would split is refused (roles/lib/checks/written.lua)
local written = dofile(ezk.lib_dir .. "/checks/written.lua")
written("deploy", "the add-ons' manifests", {
  { "CLUSTER_DNS_DOMAIN", "word" },
  { "corednsVer", "word" },
  { "dnsNodeCacheVer", "word" },
  { "metricsVer", "word" },
  { "headlampVer", "word" },
  { "local_path_provisioner_ver", "word" },
  { "local_path_provisioner_dir", "word", path = true },
})
