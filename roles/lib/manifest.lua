-- manifest.lua (a helper file: it defines no module): a role on the deploy
-- node puts a manifest of its templates into the cluster, as the network
-- plugins (flannel, calico, kube-router: step 06) and the add-ons (step 07)
-- do, the way kubeasz's roles do: rendered into clusters/<c>/yml/ (tags
-- config and apply: what is applied is always what yml/ shows), then, with
-- tag apply, applied with the deploy node's kubectl and the admin
-- kubeconfig (kube_apply: only when it changed since last applied, the
-- record in yml/.applied/, or an object is missing).
--
--   ezk.manifest("flannel", { direct_routing = true })
--       templates/flannel.yaml.j2 rendered (with those values besides the
--       host's variables) into yml/flannel.yaml; with tag apply, the API
--       reached (ezk.deploy_kubectl) and the manifest applied
--   local text = ezk.manifest_render("calico-bgp-rr", {}, "bgp-rr.yaml.j2")
--       only the render (the template's name, when it is not NAME.yaml.j2)
--   ezk.manifest_apply("calico-etcd-secrets", text, { tags = { "apply", "certs" }, record_mode = "0600" })
--       only the apply (tags: default "apply"; record_mode: the record's
--       mode, for a manifest that holds a key); returns kube_apply's result
--       (changed: applied, or would be under --check)

function ezk.manifest_render(name, extra, template)
  local src = ezk.role_dir .. "/templates/" .. (template or (name .. ".yaml.j2"))
  local text, rerr = ezk.read_local(src)
  if not text then ezk.fail(rerr) end
  local out, terr = ezk.template(text, extra or {}, src)
  if not out then ezk.fail(terr) end
  copy { title = "render " .. name, dest = ezk.cluster_dir .. "/yml/" .. name .. ".yaml", content = out, mode = "0644",
         tags = { "config", "apply" } }
  return out
end

function ezk.manifest_apply(name, text, opts)
  opts = opts or {}
  return kube_apply { name = name, content = text, kubectl = ezk.home .. "/bin/kubectl",
               kubeconfig = ezk.cluster_dir .. "/kubectl.kubeconfig",
               record = ezk.cluster_dir .. "/yml/.applied/" .. name .. ".yaml", record_mode = opts.record_mode,
               tags = opts.tags or "apply" }
end

function ezk.manifest(name, extra)
  local text = ezk.manifest_render(name, extra)
  if not ezk.tagged({ "apply" }) then return text end
  ezk.deploy_kubectl()
  ezk.manifest_apply(name, text)
  return text
end
