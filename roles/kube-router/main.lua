-- kube-router (step 06, CLUSTER_NETWORK "kube-router", a play on localhost:
-- the deploy node), as kubeasz's kube-router role: its manifest rendered
-- into clusters/<c>/yml/kube-router.yaml (tags config and apply) and applied
-- with the deploy node's kubectl and the admin kubeconfig (tag apply,
-- kube_apply: only when it changed or an object is missing). The nodes'
-- part (the default bridge config removed once kube-router's is in place)
-- is kube-router/node, in the step's next play.
--
-- What config.yml decides: OVERLAY_TYPE ("full": IPIP to every other node,
-- "subnet": only across subnets), FIREWALL_ENABLE (NetworkPolicy),
-- kube_router_ver (the image's tag). The image is the offline bundle's
-- (easzlab.io.local:5000/cloudnativelabs/kube-router, imported on every
-- node by step 03), never pulled at install time.

local vars = ezk.vars
if vars.CLUSTER_NETWORK ~= "kube-router" then return end

local yml = ezk.cluster_dir .. "/yml"
local kubectl = ezk.home .. "/bin/kubectl"
local kubeconfig = ezk.cluster_dir .. "/kubectl.kubeconfig"

local src = ezk.role_dir .. "/templates/kube-router.yaml.j2"
local text, rerr = ezk.read_local(src)
if not text then ezk.fail(rerr) end
local manifest, terr = ezk.template(text, {}, src)
if not manifest then ezk.fail(terr) end
copy { title = "render kube-router", dest = yml .. "/kube-router.yaml", content = manifest, mode = "0644",
       tags = { "config", "apply" } }

if not ezk.tagged({ "apply" }) then return end
if not ezk.stat_local(kubectl) then
  ezk.fail(kubectl .. " is missing: put the Kubernetes binaries in " .. ezk.home ..
           "/bin (scripts/bin-from-debian.sh, or an offline bundle)")
end
if not ezk.stat_local(kubeconfig) and not ezk.check then
  ezk.fail(kubeconfig .. " is missing: run step 01 first ('ezk setup <cluster> 01')")
end
local kc = ezk.q(kubectl) .. " --kubeconfig=" .. ezk.q(kubeconfig) .. " --request-timeout=30s"
wait_for { title = "API reachable from the deploy node", timeout = 60, sleep = 1, tags = "apply",
           cmd = kc .. " get --raw /healthz" }
kube_apply { name = "kube-router", content = manifest, kubectl = kubectl, kubeconfig = kubeconfig,
             record = yml .. "/.applied/kube-router.yaml", tags = "apply" }
