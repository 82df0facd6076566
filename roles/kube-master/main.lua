-- kube-master (step 04, every master): kube-apiserver,
-- kube-controller-manager and kube-scheduler with kubeasz's flags, their
-- certificates and kubeconfigs (pointed at kube-lb, 127.0.0.1), and kubectl.
-- Nothing is restarted here: a component whose binary, unit, certificates
-- or kubeconfig changed is marked on the host (/var/lib/ezk/restart-pending/)
-- and kube-master/start, one master at a time, starts or restarts it and
-- waits until it answers, so the API stays up while the masters change.
--
-- Flags depend on the version installed (K8S_VER, which must be the version
-- of the binaries in $EZK_HOME/bin: kube-master/check says so): each row of
-- the tables below may say since/before which version it applies.

local vars, q = ezk.vars, ezk.q
local bin, ca = vars.bin_dir, vars.ca_dir
local ssl = ezk.cluster_dir .. "/ssl"
local ip = vars.inventory_hostname
local ver = vars.K8S_VER
local port = tostring(vars.SECURE_PORT or 6443)
local audit = vars.ENABLE_CLUSTER_AUDIT == true or vars.ENABLE_CLUSTER_AUDIT == "true"
local previous = ezk.stat_local(ssl .. "/ca-previous.pem") ~= nil
-- The controller-manager's CSR signer takes exactly one certificate, the
-- one its key signs with (more: "expected 1 certificate", and it exits).
-- While ezk kca-renew runs, ca.pem holds two CAs, the signing one first
-- (kca-renew/main.lua): the signer gets that one alone, in ca-signer.pem.
-- (asked once per phase: ca.pem changes between the phases of one run)
local renewal = ezk.stat_local(ssl .. "/kca-renew.state") and ezk.read_local(ssl .. "/kca-renew.state") or ""
local signer = ezk.once("kube-master: the signing CA " .. renewal, function()
  local text = ezk.stat_local(ssl .. "/ca.pem") and ezk.read_local(ssl .. "/ca.pem") or ""
  local certs = {}
  for c in text:gmatch("%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-.-%-%-%-%-%-END CERTIFICATE%-%-%-%-%-\n?") do
    certs[#certs + 1] = c
  end
  return #certs > 1 and certs[1] or ""
end)
if signer == "" then signer = nil end

local etcd = {}
for _, m in ipairs(vars.groups.etcd or {}) do etcd[#etcd + 1] = "https://" .. m .. ":2379" end
if #etcd == 0 then ezk.fail("[etcd] has no hosts: kube-apiserver needs etcd (step 02)") end

local APISERVER = {
  { "audit-policy-file", "/etc/kubernetes/audit/audit-policy.yaml", when = audit },
  { "audit-log-path", "/var/log/kubernetes/audit/audit.log", when = audit },
  { "audit-log-maxage", "30", when = audit },
  { "audit-log-maxbackup", "10", when = audit },
  { "audit-log-maxsize", "100", when = audit },
  { "allow-privileged", "true" },
  { "anonymous-auth", "false" },
  { "api-audiences", "api,istio-ca" },
  { "authorization-mode", "Node,RBAC" },
  { "bind-address", ip },
  { "client-ca-file", ca .. "/ca.pem" },
  { "endpoint-reconciler-type", "lease" },
  { "etcd-cafile", ca .. "/ca.pem" },
  { "etcd-certfile", ca .. "/kubernetes.pem" },
  { "etcd-keyfile", ca .. "/kubernetes-key.pem" },
  { "etcd-servers", table.concat(etcd, ",") },
  -- before 1.24 an unauthenticated port listens on 127.0.0.1:8080 unless
  -- told not to: any local user would be cluster-admin
  { "insecure-port", "0", before = "1.24" },
  { "kubelet-certificate-authority", ca .. "/ca.pem" },
  { "kubelet-client-certificate", ca .. "/kubernetes.pem" },
  { "kubelet-client-key", ca .. "/kubernetes-key.pem" },
  { "secure-port", port },
  { "service-account-issuer", "https://kubernetes.default.svc" },
  { "service-account-signing-key-file", ca .. "/ca-key.pem" },
  { "service-account-key-file", ca .. "/ca.pem" },
  -- the CAs ezk kca-renew replaced: the ServiceAccount tokens they signed
  -- stay valid (their keys sign nothing any more)
  { "service-account-key-file", ca .. "/ca-previous.pem", when = previous },
  { "service-cluster-ip-range", vars.SERVICE_CIDR },
  { "service-node-port-range", vars.NODE_PORT_RANGE },
  { "tls-cert-file", ca .. "/kubernetes.pem" },
  { "tls-private-key-file", ca .. "/kubernetes-key.pem" },
  { "requestheader-client-ca-file", ca .. "/ca.pem" },
  { "requestheader-allowed-names", "aggregator,system:aggregator:kube-apiserver" },
  { "requestheader-extra-headers-prefix", "X-Remote-Extra-" },
  { "requestheader-group-headers", "X-Remote-Group" },
  { "requestheader-username-headers", "X-Remote-User" },
  { "proxy-client-cert-file", ca .. "/aggregator-proxy.pem" },
  { "proxy-client-key-file", ca .. "/aggregator-proxy-key.pem" },
  { "enable-aggregator-routing", "true" },
  { "v", "2" },
}
local cm_kcfg = "/etc/kubernetes/kube-controller-manager.kubeconfig"
local CONTROLLER_MANAGER = {
  { "allocate-node-cidrs", "true" },
  { "authentication-kubeconfig", cm_kcfg },
  { "authorization-kubeconfig", cm_kcfg },
  { "bind-address", "0.0.0.0" },
  { "cluster-cidr", vars.CLUSTER_CIDR },
  { "cluster-name", "kubernetes" },
  { "cluster-signing-cert-file", ca .. (signer and "/ca-signer.pem" or "/ca.pem") },
  { "cluster-signing-key-file", ca .. "/ca-key.pem" },
  { "kubeconfig", cm_kcfg },
  { "leader-elect", "true" },
  { "node-cidr-mask-size", tostring(vars.NODE_CIDR_LEN or 24) },
  { "root-ca-file", ca .. "/ca.pem" },
  { "service-account-private-key-file", ca .. "/ca-key.pem" },
  { "service-cluster-ip-range", vars.SERVICE_CIDR },
  { "use-service-account-credentials", "true" },
  { "v", "2" },
}
local sch_kcfg = "/etc/kubernetes/kube-scheduler.kubeconfig"
local SCHEDULER = {
  { "authentication-kubeconfig", sch_kcfg },
  { "authorization-kubeconfig", sch_kcfg },
  { "bind-address", "0.0.0.0" },
  { "kubeconfig", sch_kcfg },
  { "leader-elect", "true" },
  { "v", "2" },
}

local COMPONENTS = {
  { name = "kube-apiserver", desc = "Kubernetes API Server", flags = APISERVER, notify = true,
    type = "notify", nofile = "65536", after = "network.target",
    -- before 1.27 a stopping API server waits out its 60 s shutdown timeout
    -- for the watch streams it serves (they never end by themselves), so
    -- every restart took a minute; requests that are not watches finish in
    -- seconds, and kube-master/start has already turned new connections
    -- away: stopped after 15 s (1.27 ends watches at shutdown itself)
    stop_timeout = not ezk.version_ge(ver, "1.27") and "15" or nil },
  { name = "kube-controller-manager", desc = "Kubernetes Controller Manager", flags = CONTROLLER_MANAGER },
  { name = "kube-scheduler", desc = "Kubernetes Scheduler", flags = SCHEDULER },
}

-- A changed input marks its component for kube-master/start.
local PENDING = "/var/lib/ezk/restart-pending/"
ezk.shared.kube_master = { pending = {} }
for _, c in ipairs(COMPONENTS) do
  ezk.handler(c.name .. " changed", function()
    command { title = c.name .. ": restart pending",
              cmd = "mkdir -p " .. PENDING .. " && : > " .. q(PENDING .. c.name) }
    ezk.shared.kube_master.pending[c.name] = true -- (under --check no marker is written)
  end)
end

-- ---- binaries
file { path = bin, state = "directory", mode = "0755" }
for _, b in ipairs({ "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl" }) do
  local src = ezk.home .. "/bin/" .. b
  if not ezk.stat_local(src) and ezk.tagged({ "bin" }) then
    ezk.fail(src .. " is missing: put the Kubernetes binaries to install in " .. ezk.home ..
             "/bin (scripts/bin-from-debian.sh, or an offline bundle: ezk bundle import)")
  end
  copy { dest = bin .. "/" .. b, src = src, mode = "0755", tags = "bin",
         notify = b ~= "kubectl" and (b .. " changed") or nil }
end

-- ---- certificates: who reads what
file { path = ca, state = "directory", mode = "0755" }
local ALL = { "kube-apiserver changed", "kube-controller-manager changed", "kube-scheduler changed" }
local CERTS = {
  { "ca.pem", "0644", ALL },
  { "ca-key.pem", "0600", { "kube-apiserver changed", "kube-controller-manager changed" } },
  { "kubernetes.pem", "0644", { "kube-apiserver changed" } },
  { "kubernetes-key.pem", "0600", { "kube-apiserver changed" } },
  { "aggregator-proxy.pem", "0644", { "kube-apiserver changed" } },
  { "aggregator-proxy-key.pem", "0600", { "kube-apiserver changed" } },
  previous and { "ca-previous.pem", "0644", { "kube-apiserver changed" } } or nil,
}
if signer then
  copy { dest = ca .. "/ca-signer.pem", content = signer, mode = "0644", notify = "kube-controller-manager changed",
         tags = "certs" }
elseif renewal ~= "" then -- (the renewal's last phase: ca.pem is one CA again)
  file { path = ca .. "/ca-signer.pem", state = "absent", tags = "certs" }
end
for _, c in ipairs(CERTS) do
  local src = ssl .. "/" .. c[1]
  if ezk.stat_local(src) or not ezk.check then
    copy { dest = ca .. "/" .. c[1], src = src, mode = c[2], notify = c[3], tags = "certs" }
  else -- --check on a new cluster: kube-master/cert of this run would make it
    if ezk.tagged({ "certs" }) then
      ezk.report("copy " .. ca .. "/" .. c[1], "changed", "would copy " .. src .. " (made by this run)")
    end
    for _, n in ipairs(c[3]) do ezk.shared.kube_master.pending[n:gsub(" changed$", "")] = true end
  end
end

-- ---- kubeconfigs of the controller-manager and the scheduler, through
-- kube-lb on this host
file { path = "/etc/kubernetes", state = "directory", mode = "0755" }
for _, k in ipairs({ "kube-controller-manager", "kube-scheduler" }) do
  local src = ezk.cluster_dir .. "/" .. k .. ".kubeconfig"
  local text = ezk.stat_local(src) and ezk.read_local(src)
  if text then
    text = text:gsub("\n    server: [^\n]*", "\n    server: https://127.0.0.1:" .. port, 1)
    copy { title = "copy /etc/kubernetes/" .. k .. ".kubeconfig", dest = "/etc/kubernetes/" .. k .. ".kubeconfig",
           content = text, mode = "0600", notify = k .. " changed", tags = "certs" }
  elseif not ezk.tagged({ "certs" }) then -- (-t config, --skip-tags certs: not this run's)
  elseif ezk.check then -- --check on a new cluster: step 01 of this run makes it
    ezk.report("copy /etc/kubernetes/" .. k .. ".kubeconfig", "changed", "would copy " .. src .. " (made by this run)")
  else
    ezk.fail(src .. " is missing: run step 01 first ('ezk setup <cluster> 01')")
  end
end

-- ---- audit
if audit then
  file { path = "/etc/kubernetes/audit", state = "directory", mode = "0755" }
  file { path = "/var/log/kubernetes/audit", state = "directory", mode = "0700" }
  template { src = "audit-policy.yaml.j2", dest = "/etc/kubernetes/audit/audit-policy.yaml",
             mode = "0644", notify = "kube-apiserver changed", tags = "config" }
end

-- ---- units
for _, c in ipairs(COMPONENTS) do
  systemd_unit { name = c.name .. ".service", template = "component.service.j2",
                 notify = c.name .. " changed", tags = "config",
                 vars = { unit_desc = c.desc, unit_bin = bin .. "/" .. c.name,
                          unit_flags = ezk.flags(c.flags, ver), unit_type = c.type or "",
                          unit_nofile = c.nofile or "", unit_after = c.after or "",
                          unit_stop_timeout = c.stop_timeout or "" } }
  service { name = c.name, enabled = true }
end
