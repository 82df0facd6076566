-- kubeconfig: a kubeconfig on the deploy node (plays on localhost) with a
-- client certificate of the cluster's ssl/ folder embedded (cert.lua
-- makes them).
--
--   kubeconfig { dest = ezk.cluster_dir .. "/kubectl.kubeconfig", cert = "admin",
--                cluster = "cluster1", user = "admin", context = "context-cluster1",
--                server = "https://10.0.0.1:6443" }
--
-- Options: dest (written 0600, atomically), cluster, server, user, context,
-- ca (name of the CA certificate, "ca"), cert (the client certificate's
-- name in ssl/: its .pem and -key.pem are embedded), dir (default
-- <cluster_dir>/ssl). Under --diff: the cluster, server, user and context,
-- never the embedded key.

local lines, text_diff = ezk.lines, ezk.text_diff

local function b64_file(path)
  local data, err = ezk.read_local(path)
  if not data then return nil, err end
  return ezk.base64(data)
end

ezk.module("kubeconfig", function(a, ctx)
  local bad = ezk.deploy_node_only("kubeconfig")
  if bad then return bad end
  local dir = a.dir or ezk.ssl_dir
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
