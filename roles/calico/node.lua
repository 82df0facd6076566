-- calico/node (step 06, CLUSTER_NETWORK "calico", every master and node,
-- after calico's manifest was applied), kubeasz's per-node tasks:
--   * /etc/calico/ssl/{ca,calico,calico-key}.pem: the CNI plugin runs on the
--     host and reaches etcd with them (10-calico.conflist names these paths;
--     the key 0600)
--   * calicoctl in bin_dir when $EZK_HOME/bin has it (kubeasz ignores its
--     absence too), and /etc/calico/calicoctl.cfg: `calicoctl node status`
--     on the node
--   * once calico-node's install-cni has put /etc/cni/net.d/10-calico.conflist
--     in place, kubeasz's default bridge config goes (ezk.cni_takeover,
--     roles/lib/cni.lua: ezk waits first, so a node whose calico cannot
--     start keeps a working config and the task says why).

local vars, q = ezk.vars, ezk.q
if vars.CLUSTER_NETWORK ~= "calico" then return end

local ssl = ezk.cluster_dir .. "/ssl"
file { path = "/etc/calico/ssl", state = "directory", mode = "0755", tags = { "certs", "apply" } }
for _, f in ipairs({ { "ca.pem", "0644" }, { "calico.pem", "0644" }, { "calico-key.pem", "0600" } }) do
  local src = ssl .. "/" .. f[1]
  if ezk.stat_local(src) or not ezk.check then
    copy { dest = "/etc/calico/ssl/" .. f[1], src = src, mode = f[2], tags = { "certs", "apply" } }
  elseif ezk.tagged({ "certs", "apply" }) then -- --check on a new cluster
    ezk.report("copy /etc/calico/ssl/" .. f[1], "changed", "would copy " .. src .. " (made by this run)")
  end
end

local calicoctl = ezk.home .. "/bin/calicoctl"
if ezk.stat_local(calicoctl) then
  copy { dest = vars.bin_dir .. "/calicoctl", src = calicoctl, mode = "0755", tags = { "bin", "apply" } }
elseif ezk.tagged({ "bin", "apply" }) then
  ezk.warn(calicoctl .. " is missing: no calicoctl on the nodes (ezk download fetches it for a calico cluster)")
end
local endpoints = {}
for _, m in ipairs(vars.groups.etcd or {}) do endpoints[#endpoints + 1] = "https://" .. m .. ":2379" end
template { src = "calicoctl.cfg.j2", dest = "/etc/calico/calicoctl.cfg", mode = "0644",
           vars = { ETCD_ENDPOINTS = table.concat(endpoints, ",") }, tags = { "config", "apply" } }

-- (tag apply, as the manifest's apply: -t config leaves the CNI configs alone)
ezk.cni_takeover {
  name = "calico", conf = "/etc/cni/net.d/10-calico.conflist", timeout = tonumber(vars.CALICO_READY_TIMEOUT) or 180,
  who = "calico-node", hint = "kubectl -n kube-system get pod -l k8s-app=calico-node -o wide; " ..
    "are easzlab.io.local:5000/easzlab/{cni,node}:" .. tostring(vars.calico_ver) .. " in the offline bundle? " ..
    "does the node reach etcd: " .. q(table.concat(endpoints, ",")) .. "?",
}
