-- pki: certificates and kubeconfigs, made on the deploy node (plays on
-- localhost) in the cluster's ssl/ folder, with kubeasz's file names.
--
--   cert { name = "ca", profile = "ca", cn = "kubernetes-ca", o = "k8s",
--          expiry = vars.CA_EXPIRY }
--   cert { name = "etcd", profile = "peer", cn = "etcd", o = "k8s",
--          hosts = { "127.0.0.1", "10.0.0.1" }, expiry = vars.CERT_EXPIRY }
--   kubeconfig { dest = ezk.cluster_dir .. "/kubectl.kubeconfig", cert = "admin",
--                cluster = "cluster1", user = "admin", context = "context-cluster1",
--                server = "https://10.0.0.1:6443" }
--
-- cert options:
--   name     file base: <dir>/<name>.pem and <dir>/<name>-key.pem (key 0600)
--   profile  "ca" (self-signed), "server", "client" or "peer" (server and
--            client auth): the key usages
--   cn, o    the subject; hosts: the SANs (addresses become IP SANs, other
--            names DNS SANs)
--   expiry   lifetime: "438000h", "90d", or a number of hours
--   algo     "rsa" (RSA 2048, the default) or "ecdsa" (P-256)
--   dir      default <cluster_dir>/ssl; ca: the signing CA's name ("ca")
--   force    reissue even when the current one is good (CHANGE_CA)
-- A certificate is reused while it is signed by the current CA, has the
-- asked-for subject, names, usages and key type, and more than 30 days
-- left; otherwise it is reissued with a fresh key, and the task's msg says
-- why. A CA is reused whenever it is there (only force replaces it).
-- The work is done in C (core/pki.c, libcrypto): ezk.pki_cert.
--
-- kubeconfig options: dest (written 0600, atomically), cluster, server,
-- user, context, ca (name of the CA certificate, "ca"), cert (the client
-- certificate's name in ssl/: its .pem and -key.pem are embedded), dir.
-- --diff shows the cluster, server, user and context, never the embedded
-- key.

local lines, text_diff = ezk.lines, ezk.text_diff

local function ssl_dir(a)
  return a.dir or (ezk.cluster_dir and (ezk.cluster_dir .. "/ssl"))
end

local function on_deploy_node(what)
  if ezk.host ~= "localhost" then
    return { failed = true, msg = what .. " runs on the deploy node: use it in a play on localhost" }
  end
end

ezk.module("cert", function(a, ctx)
  local bad = on_deploy_node("cert")
  if bad then return bad end
  local dir = ssl_dir(a)
  if not dir then return { failed = true, msg = "no cluster folder: dir is required" } end
  if not a.name or not a.cn then return { failed = true, msg = "name and cn are required" } end
  local r, err = ezk.pki_cert {
    dir = dir, name = a.name, ca = a.ca or "ca", cn = a.cn, o = a.o, hosts = a.hosts or {},
    expiry = a.expiry, algo = a.algo or "rsa", profile = a.profile or "peer",
    check = ctx.check, force = a.force == true,
  }
  if not r then return { failed = true, msg = tostring(err) } end
  local res = { changed = r.changed, msg = r.reason, not_after = r.not_after }
  if r.changed and ctx.diff then
    res.diff = text_diff("", a.name .. ".pem: " .. r.reason .. "\n", dir .. "/" .. a.name .. ".pem")
  end
  return res
end)

local function b64_file(path)
  local data, err = ezk.read_local(path)
  if not data then return nil, err end
  return ezk.base64(data)
end

ezk.module("kubeconfig", function(a, ctx)
  local bad = on_deploy_node("kubeconfig")
  if bad then return bad end
  local dir = ssl_dir(a)
  for _, k in ipairs({ "dest", "cluster", "server", "user", "cert" }) do
    if not a[k] or a[k] == "" then return { failed = true, msg = k .. " is required" } end
  end
  local context = a.context or "default"
  local ca, e1 = b64_file(dir .. "/" .. (a.ca or "ca") .. ".pem")
  local crt, e2 = b64_file(dir .. "/" .. a.cert .. ".pem")
  local key, e3 = b64_file(dir .. "/" .. a.cert .. "-key.pem")
  if not (ca and crt and key) then
    -- under --check the certificates of a new cluster are not made: the
    -- kubeconfig would be written from the ones this run issues
    if ctx.check then return { changed = true, msg = "would be written (its certificates are not there yet)" } end
    return { failed = true, msg = e1 or e2 or e3 }
  end
  local content = table.concat({
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    "    certificate-authority-data: " .. ca,
    "    server: " .. a.server,
    "  name: " .. a.cluster,
    "contexts:",
    "- context:",
    "    cluster: " .. a.cluster,
    "    user: " .. a.user,
    "  name: " .. context,
    "current-context: " .. context,
    "kind: Config",
    "preferences: {}",
    "users:",
    "- name: " .. a.user,
    "  user:",
    "    client-certificate-data: " .. crt,
    "    client-key-data: " .. key,
    "" }, "\n")
  -- --diff: what it says, never the embedded key
  local function summary(text)
    local t = {}
    for _, l in ipairs(lines(text or "")) do
      if not l:find("%-data:") then t[#t + 1] = l end
    end
    return table.concat(t, "\n") .. "\n"
  end
  return ezk.put({ dest = a.dest, content = content, mode = "0600", mkdir = true }, ctx, function()
    local old = ezk.read_local(a.dest) or ""
    return text_diff(summary(old), summary(content) ..
      (summary(old) == summary(content) and "(embedded certificates changed)\n" or ""), a.dest)
  end)
end)
