-- cilium (step 06, CLUSTER_NETWORK "cilium", a play on localhost: the
-- deploy node), as kubeasz 3.7's cilium role does: cilium's Helm chart of
-- cilium_ver installed with helm, with kubeasz's values.
--   * the chart's values (kubeasz's values.yaml.j2) rendered into
--     clusters/<c>/yml/cilium-values.yaml (tags config and apply;
--     e2e/network-render compares them with kubeasz's);
--   * with tag apply: $EZK_HOME/bin/helm and the chart,
--     $EZK_HOME/bin/charts/cilium-<cilium_ver>.tgz, both from `ezk
--     download` (offline/versions.yml), must be there (each missing one is
--     said, naming the file), the API answers, and then `helm upgrade cilium
--     --install -n kube-system -f yml/cilium-values.yaml <chart>` runs with
--     the admin kubeconfig ($EZK_HOME/bin first in PATH, its output in
--     clusters/<c>/logs/cilium-helm-<time>.log), but only when the values or
--     the chart differ from those of the last run that ended well (the
--     record yml/.applied/cilium-values.yaml: the chart's sha256 in its
--     first line, then the values) or the DaemonSet kube-system/cilium is
--     missing. kubeasz runs helm on every run.
-- kubeasz's CHANGE_CA branch (`helm delete cilium` before the install) is
-- left out on purpose: ezk kca-renew replaces the CA in phases, and its
-- first restarts kube-system's API clients, cilium's among them, once their
-- ServiceAccounts trust both CAs (kca-renew/clients).
-- The nodes' part (the cilium and hubble CLIs, cilium's pod Running on the
-- node, then the default bridge config gone) is cilium/node; the restart
-- of hubble-relay after a helm run is cilium/hubble (the step's next plays).
-- Not run on a real cluster by ezk's tests (no cilium image nor helm on the
-- test machines): README, 06 network.
--
-- What config.yml decides: cilium_ver (the chart and the images' tags),
-- cilium_hubble_enabled, cilium_hubble_ui_enabled, ENABLE_LOCAL_DNS_CACHE
-- and LOCAL_DNS_CACHE (the cache's address kept out of cilium's),
-- CLUSTER_CIDR (cilium's IPAM pool). Images: the offline bundle's
-- (easzlab.io.local:5000/cilium/...), in offline/versions.yml.

local vars, q = ezk.vars, ezk.q
if vars.CLUSTER_NETWORK ~= "cilium" then return end
if not ezk.tagged({ "config", "apply" }) then return end

local yml = ezk.cluster_dir .. "/yml"
local values = ezk.manifest_render("cilium-values", {}, "cilium-values.yaml.j2")
if not ezk.tagged({ "apply" }) then return end

local ver = tostring(vars.cilium_ver)
local helm = ezk.home .. "/bin/helm"
local chart = ezk.home .. "/bin/charts/cilium-" .. ver .. ".tgz"
local how = "comes with the offline files ('ezk download -c <cluster>' with CLUSTER_NETWORK cilium, " ..
  "or a bundle made so)"
if not ezk.stat_local(helm) then ezk.fail(helm .. " is missing: helm " .. how) end
if not ezk.stat_local(chart) then
  ezk.fail(chart .. " is missing: cilium's Helm chart " .. ver .. " (cilium_ver) " .. how)
end
local sum, serr = ezk.sha256_file(chart)
if not sum then ezk.fail(chart .. ": " .. tostring(serr)) end
ezk.deploy_kubectl()

-- helm runs when the values or the chart changed since it last ran to the
-- end, or cilium is not there
local head = "# helm upgrade cilium: chart cilium-" .. ver .. ".tgz sha256 " .. sum .. "\n"
local ran = ezk.deploy_run {
  title = "helm upgrade cilium", daemonset = "cilium", log = "cilium-helm",
  record = yml .. "/.applied/cilium-values.yaml", content = head .. values,
  changed = function(last)
    local lhead, lvalues = last:match("^([^\n]*\n)(.*)$")
    local what = {}
    if lvalues ~= values then what[#what + 1] = "the values changed" end
    if lhead ~= head then what[#what + 1] = "the chart changed" end
    return table.concat(what, ", ")
  end,
  shows = "helm upgrade cilium --install -n kube-system -f " .. yml .. "/cilium-values.yaml " .. chart,
  cmd = q(helm) .. " upgrade cilium --install -n kube-system -f " .. q(yml .. "/cilium-values.yaml") .. " " .. q(chart),
  timeout = tonumber(vars.CILIUM_HELM_TIMEOUT) or 600,
  ok = "installed with these values and chart; the DaemonSet cilium is there",
  recorded = "record cilium's values and chart as installed",
}
if not ran or ezk.check then return end
-- for cilium/hubble, in the step's last play on this host
ezk.shared.cilium = { helm_ran = true }
