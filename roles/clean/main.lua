-- clean (ezk destroy / setup 99, every host of the cluster at once): what
-- the install steps put on the host removed again, per kubeasz's DEL_*
-- switches (all "yes" in step 99; `-e DEL_ETCD=no` keeps etcd), in the
-- order that leaves nothing running on what goes: the node's part (pods,
-- kubelet, kube-proxy, kube-lb, containerd, the pod network), the control
-- plane's, etcd's, the ex-lb's, chrony, the environment lines, the
-- /etc/hosts block; then ezk's own folders and /etc/kubernetes when every
-- part this host had is gone. Each part: services stopped and disabled,
-- the pods' processes killed, their mounts unmounted, units, configs,
-- certificates and data removed. A second run finds nothing to do.
--
-- What it leaves (as kubeasz, and said at the end of the run, clean/done):
-- bin_dir and /opt/cni/bin (binaries), step 01's files (sysctl, modules,
-- limits, journald settings, the persistent journal), swap off in fstab,
-- the host name, chrony's package and config (stopped), and the kernel's
-- live state: sysctl values, loaded modules, what the pods' network left
-- in iptables and routes, tunl0 (the ipip module's own device: down, its
-- address gone). A reboot clears that. The pod networks' interfaces go
-- (LINKS below).

local vars, q, trim = ezk.vars, ezk.q, ezk.trim
local me = vars.inventory_hostname
local function member(g)
  for _, h in ipairs(vars.groups[g] or {}) do if h == me then return true end end
  return false
end
local function yes(v)
  v = tostring(v == nil and "" or v):lower()
  return v == "yes" or v == "true"
end
local bin, ca = vars.bin_dir, vars.ca_dir

local is_node = member("kube_master") or member("kube_node")
local parts = {
  node = is_node and yes(vars.DEL_NODE),
  master = member("kube_master") and yes(vars.DEL_MASTER),
  etcd = member("etcd") and yes(vars.DEL_ETCD),
  lb = member("ex_lb") and yes(vars.DEL_LB),
  chrony = #(vars.groups.chrony or {}) > 0 and yes(vars.DEL_CHRONY),
}
-- every part the host has is cleaned: its ezk folders and
-- /etc/kubernetes go too
local whole = (not is_node or parts.node) and (not member("kube_master") or parts.master) and
  (not member("etcd") or parts.etcd) and (not member("ex_lb") or parts.lb)

-- (stopped, not `systemctl disable`d: where the distribution has a SysV
-- script of the same name, Debian's etcd-server or containerd, disable
-- would rewrite its /etc/rc?.d links; unit_gone removes the enablement ezk
-- made instead)
local function stop(names)
  for _, s in ipairs(names) do service { name = s, state = "stopped" } end
end
-- ezk's unit files (in /etc/systemd/system), and the links that enabled
-- them (those pointing at that file: a distribution's own enablement of a
-- unit of the same name stays)
local function unit_gone(names)
  for _, s in ipairs(names) do
    local u = s:find("%.") and s or (s .. ".service")
    local f = "/etc/systemd/system/" .. u
    local links = "for l in /etc/systemd/system/*.wants/" .. u .. " /etc/systemd/system/*.requires/" .. u ..
      "; do [ -L \"$l\" ] && [ \"$(readlink \"$l\")\" = " .. q(f) .. " ] && echo \"$l\"; done"
    command { title = "the links enabling " .. u, unless = "[ -z \"$(" .. links .. ")\" ]",
              cmd = links .. " | xargs -r rm -f --" }
    systemd_unit { name = u, state = "absent" }
  end
end
local function gone(paths)
  for _, p in ipairs(paths) do
    if p and p ~= "" then file { path = p, state = "absent" } end
  end
end
-- a folder that may be a mount point of the host's own (a volume, a
-- tmpfs): emptied and left; otherwise removed
local function purge(p)
  if not p or p == "" then return end
  command { title = "remove " .. p, cmd = "if mountpoint -q " .. q(p) .. "; then find " .. q(p) ..
    " -mindepth 1 -maxdepth 1 -exec rm -rf {} +; else rm -rf " .. q(p) .. "; fi",
    unless = "[ ! -e " .. q(p) .. " ] || { mountpoint -q " .. q(p) .. " && [ -z \"$(ls -A " .. q(p) .. ")\" ]; }" }
