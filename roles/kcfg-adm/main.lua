-- kcfg-adm (ezk kcfg-adm, on the deploy node): a user's kubeconfig, as
-- ezctl kcfg-adm makes them.
--   KCFG_ACTION=add: a client certificate for KCFG_USER (CN the user, O
--     k8s), signed by the cluster's CA, living KCFG_EXPIRY, in
--     ssl/<user>.pem (key 0600; beside the CA, which signs only in its own
--     folder); the kubeconfig
--     users/<user>.kubeconfig (the first master, CLUSTER_NAME); and the
--     ClusterRoleBinding crb-<user> to cluster-admin (KCFG_ROLE admin) or
--     view, kept as users/<user>.yaml, whose first lines say the role and
--     the expiry (`ezk kcfg-adm -L` reads them).
--   KCFG_ACTION=del: the binding is deleted (what the user may do goes
--     with it: a certificate cannot be revoked, only left without rights)
--     and the files removed.
local vars, q = ezk.vars, ezk.q
local user, action = vars.KCFG_USER, vars.KCFG_ACTION
local ssl, users = ezk.cluster_dir .. "/ssl", ezk.cluster_dir .. "/users"
local kubectl = q(ezk.home .. "/bin/kubectl") .. " --kubeconfig=" .. q(ezk.cluster_dir .. "/kubectl.kubeconfig")
local manifest = users .. "/" .. user .. ".yaml"

if action == "del" then
  command { title = "clusterrolebinding crb-" .. user .. " deleted",
            unless = "[ -z \"$(" .. kubectl .. " get clusterrolebinding " .. q("crb-" .. user) ..
              " -o name --ignore-not-found)\" ]",
            cmd = kubectl .. " delete clusterrolebinding " .. q("crb-" .. user) }
  for _, f in ipairs({ ssl .. "/" .. user .. ".pem", ssl .. "/" .. user .. "-key.pem",
                       users .. "/" .. user .. ".kubeconfig", manifest }) do
    file { path = f, state = "absent" }
  end
  return
end
if action ~= "add" then ezk.fail("KCFG_ACTION is add or del, not " .. tostring(action)) end

local role = ({ admin = "cluster-admin", view = "view" })[vars.KCFG_ROLE]
if not role then ezk.fail("KCFG_ROLE is admin or view, not " .. tostring(vars.KCFG_ROLE)) end
local masters = vars.groups.kube_master or {}
file { path = users, state = "directory", mode = "0700" }
local c = cert { name = user, profile = "client", cn = user, o = "k8s",
                 expiry = vars.KCFG_EXPIRY, algo = vars.CERT_KEY_ALGO or "rsa" }
kubeconfig { dest = users .. "/" .. user .. ".kubeconfig", cert = user,
             cluster = vars.CLUSTER_NAME or "cluster1", user = user, context = (vars.CLUSTER_NAME or "cluster1") ..
               "-" .. user, server = "https://" .. masters[1] .. ":" .. tostring(vars.SECURE_PORT or 6443) }
local expires = c.not_after and os.date("!%Y-%m-%d %H:%M UTC", c.not_after) or "?"
copy { dest = manifest, mode = "0600", content = table.concat({
  "# ezk kcfg-adm: user " .. user,
  "# role: " .. vars.KCFG_ROLE,
  "# expires: " .. expires,
  "apiVersion: rbac.authorization.k8s.io/v1",
  "kind: ClusterRoleBinding",
  "metadata:",
  "  name: crb-" .. user,
  "roleRef:",
  "  apiGroup: rbac.authorization.k8s.io",
  "  kind: ClusterRole",
  "  name: " .. role,
  "subjects:",
  "- kind: User",
  "  name: " .. user,
  "  apiGroup: rbac.authorization.k8s.io",
  "" }, "\n") }
command { title = "clusterrolebinding crb-" .. user .. " (" .. role .. ")",
          unless = kubectl .. " get clusterrolebinding " .. q("crb-" .. user) .. " -o name",
          cmd = kubectl .. " apply -f " .. q(manifest) }
