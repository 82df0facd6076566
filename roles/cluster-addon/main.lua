-- cluster-addon (step 07, a play on localhost: the deploy node): kubeasz's
-- add-ons, each switched on in config.yml, rendered into
-- clusters/<c>/yml/<add-on>.yaml (tags config and apply) and applied with the deploy
-- node's kubectl and the admin kubeconfig (tag apply), in kubeasz's order:
--
--   coredns                 dns_install: "yes"             the cluster's DNS, Service kube-dns
--   nodelocaldns            ENABLE_LOCAL_DNS_CACHE: true   a DNS cache on every node
--   metrics-server          metricsserver_install: "yes"   metrics.k8s.io (kubectl top)
--   headlamp                headlamp_install: "yes"        kubeasz 3.7's dashboard
--   local-path-provisioner  local_path_provisioner_install: "yes"   a local-path StorageClass
--
-- An add-on is applied when its manifest differs from the one last applied
-- (clusters/<c>/yml/.applied/) or when one of its objects is missing from
-- the cluster (kube_apply): a rerun on an unchanged cluster applies
-- nothing. An add-on switched off is not applied, and what an earlier run
-- applied stays in the cluster, as with kubeasz (a warning says how to
-- remove it). The templates only render; what depends on the Kubernetes
-- version is in FEATURES below.

local vars, q = ezk.vars, ezk.q
local ver = vars.K8S_VER
local yml = ezk.cluster_dir .. "/yml"

-- ---- the version table: fields a Kubernetes version has, by K8S_VER
local function has(since) return ezk.version_ge(ver, since) end
local FEATURES = {
  -- PodSpec.hostUsers (user namespaces, 1.25): the headlamp chart sets it;
  -- an older API server's schema has no such field and kubectl refuses it
  host_users = has("1.25"),
}

-- kubeasz's two kinds of switch: `x_install == "yes"` (a string: an
-- unquoted yes is a YAML boolean, which kubeasz does not take for "yes";
-- ezk check says so) and Ansible's `| bool`
local function yes(v) return v == "yes" end
local function bool(v)
  if type(v) == "boolean" then return v end
  if type(v) == "number" then return v == 1 end
  local s = tostring(v or ""):lower()
  return s == "true" or s == "yes" or s == "on" or s == "1" or s == "y"
end

-- CLUSTER_DNS_SVC_IP: SERVICE_CIDR's second address (kubeasz's; the
-- kubelets' clusterDNS when there is no local cache, step 05)
local svc = tostring(vars.SERVICE_CIDR):match("^%s*([^,]+)")
local net, err = ezk.net(ezk.trim(svc or ""))
if not net then ezk.fail("SERVICE_CIDR '" .. tostring(vars.SERVICE_CIDR) .. "': " .. tostring(err)) end

local headlamp_version = tostring(vars.headlampVer or ""):gsub("^v", "")
local extra = {
  features = FEATURES,
  CLUSTER_DNS_SVC_IP = net:host(2),
  nodelocaldns_ipvs = vars.PROXY_MODE == "ipvs",
  headlamp_version = headlamp_version,
}

local ADDONS = {
  { name = "coredns", switch = "dns_install", on = yes(vars.dns_install) },
  { name = "nodelocaldns", switch = "ENABLE_LOCAL_DNS_CACHE", on = bool(vars.ENABLE_LOCAL_DNS_CACHE) },
  { name = "metrics-server", switch = "metricsserver_install", on = yes(vars.metricsserver_install) },
  { name = "headlamp", switch = "headlamp_install", on = yes(vars.headlamp_install) },
  { name = "local-path-provisioner", switch = "local_path_provisioner_install",
    on = yes(vars.local_path_provisioner_install) },
}

local function record(a) return yml .. "/.applied/" .. a.name .. ".yaml" end

-- ---- render (tags config and apply)
local any = false
for _, a in ipairs(ADDONS) do
  any = any or a.on or ezk.stat_local(record(a)) ~= nil
  if a.on then
    -- (tagged apply too: what is applied is always what yml/ shows)
    a.manifest = ezk.manifest_render(a.name, extra)
  end
end

-- ---- apply (tag apply)
if not any or not ezk.tagged({ "apply" }) then return end
local kc = ezk.deploy_kubectl()
for _, a in ipairs(ADDONS) do
  if a.on then
    ezk.manifest_apply(a.name, a.manifest)
  elseif ezk.stat_local(record(a)) then
    -- off now, applied before: left in the cluster (kubeasz never removes
    -- an add-on either); said as long as its objects are there
    local g = ezk.exec(kc .. " get -f " .. q(record(a)) .. " -o name")
    if g.rc == 0 then
      ezk.warn(a.name .. " is off (" .. a.switch .. ": " .. tostring(vars[a.switch]) .. ") but what ezk applied " ..
               "earlier is still in the cluster: ezk leaves it there; to remove it: kubectl delete -f " .. record(a))
    end
  end
end
