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
--   ezk.deploy_run { title = "helm upgrade cilium", shows = "helm upgrade ...", cmd = "helm ...",
--                    record = yml .. "/.applied/x", content = text, daemonset = "cilium",
--                    log = "cilium-helm", timeout = 600, ok = "...", recorded = "...",
--                    changed = function(last) return "the values changed" end }
--       a program on the deploy node that installs a plugin its own way
--       (helm, kube-ovn's install.sh), run only when content changed since
--       it last ran to the end (the record in yml/.applied/; changed(last)
--       says how, default "<title> changed") or kube-system's DaemonSet
--       daemonset is missing: cmd (sh) runs with $EZK_HOME/bin first in PATH
--       and the admin KUBECONFIG, its output in logs/<log>-<time>.log, the
--       task failing with that log's name; then the record is written.
--       --check says what would run (shows) and why. Returns true when it
--       ran (or would).

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

function ezk.deploy_run(a)
  local last = ezk.stat_local(a.record) and ezk.read_local(a.record)
  local why
  if not last then
    why = "not run before"
  elseif last ~= a.content then
    why = a.changed and a.changed(last) or (a.title .. " changed")
  else
    local r = ezk.kubectl({ "--request-timeout=30s", "-n", "kube-system", "get", "daemonset", a.daemonset, "-o", "name" })
    if r.rc ~= 0 then why = "the DaemonSet kube-system/" .. a.daemonset .. " is missing" end
  end
  if not why then
    ezk.report(a.title, "ok", a.ok)
    return false
  end
  if ezk.check then
    ezk.report(a.title, "changed", "would run " .. a.shows .. " (" .. why .. ")")
    return true
  end
  local q = ezk.q
  local log = ezk.cluster_dir .. "/logs/" .. a.log .. "-" .. os.date("%Y%m%d%H%M%S") .. ".log"
  command { title = a.title .. " (" .. why .. ")", tags = "apply", timeout = a.timeout,
            cmd = "mkdir -p " .. q(ezk.cluster_dir .. "/logs") .. " && export PATH=" .. q(ezk.home .. "/bin") ..
              ':"$PATH" KUBECONFIG=' .. q(ezk.cluster_dir .. "/kubectl.kubeconfig") .. " && { " .. a.cmd ..
              "; } >>" .. q(log) .. " 2>&1 || { echo " .. q(a.title .. " failed: its output is in " .. log) ..
              " >&2; exit 1; }" }
  copy { title = a.recorded, dest = a.record, content = a.content, mode = "0644", tags = "apply" }
  return true
end
