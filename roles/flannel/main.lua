-- flannel (step 06, CLUSTER_NETWORK "flannel", a play on localhost: the
-- deploy node): flannel's manifest rendered into clusters/<c>/yml/flannel.yaml
-- (tags config and apply) and applied with the deploy node's kubectl and the
-- admin kubeconfig (tag apply), as kubeasz's flannel role does; step 07's
-- add-ons are applied the same way (kube_apply: only when the manifest
-- changed since last applied, or an object is missing). The nodes' part
-- (the default bridge config removed once flannel's is in place) is
-- flannel/node, in the step's next play.
--
-- What config.yml decides: CLUSTER_CIDR (flanneld's Network),
-- FLANNEL_BACKEND (vxlan or host-gw), DIRECT_ROUTING (vxlan only: routes
-- instead of the tunnel between nodes of one subnet), flannel_ver (the
-- image's tag). The images are the offline bundle's (easzlab.io.local:5000
-- names, imported on every node by step 03), never pulled at install time.

local vars, q = ezk.vars, ezk.q
if vars.CLUSTER_NETWORK ~= "flannel" then return end

local yml = ezk.cluster_dir .. "/yml"
local kubectl = ezk.home .. "/bin/kubectl"
local kubeconfig = ezk.cluster_dir .. "/kubectl.kubeconfig"

-- Ansible's `| bool` of a setting (kubeasz's template tests DIRECT_ROUTING
-- as Jinja truth, so a quoted "false" would turn it on there; not here)
local function bool(v)
  if type(v) == "boolean" then return v end
  local s = tostring(v or ""):lower()
  return s == "true" or s == "yes" or s == "on" or s == "1" or s == "y"
end

local extra = {
  direct_routing = vars.FLANNEL_BACKEND == "vxlan" and bool(vars.DIRECT_ROUTING),
}
local src = ezk.role_dir .. "/templates/flannel.yaml.j2"
local text, rerr = ezk.read_local(src)
if not text then ezk.fail(rerr) end
local manifest, terr = ezk.template(text, extra, src)
if not manifest then ezk.fail(terr) end
copy { title = "render flannel", dest = yml .. "/flannel.yaml", content = manifest, mode = "0644",
       tags = { "config", "apply" } }

if not ezk.tagged({ "apply" }) then return end
if not ezk.stat_local(kubectl) then
  ezk.fail(kubectl .. " is missing: put the Kubernetes binaries in " .. ezk.home ..
           "/bin (scripts/bin-from-debian.sh, or an offline bundle)")
end
if not ezk.stat_local(kubeconfig) and not ezk.check then
  ezk.fail(kubeconfig .. " is missing: run step 01 first ('ezk setup <cluster> 01')")
end
local kc = q(kubectl) .. " --kubeconfig=" .. q(kubeconfig) .. " --request-timeout=30s"
wait_for { title = "API reachable from the deploy node", timeout = 60, sleep = 1, tags = "apply",
           cmd = kc .. " get --raw /healthz" }
kube_apply { name = "flannel", content = manifest, kubectl = kubectl, kubeconfig = kubeconfig,
             record = yml .. "/.applied/flannel.yaml", tags = "apply" }
