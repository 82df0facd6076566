-- calico (step 06, CLUSTER_NETWORK "calico", a play on localhost: the deploy
-- node), as kubeasz's calico role does with calico's etcd datastore:
--   * the certificate `calico` (CN calico, O k8s; server and client auth, as
--     kubeasz's "kubernetes" profile), signed by the cluster's CA in
--     clusters/<c>/ssl/ (tag certs): calico-node, calico-kube-controllers and
--     the CNI plugin are etcd clients. Reused while good, like every
--     certificate of ezk's (roles/lib/cert.lua); its key is 0600.
--   * the Secret kube-system/calico-etcd-secrets (etcd-ca, etcd-cert,
--     etcd-key: the CA and that certificate), applied when it changed
--     (kubeasz deletes and creates it on every run); the copy of it last
--     applied is 0600, it holds the key. When it changed on a cluster where
--     it had been applied before (a certificate reissued: ezk kca-renew's
--     three phases, or one near its end), calico-node and
--     calico-kube-controllers are restarted and waited for: they read it
--     when they start, and the next phase of a renewal restarts etcd.
--   * calico's manifest rendered into clusters/<c>/yml/calico.yaml (tags
--     config and apply) and applied with the deploy node's kubectl (tag
--     apply, kube_apply: only when it changed or an object is missing;
--     roles/lib/manifest.lua).
-- The nodes' part (the certificate in /etc/calico/ssl for the CNI plugin,
-- calicoctl and its config, the default bridge config removed once
-- calico's is in place) is calico/node, in the step's next play; route
-- reflectors (CALICO_RR_ENABLED) are calico/rr, in the play after.
--
-- What config.yml decides: CALICO_NETWORKING_BACKEND (bird, vxlan, none),
-- CALICO_ENABLE_OVERLAY (the default pool's IPIP with bird, VXLAN with
-- vxlan: Always, CrossSubnet, Never), IP_AUTODETECTION_METHOD, CLUSTER_CIDR
-- (the default pool), NODE_PORT_RANGE, calico_ver (the images' tag) and
-- calico_ver_main, which picks the manifest as kubeasz picks its template
-- calico-<calico_ver_main>.yaml.j2: v3.26, v3.28 or v3.32 (what differs is
-- in calico.yaml.j2, by the flags v326 and v332). The etcd endpoints are
-- every [etcd] member's, as kubeasz's ETCD_ENDPOINTS. Images: the offline
-- bundle's (easzlab.io.local:5000/easzlab/{cni,node,kube-controllers}).

local vars, q = ezk.vars, ezk.q
if vars.CLUSTER_NETWORK ~= "calico" then return end

local ssl = ezk.cluster_dir .. "/ssl"

-- the manifests kubeasz 3.7 has (calico_ver_main: "v3.32" of "v3.32.1")
local MAIN = { ["v3.26"] = true, ["v3.28"] = true, ["v3.32"] = true }
local main = tostring(vars.calico_ver_main)
if not MAIN[main] then
  ezk.fail("calico_ver_main '" .. main .. "' (calico_ver " .. tostring(vars.calico_ver) .. "): ezk has calico's " ..
           "manifest for v3.26, v3.28 and v3.32, as kubeasz 3.7")
end

local endpoints = {}
for _, m in ipairs(vars.groups.etcd or {}) do endpoints[#endpoints + 1] = "https://" .. m .. ":2379" end
ezk.shared.calico = { endpoints = table.concat(endpoints, ",") }

-- ---- the certificate and the Secret
if ezk.tagged({ "certs", "apply" }) and not ezk.stat_local(ssl .. "/ca.pem") and not ezk.check then
  ezk.fail("no CA (" .. ssl .. "/ca.pem): run step 01 first ('ezk setup <cluster> 01')")
end
cert { name = "calico", profile = "peer", cn = "calico", o = "k8s", expiry = vars.CERT_EXPIRY,
       algo = vars.CERT_KEY_ALGO or "rsa", tags = { "certs", "apply" } }

-- ---- the manifest
local manifest = ezk.manifest_render("calico", {
  ETCD_ENDPOINTS = ezk.shared.calico.endpoints,
  v326 = main == "v3.26",
  v332 = main == "v3.32",
})

if not ezk.tagged({ "apply", "certs" }) then return end
ezk.deploy_kubectl({ "apply", "certs" })

-- the Secret from the files (under --check on a new cluster the
-- certificate is this run's: it would be applied)
local files, missing, restart = {}, nil, false
for _, f in ipairs({ { "etcd-ca", "ca.pem" }, { "etcd-cert", "calico.pem" }, { "etcd-key", "calico-key.pem" } }) do
  local data = ezk.stat_local(ssl .. "/" .. f[2]) and ezk.read_local(ssl .. "/" .. f[2])
  if not data then missing = ssl .. "/" .. f[2] break end
  files[#files + 1] = "  " .. f[1] .. ": " .. ezk.base64(data)
end
if missing and ezk.check then
  ezk.report("kubectl apply calico-etcd-secrets", "changed", "would apply (" .. missing .. " made by this run)")
elseif missing then
  ezk.fail(missing .. " is missing (the certificate task above makes it)")
else
  local secret = table.concat({
    "# calico's etcd client certificate: written by ezk (step 06, CLUSTER_NETWORK calico)",
    "apiVersion: v1", "kind: Secret", "type: Opaque",
    "metadata: {name: calico-etcd-secrets, namespace: kube-system}", "data:",
  }, "\n") .. "\n" .. table.concat(files, "\n") .. "\n"
  local before = ezk.stat_local(ezk.cluster_dir .. "/yml/.applied/calico-etcd-secrets.yaml")
  local r = ezk.manifest_apply("calico-etcd-secrets", secret, { record_mode = "0600", tags = { "apply", "certs" } })
  -- (in ezk kca-renew's first phase kca-renew/clients restarts every API
  -- client of kube-system next, calico's among them: once is enough)
  local renewing = (ezk.read_local(ssl .. "/kca-renew.state") or ""):match("^trust")
  restart = before and r and r.changed and not r.failed and not renewing
end
ezk.manifest_apply("calico", manifest)
if restart then
  local kubectl = q(ezk.home .. "/bin/kubectl") .. " --kubeconfig=" .. q(ezk.cluster_dir .. "/kubectl.kubeconfig") ..
    " -n kube-system "
  -- a DaemonSet rolls one node at a time
  local nodes = #(vars.groups.kube_master or {}) + #(vars.groups.kube_node or {})
  local timeout = (tonumber(vars.CALICO_READY_TIMEOUT) or 180) * math.max(nodes, 1)
  command { title = "restart calico-node, calico-kube-controllers (calico-etcd-secrets changed)",
            tags = { "apply", "certs" }, timeout = timeout + 30,
            cmd = kubectl .. "rollout restart daemonset/calico-node deployment/calico-kube-controllers && " ..
              kubectl .. "rollout status daemonset/calico-node --timeout=" .. timeout .. "s && " ..
              kubectl .. "rollout status deployment/calico-kube-controllers --timeout=" .. timeout .. "s" }
end
