-- cert: a CA, or a certificate signed by it, made on the deploy node (plays
-- on localhost) in the cluster's ssl/ folder, with kubeasz's file names.
--
--   cert { name = "ca", profile = "ca", cn = "kubernetes-ca", o = "k8s",
--          expiry = vars.CA_EXPIRY }
--   cert { name = "etcd", profile = "peer", cn = "etcd", o = "k8s",
--          hosts = { "127.0.0.1", "10.0.0.1" }, expiry = vars.CERT_EXPIRY }
--
-- Options:
--   name     file base: <dir>/<name>.pem and <dir>/<name>-key.pem (key 0600)
--   profile  "ca" (self-signed), "server", "client" or "peer" (server and
--            client auth): the key usages
--   cn, o    the subject; hosts: the SANs (addresses become IP SANs, other
--            names DNS SANs)
--   expiry   lifetime (required: the roles' CA_EXPIRY or CERT_EXPIRY):
--            "438000h", "90d", or a number of hours
--   algo     "rsa" (RSA 2048, the default) or "ecdsa" (P-256)
--   dir      default <cluster_dir>/ssl; ca: the signing CA's name ("ca")
--   force    reissue even when the current one is good (CHANGE_CA)
-- A certificate is reused while it is signed by the current CA, has the
-- asked-for subject, names, usages and key type, and more than 30 days
-- left; otherwise it is reissued with a fresh key, and the task's msg says
-- why. A CA is reused whenever it is there (only force replaces it).
-- The work is done in C (core/pki.c, libcrypto): ezk.pki_cert.

local text_diff = ezk.text_diff

ezk.module("cert", function(a, ctx)
  local bad = ezk.deploy_node_only("cert")
  if bad then return bad end
  local dir = a.dir or ezk.ssl_dir
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
