-- kube-node/clean (del-node and del-master, on the node that leaves, once it
-- was drained): kubelet and kube-proxy stopped and disabled, the pods'
-- containers stopped (with the systemd cgroup driver every pod lives under
-- kubepods.slice), kube-proxy's iptables rules taken out (kube-proxy
-- --cleanup), kubelet's mounts released, and what kube-node installed
-- removed: units, configs, certificates and kubeconfigs, binaries, the
-- kubectl line in .bashrc, the admin kubeconfig. What the host keeps for
-- another role it still has (etcd: the CA in ca_dir) stays. Each task
-- checks first: a rerun on a cleaned host changes nothing.
--
-- (kube-lb, containerd and the pod network have clean entries of their
-- own, run after this one.)

local vars, q = ezk.vars, ezk.q
local bin, ca = vars.bin_dir, vars.ca_dir
local root = vars.KUBELET_ROOT_DIR or "/var/lib/kubelet"
local function member(g)
  for _, h in ipairs(vars.groups[g] or {}) do if h == vars.inventory_hostname then return true end end
  return false
end

for _, s in ipairs({ "kubelet", "kube-proxy" }) do
  service { name = s, state = "stopped", enabled = false }
end
-- the pods' containers, and their slice (runc's scopes under the systemd
-- cgroup driver); nothing when no pod ran here (ezk.KUBEPODS_STOP,
-- roles/lib/pods.lua: as 99 clean does it)
command { title = "stop the pods' containers (kubepods.slice)",
          unless = "! systemctl is-active --quiet kubepods.slice",
          cmd = ezk.KUBEPODS_STOP }
-- kube-proxy's rules (KUBE-* chains) while its binary is still there
command { title = "kube-proxy --cleanup",
          unless = "! [ -x " .. q(bin .. "/kube-proxy") .. " ] || " ..
            "! iptables -w -t nat -S 2>/dev/null | grep -qE '^-N KUBE-(SERVICES|NODEPORTS|SVC-|SEP-)'",
          cmd = q(bin .. "/kube-proxy") .. " --cleanup 2>&1 || true" }
-- kubelet's mounts (secrets, projected volumes), deepest first
command { title = "unmount " .. root,
          unless = "! awk '{print $2}' /proc/mounts | grep -q '^" .. root .. "/'",
          cmd = "awk '{print $2}' /proc/mounts | grep '^" .. root .. "/' | sort -r | xargs -r -n1 umount -l" }

for _, u in ipairs({ "kubelet.service", "kube-proxy.service" }) do
  systemd_unit { name = u, state = "absent" }
end
local gone = { root, "/var/lib/kubelet", "/var/lib/kube-proxy",
               "/etc/kubernetes/kubelet.kubeconfig", "/etc/kubernetes/kube-proxy.kubeconfig",
               ca .. "/kubelet.pem", ca .. "/kubelet-key.pem",
               bin .. "/kubelet", bin .. "/kube-proxy", "/root/.kube/config" }
-- the CA stays while another role (etcd) still reads it
if not member("etcd") then gone[#gone + 1] = ca .. "/ca.pem" end
for _, p in ipairs(gone) do file { path = p, state = "absent" } end
lineinfile { path = "/root/.bashrc", regexp = "kubectl completion", state = "absent" }