end

-- The interfaces of the pod networks ezk installs, and of what runs with
-- them: the bridges mynet0 (kube-node's default CNI config's) and cni0
-- (host-gw's, flannel's); flannel's flannel.1 (vxlan; flannel-v6.1,
-- flannel-wg with wireguard); kube-router's kube-bridge, kube-dummy-if and
-- its tunnels to the other nodes (tun-<hex> or tun<digits>, of type ipip or
-- ip6tnl: a VPN's tun0 is no such link); calico's vxlan.calico (and
-- vxlan-v6.calico, wireguard.cali, wg-v6.cali) and its pods' host ends
-- (cali + 11 hex digits); cilium's cilium_* and lxc_health; the dummies
-- kube-ipvs0 (kube-proxy's and kube-router's IPVS) and nodelocaldns. calico's
-- IPIP runs on tunl0, the ipip module's own device, which cannot be
-- deleted: listed while it is up, it is taken down and loses calico's
-- address. One `ip -o link show` lists them (a veth's "@peer" cut off).
local LINKS = [[ip -o link show 2>/dev/null | awk -F': ' '{ n = $2; sub(/@.*/, "", n) }
  n ~ /^(mynet0|cni0|flannel\.[0-9]+|flannel-v6\.[0-9]+|flannel-wg|flannel-wg-v6|kube-bridge|kube-dummy-if|kube-ipvs0|nodelocaldns|vxlan\.calico|vxlan-v6\.calico|wireguard\.cali|wg-v6\.cali|lxc_health)$/ ||
  n ~ /^cilium_/ || (n ~ /^cali[0-9a-f]+$/ && length(n) == 15) || (n ~ /^tun-?[0-9a-f]+$/ && / link\/(ipip|tunnel6) /) ||
  (n == "tunl0" && /[<,]UP[,>]/) { print n }']]

-- every mount under these folders, deepest first (the pods' volumes,
-- containers' root filesystems and shm, network namespaces)
local function unmount(title, dirs)
  local pre = {}
  for _, d in ipairs(dirs) do
    if d and d ~= "" then pre[#pre + 1] = q(d:gsub("/+$", "") .. "/") end
  end
  local list = "for p in " .. table.concat(pre, " ") .. "; do awk -v p=\"$p\" " ..
    "'index($5, p) == 1 { print $5 }' /proc/self/mountinfo; done | sort -r -u"
  command { title = title, unless = "[ -z \"$(" .. list .. ")\" ]",
            cmd = list .. " | while read -r m; do m=$(printf '%b' \"$m\"); umount \"$m\" 2>/dev/null || " ..
              "umount -l \"$m\"; done" }
end

-- ---- the node: pods, kubelet, kube-proxy, kube-lb, containerd, the network
if parts.node then
  local cunit = vars.CONTAINERD_SERVICE_NAME or "containerd.service"
  local sock = vars.CONTAINERD_STATE_DIR .. "/containerd.sock"
  local ctr = q(bin .. "/containerd-bin/ctr") .. " --address " .. q(sock)
  stop({ "kube-proxy", "kubelet" })
  -- the pods: first what systemd's kubepods slice holds (every pod's
  -- processes under the systemd cgroup driver) stopped, then what is left
  -- of their tasks killed and deleted while containerd runs (its shims then
  -- exit). Each ctr call is bounded: after `ezk stop` and `start`, ctr's
  -- `tasks rm -f` of a running pause container was seen waiting for good
  -- (e2e/day2's destroy); the cgroup step below ends what it leaves.
  -- (ezk.KUBEPODS_STOP, roles/lib/pods.lua: killed first, then stopped)
  command { title = "stop kubepods.slice", unless = "! systemctl is-active -q kubepods.slice",
            cmd = ezk.KUBEPODS_STOP }
  command { title = "kill the pods' containers",
            unless = "[ ! -S " .. q(sock) .. " ] || [ -z \"$(for ns in $(timeout 20 " .. ctr .. " namespaces ls -q 2>/dev/null); do " ..
              "timeout 20 " .. ctr .. " -n \"$ns\" tasks ls -q 2>/dev/null; done)\" ]",
            cmd = "for ns in $(timeout 20 " .. ctr .. " namespaces ls -q); do for t in $(timeout 20 " .. ctr ..
              " -n \"$ns\" tasks ls -q); do timeout 20 " .. ctr .. " -n \"$ns\" tasks kill -s SIGKILL \"$t\" >/dev/null 2>&1; " ..
              "timeout 20 " .. ctr .. " -n \"$ns\" tasks rm -f \"$t\" >/dev/null 2>&1; done; done; true" }
  stop({ "kube-lb", cunit })
  command { title = "kill what is left in " .. cunit .. "'s cgroup",
            unless = "! cat /sys/fs/cgroup/system.slice/" .. cunit .. "/cgroup.procs " ..
              "/sys/fs/cgroup/systemd/system.slice/" .. cunit .. "/cgroup.procs 2>/dev/null | grep -q .",
            cmd = "cat /sys/fs/cgroup/system.slice/" .. cunit .. "/cgroup.procs /sys/fs/cgroup/systemd/system.slice/" ..
              cunit .. "/cgroup.procs 2>/dev/null | xargs -r kill -9; sleep 1" }
  -- what systemd still holds of the pods (a failed scope stays loaded,
  -- and its slices with it)
  local PODUNITS = "systemctl list-units --all --no-legend --plain 'kubepods*' 'cri-containerd-*' 2>/dev/null"
  command { title = "the pods' units", unless = "[ -z \"$(" .. PODUNITS .. ")\" ]",
            cmd = "systemctl stop kubepods.slice 2>/dev/null; " ..
              "systemctl reset-failed 'kubepods*' 'cri-containerd-*' 2>/dev/null; true" }
  unmount("unmount the pods' and containers' mounts", {
    vars.KUBELET_ROOT_DIR, "/var/lib/kubelet", vars.CONTAINERD_STATE_DIR, vars.CONTAINERD_ROOT_DIR,
    "/run/netns", "/var/run/netns" })
  -- kube-proxy's own rules (its chains in iptables, ipvs), while any of
  -- its own chains is there (the kubelet's, KUBE-MARK-* and the like, are
  -- not its to remove: left, with the rest of the kernel's state a reboot
  -- clears; asking for any KUBE- chain ran it on every destroy)
  command { title = "kube-proxy --cleanup", removes = bin .. "/kube-proxy",
            unless = "! iptables -w -t nat -S 2>/dev/null | grep -qE '^-N KUBE-(SERVICES|NODEPORTS|SVC-|SEP-)'",
            cmd = q(bin .. "/kube-proxy") .. " --cleanup >/dev/null 2>&1 || true" }
  -- the pod network of host-gw: its routes (proto 186) and rule
  command { title = "the pod network's routes and rule",
            unless = "[ -z \"$(ip -4 route show proto 186)\" ] && " ..
              "! iptables -w -t nat -S POSTROUTING 2>/dev/null | grep -q 'ezk host-gw'",
            cmd = "ip -4 route flush proto 186; " ..
              "iptables -w -t nat -S POSTROUTING | grep -e 'ezk host-gw' | sed 's/^-A/-D/' | " ..
              "while read -r r; do eval \"iptables -w -t nat $r\"; done; true" }
  -- the interfaces the pod networks make (a host without them: one listing)
  command { title = "the pod network's interfaces", unless = "[ -z \"$(" .. LINKS .. ")\" ]",
            cmd = "for l in $(" .. LINKS .. "); do ip link delete \"$l\" 2>/dev/null || " ..
              "{ ! ip link show \"$l\" >/dev/null 2>&1 || { ip addr flush dev \"$l\"; ip link set \"$l\" down; }; }; done" }
  unit_gone({ "kube-proxy.service", "kubelet.service", "kube-lb.service", cunit, "ezk-host-gw.service" })
  for _, p in ipairs({ vars.KUBELET_ROOT_DIR, "/var/lib/kubelet", vars.CONTAINERD_ROOT_DIR, vars.CONTAINERD_STATE_DIR }) do
    purge(p)
  end
  gone({ "/var/lib/kube-proxy", "/etc/kube-lb", vars.CONTAINERD_CONFIG_DIR, "/etc/crictl.yaml", "/opt/containerd",
         "/etc/kubernetes/kubelet.kubeconfig", "/etc/kubernetes/kube-proxy.kubeconfig",
         ca .. "/kubelet.pem", ca .. "/kubelet-key.pem", "/root/.kube/config",
         "/etc/cni", "/var/lib/cni", "/run/flannel", "/etc/calico", "/var/lib/calico", "/var/log/calico",
         "/etc/cilium", "/var/lib/kube-router", "/etc/ezk/host-gw.sh", "/var/lib/ezk/images",
         "/var/log/pods", "/var/log/containers", "/root/.kube/cache",
         "/root/.kube/http-cache" })
end

-- ---- the control plane
if parts.master then
  stop({ "kube-scheduler", "kube-controller-manager", "kube-apiserver" })
  -- (the fence kube-master/start puts up while an API server restarts, if
  -- a run stopped halfway left it)
  command { title = "kube-apiserver's restart fence", unless = "! iptables -w -S INPUT 2>/dev/null | " ..
              "grep -q 'ezk: kube-apiserver restarting'",
            cmd = "iptables -w -S INPUT | grep -e 'ezk: kube-apiserver restarting' | sed 's/^-A/-D/' | " ..
              "while read -r r; do eval \"iptables -w $r\"; done" }
  unit_gone({ "kube-scheduler.service", "kube-controller-manager.service", "kube-apiserver.service" })
  gone({ "/var/run/kubernetes", "/etc/kubernetes/kube-controller-manager.kubeconfig",
         "/etc/kubernetes/kube-scheduler.kubeconfig", "/etc/kubernetes/audit", "/var/log/kubernetes",
         ca .. "/kubernetes.pem", ca .. "/kubernetes-key.pem", ca .. "/aggregator-proxy.pem",
         ca .. "/aggregator-proxy-key.pem", ca .. "/ca-key.pem",
         "/var/lib/ezk/restart-pending/kube-apiserver", "/var/lib/ezk/restart-pending/kube-controller-manager",
         "/var/lib/ezk/restart-pending/kube-scheduler" })
end

-- the volume plugins' folder, which kubelet and kube-controller-manager both
-- make and, while they run, make again (its removal raced a master's
-- controller-manager, e2e/day2): gone once neither runs here
if (parts.node or parts.master) and (not is_node or parts.node) and
   (not member("kube_master") or parts.master) then
  gone({ "/usr/libexec/kubernetes" })
end

-- ---- etcd: its data too
if parts.etcd then
  local data = vars.ETCD_DATA_DIR
  stop({ "etcd" })
  unit_gone({ "etcd.service" })
  purge(data)
  purge(vars.ETCD_WAL_DIR)
  gone({ data .. ".before-restore", data .. ".ezk-restore",
         (vars.ETCD_WAL_DIR or "") ~= "" and (vars.ETCD_WAL_DIR .. ".ezk-restore") or nil })
  gone({ "/backup/k8s", ca .. "/etcd.pem", ca .. "/etcd-key.pem", "/var/lib/ezk/restart-pending/etcd",
         "/var/lib/ezk/restore", "/var/lib/ezk/backup" })
end

-- ---- the ex-lb
if parts.lb then
  stop({ "keepalived", "l4lb" })
  unit_gone({ "keepalived.service", "l4lb.service" })
  gone({ "/etc/l4lb", "/etc/keepalived", "/usr/local/sbin/keepalived" })
end

-- ---- chrony: the distribution's, stopped and disabled (its package and
-- the config step 01 wrote stay)
if parts.chrony then
  service { name = ezk.facts().pkg == "apt-get" and "chrony" or "chronyd", state = "stopped", enabled = false }
end

-- ---- the environment: the lines steps 01 and 04/05 put in root's .bashrc
if yes(vars.DEL_ENV) then
  lineinfile { path = "/root/.bashrc", regexp = "# generated by ezk", state = "absent" }
end
hosts_block { path = "/etc/hosts", marker = "### {mark} KUBEASZ MANAGED BLOCK", state = "absent" }

-- ---- ezk's folders, and the cluster's certificates
if whole then
  gone({ ca, "/etc/kubernetes", "/var/lib/ezk", "/etc/ezk" })
  command { title = "remove /root/.kube (when empty)", removes = "/root/.kube",
            unless = "[ -n \"$(ls -A /root/.kube 2>/dev/null)\" ]", cmd = "rmdir /root/.kube" }
end
