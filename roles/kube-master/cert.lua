-- kube-master/cert (step 04, on the deploy node): the API server's
-- certificate `kubernetes` (serving, and its client certificate towards
-- etcd and the kubelets) and `aggregator-proxy` (its client certificate
-- towards aggregated APIs), with kubeasz's names and subjects. Reused while
-- good; a new name (a master, MASTER_CERT_HOSTS, the ex-lb VIP) reissues
-- `kubernetes`, and the masters then restart one at a time (kube-master/start).

local vars = ezk.vars
local masters = vars.groups.kube_master or {}
if #masters == 0 then ezk.fail("[kube_master] in " .. ezk.cluster_dir .. "/hosts has no hosts: step 04 needs one") end
ezk.k8s_version_check()
if not ezk.stat_local(ezk.cluster_dir .. "/ssl/ca.pem") and not ezk.check and ezk.tagged({ "certs" }) then
  ezk.fail("no CA (" .. ezk.cluster_dir .. "/ssl/ca.pem): run step 01 first ('ezk setup <cluster> 01')")
end

local names, seen = {}, {}
local function add(n)
  n = tostring(n)
  if n ~= "" and not seen[n] then seen[n] = true names[#names + 1] = n end
end
add("127.0.0.1")
for _, lb in ipairs(vars.groups.ex_lb or {}) do
  add(ezk.hostvar(lb, "EX_APISERVER_VIP"))
end
for _, m in ipairs(masters) do add(m) end
add(assert(ezk.net(vars.SERVICE_CIDR)):host(1))
for _, h in ipairs(ezk.list(vars.MASTER_CERT_HOSTS)) do add(h) end
local domain = vars.CLUSTER_DNS_DOMAIN or "cluster.local"
for _, n in ipairs({ "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                     "kubernetes.default.svc.cluster", "kubernetes.default.svc.cluster.local",
                     "kubernetes.default.svc." .. domain }) do
  add(n)
end

local algo, expiry = vars.CERT_KEY_ALGO or "rsa", vars.CERT_EXPIRY
cert { name = "kubernetes", profile = "peer", cn = "kubernetes", o = "k8s", hosts = names,
       expiry = expiry, algo = algo, tags = "certs" }
cert { name = "aggregator-proxy", profile = "client", cn = "aggregator", o = "k8s",
       expiry = expiry, algo = algo, tags = "certs" }
