-- kca-renew/clients (on the deploy node, at the end of the "trust both"
-- phase, after step 06's plays): the cluster's own API clients restarted
-- while every certificate is still the old CA's.
--
-- A pod reaches the API with its ServiceAccount's token and ca.crt (the
-- token Secret's, or the kube-root-ca.crt ConfigMap's from 1.22), which
-- kube-controller-manager fills in from its --root-ca-file: since this
-- phase restarted it, the old CA and the new one. But client-go reads
-- ca.crt once, when the process starts (kubernetes/kubernetes#119483):
-- coredns, metrics-server, the network plugin's controllers would trust
-- the old CA alone, and from the next phase on, when the API servers
-- present the new CA's certificate, fail at their next connection. So,
-- as Kubernetes' "manual rotation of CA certificates" says, they restart
-- now: once the ServiceAccounts' ca.crt holds both CAs, every Deployment
-- and DaemonSet of kube-system (ezk's add-ons and network plugin live
-- there) is restarted (kubectl rollout restart), and those that had pods
-- ready are waited for, so the next phase starts with their new pods (an
-- object with no pod ready, an image not there, is restarted but not
-- waited for). kubeasz deletes and applies its add-ons again instead. Pods
-- of the user's own namespaces are left alone: the run ends saying how to
-- restart those that use the API.
local vars, q = ezk.vars, ezk.q
local ssl = ezk.cluster_dir .. "/ssl"
local state = ezk.read_local(ssl .. "/kca-renew.state") or ""
if not state:match("^trust") then return end

local kubectl = q(ezk.home .. "/bin/kubectl") .. " --kubeconfig=" .. q(ezk.cluster_dir .. "/kubectl.kubeconfig") ..
  " --request-timeout=20s -n kube-system"
local timeout = tonumber(vars.KCA_RENEW_CLIENTS_TIMEOUT) or 300

-- the ServiceAccounts' ca.crt: kube-system's token Secrets (before 1.24)
-- and its kube-root-ca.crt ConfigMap (from 1.20), each the bundle
wait_for {
  title = "kube-system's ServiceAccounts trust the old CA and the new one", timeout = 120, sleep = 1,
  cmd = "ca=$(cat " .. q(ssl .. "/ca.pem") .. ") && b64=$(base64 -w0 " .. q(ssl .. "/ca.pem") .. ") && " ..
    "cm=$(" .. kubectl .. " get configmap kube-root-ca.crt -o jsonpath='{.data.ca\\.crt}' 2>/dev/null) && " ..
    "{ [ -z \"$cm\" ] || [ \"$cm\" = \"$ca\" ]; } && " ..
    "s=$(" .. kubectl .. " get secrets --field-selector type=kubernetes.io/service-account-token " ..
    "-o jsonpath='{range .items[*]}{.data.ca\\.crt}{\"\\n\"}{end}') && " ..
    "! printf '%s\\n' \"$s\" | grep -v '^$' | grep -qvxF \"$b64\"",
}

local list = command {
  title = "kube-system's Deployments and DaemonSets", check_mode = false, changed_when = false,
  cmd = kubectl .. " get deployments,daemonsets -o jsonpath='{range .items[*]}{.kind}/{.metadata.name} " ..
    "{.status.readyReplicas}{.status.numberReady}{\"\\n\"}{end}'",
}
if list.failed then return end
local all, ready = {}, {}
for kind, name, n in (list.stdout or ""):gmatch("(%a+)/(%S+) *(%d*)\n") do
  local obj = kind:lower() .. "/" .. name
  all[#all + 1] = obj
  if (tonumber(n) or 0) > 0 then ready[#ready + 1] = obj end
end
if #all > 0 then
  local cmd = kubectl .. " rollout restart " .. table.concat(all, " ")
  for _, o in ipairs(ready) do
    cmd = cmd .. " && " .. kubectl .. " rollout status " .. o .. " --timeout=" .. timeout .. "s"
  end
  command { title = "restart kube-system's API clients (" .. #all .. ", " .. #ready .. " with pods ready)",
            timeout = timeout * math.max(#ready, 1) + 60, cmd = cmd }
end
ezk.warn("pods of your own namespaces that use the Kubernetes API with their ServiceAccount trust the old CA " ..
         "alone (they read it when they started) and fail at their next connection from the renewal's next phase " ..
         "on: restart them (kubectl -n <namespace> rollout restart deployment/<name>)")
