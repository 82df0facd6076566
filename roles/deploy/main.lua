-- deploy (step 01, on the deploy node): the CA, the admin certificate and
-- the kubeconfigs of kubectl, kube-controller-manager, kube-scheduler and
-- kube-proxy, in the cluster's folder with kubeasz's names. Certificates are
-- kept while they are good (cert.lua says when they are reissued); a
-- kubeconfig is rewritten only when what it holds changed.

local vars = ezk.vars
local algo = vars.CERT_KEY_ALGO or "rsa"
local expiry = vars.CERT_EXPIRY

cert { name = "ca", profile = "ca", cn = "kubernetes-ca", o = "k8s", expiry = vars.CA_EXPIRY,
       algo = algo, force = vars.CHANGE_CA == true }

-- client certificates: { file name, CN, O, kubeconfig user, kubeconfig }
local clients = {
  { "admin", "admin", "system:masters" },
  { "kube-controller-manager", "system:kube-controller-manager", "system:kube-controller-manager" },
  { "kube-scheduler", "system:kube-scheduler", "system:kube-scheduler" },
  { "kube-proxy", "system:kube-proxy", "k8s" },
}
for _, c in ipairs(clients) do
  cert { name = c[1], profile = "client", cn = c[2], o = c[3], expiry = expiry, algo = algo }
end

-- kubeconfigs point at the first master (kubeasz: the components' own are
-- pointed at 127.0.0.1 on their hosts when they are installed)
local masters = vars.groups.kube_master or {}
if #masters == 0 then
  ezk.debug("deploy: [kube_master] is empty: no kubeconfigs")
  return
end
local server = "https://" .. masters[1] .. ":" .. tostring(vars.SECURE_PORT or 6443)
kubeconfig { dest = ezk.cluster_dir .. "/kubectl.kubeconfig", cert = "admin",
             cluster = vars.CLUSTER_NAME, user = "admin", context = vars.CONTEXT_NAME, server = server }
for _, c in ipairs({ { "kube-controller-manager", "system:kube-controller-manager" },
                     { "kube-scheduler", "system:kube-scheduler" },
                     { "kube-proxy", "kube-proxy" } }) do
  kubeconfig { dest = ezk.cluster_dir .. "/" .. c[1] .. ".kubeconfig", cert = c[1],
               cluster = "kubernetes", user = c[2], context = "default", server = server }
end
