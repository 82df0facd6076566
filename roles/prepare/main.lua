-- prepare (step 01; kube_master, kube_node and etcd hosts): the OS settings
-- Kubernetes wants, as kubeasz's prepare role makes them: swap off, kernel
-- modules, sysctls, systemd's limits, a persistent journal, the directories,
-- PATH, the host name and the node names in /etc/hosts, and the admin
-- kubeconfig on masters and nodes.
--
-- Every task checks before it changes: a rerun reports changed=0 and
-- --check changes nothing.
--
-- Where a host is a container (Docker, LXC: /proc/sys read-only, no module
-- files), the kernel settings cannot be made from inside: modules and sysctls
-- are persisted and reported as warnings, not failures (optional = true).
--
-- The OS packages kubeasz installs (conntrack, ipset, ipvsadm, jq,
-- libseccomp2, lvm2, nfs-common, psmisc, rsync, socat; ufw and lxd removed)
-- come from the hosts' own repositories (INSTALL_SOURCE online) or from the
-- offline bundle ($EZK_HOME/packages/<os>_<major>/, INSTALL_SOURCE offline):
-- an installed package costs one check, nothing more. Not here: SELinux off
-- and firewalld removed on RedHat hosts (ezk's dnf/yum hosts are untested),
-- the easzlab.io.local line in /etc/hosts (ezk imports images over SSH
-- instead of a local registry: README).

local function truthy(v)
  return v == true or v == 1 or (type(v) == "string" and (v:lower() == "true" or v:lower() == "yes"))
end

local function member(list, x)
  for _, v in ipairs(list or {}) do if v == x then return true end end
  return false
end

local vars = ezk.vars
local bin_dir = vars.bin_dir
local ca_dir = vars.ca_dir
local groups = vars.groups
local my_groups = vars.group_names or {}

-- ---- OS packages: what kube-proxy (conntrack, ipset, ipvsadm), kubelet's
-- volumes (lvm2, nfs-common) and kubectl port-forward (socat) want
local PACKAGES = {
  ["apt-get"] = { present = { "conntrack", "ipset", "ipvsadm", "jq", "libseccomp2", "lvm2", "nfs-common",
                              "psmisc", "rsync", "socat" },
                  absent = { "ufw", "lxd", "lxc" }, files = "deb" },
  dnf = { present = { "conntrack-tools", "ipset", "ipvsadm", "jq", "libseccomp", "lvm2", "nfs-utils",
                      "psmisc", "rsync", "socat" }, absent = { "firewalld" }, files = "rpm" },
}
PACKAGES.yum = PACKAGES.dnf
local host_facts = ezk.facts()
local P = PACKAGES[host_facts.pkg or ""]
if not P then
  ezk.warn("no package manager ezk knows (apt-get, dnf, yum): the OS packages are left to you")
elseif vars.INSTALL_SOURCE == "offline" then
  -- the bundle's packages for this OS (packages/debian_12/*.deb): what is
  -- missing comes from there alone, with its dependencies
  local dir = ezk.home .. "/packages/" .. tostring(host_facts.os) .. "_" .. tostring(host_facts.os_version):match("^(%d+)")
  local n = 0
  for _, f in ipairs(ezk.list_local(dir) or {}) do
    if f:match("%." .. P.files .. "$") then n = n + 1 end
  end
  if n == 0 then
    ezk.fail("INSTALL_SOURCE is offline but " .. dir .. " holds no ." .. P.files .. " files: " ..
             "'ezk bundle import' a bundle made for " .. tostring(host_facts.os) .. " " .. tostring(host_facts.os_version))
  end
  if P.files ~= "deb" then ezk.fail("INSTALL_SOURCE offline: ezk installs .deb bundles only (Debian, Ubuntu)") end
  package { title = "packages from " .. dir, name = P.present, repo = dir }
else
  package { name = P.present }
end
if P then package { name = P.absent, state = "absent" } end

-- ---- swap: off now and in fstab (kubelet refuses to run with swap)
swap { state = "off" }

-- ---- kernel modules: loaded now and at boot (systemd-modules-load reads
-- the file). A host without module files (a container) gets a warning.
modprobe { name = { "overlay", "br_netfilter", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh",
                    "nf_conntrack", "dm_snapshot", "dm_thin_pool" },
           optional = true, persist = "10-k8s-modules.conf" }
-- sctp: never loaded (as kubeasz: modprobe runs /bin/true instead)
copy { dest = "/etc/modprobe.d/sctp.conf", content = "install sctp /bin/true\n", mode = "0644", mkdir = true }

-- ---- sysctl: kubeasz's table, persisted and applied live
local sc = {
  ["net.ipv4.ip_forward"] = 1,
  ["net.ipv4.tcp_tw_reuse"] = 2,
  ["net.ipv4.tcp_timestamps"] = 1,
  ["net.ipv4.tcp_fin_timeout"] = 30,
  ["net.core.somaxconn"] = 65535,
  ["net.core.netdev_max_backlog"] = 65536,
  ["net.ipv4.tcp_max_syn_backlog"] = 65536,
  ["net.ipv4.tcp_rmem"] = "4096 12582912 16777216",
  ["net.ipv4.tcp_wmem"] = "4096 12582912 16777216",
  ["net.netfilter.nf_conntrack_max"] = 1048576,
  ["fs.file-max"] = 2097152,
  ["fs.inotify.max_user_instances"] = 8192,
  ["fs.inotify.max_user_watches"] = 524288,
  ["vm.swappiness"] = 0,
  ["vm.max_map_count"] = 262144,
  ["vm.overcommit_memory"] = 1,
  ["vm.panic_on_oom"] = 0,
  ["kernel.panic"] = 10,
  ["kernel.pid_max"] = 4194304,
  ["kernel.softlockup_panic"] = 1,
  ["net.bridge.bridge-nf-call-iptables"] = 1,
  ["net.bridge.bridge-nf-call-ip6tables"] = 1,
  ["net.bridge.bridge-nf-call-arptables"] = 1,
  ["net.ipv4.conf.all.rp_filter"] = 0,
  ["net.ipv4.conf.default.rp_filter"] = 0,
}
-- TCP keepalive as IPVS wants it (its idle timeout is 900 s): only in ipvs
-- mode, and taken out of the file again when the mode changes
local keepalive = { ["net.ipv4.tcp_keepalive_time"] = 600, ["net.ipv4.tcp_keepalive_intvl"] = 30,
                    ["net.ipv4.tcp_keepalive_probes"] = 10 }
local ipvs = vars.PROXY_MODE == "ipvs"
if ipvs then
  for k, v in pairs(keepalive) do sc[k] = v end
end
-- two that only older kernels have: set where /proc/sys has them
local probe = ezk.exec("for p in fs/may_detach_mounts net/ipv4/tcp_tw_recycle; do " ..
  "[ -e /proc/sys/$p ] && echo $p; done; true")
for p in probe.stdout:gmatch("[^\n]+") do
  if p == "fs/may_detach_mounts" then sc["fs.may_detach_mounts"] = 1 end
  if p == "net/ipv4/tcp_tw_recycle" then sc["net.ipv4.tcp_tw_recycle"] = 0 end
end
sysctl { title = "sysctl 95-k8s-sysctl.conf", values = sc, file = "/etc/sysctl.d/95-k8s-sysctl.conf",
         optional = true }
if not ipvs then
  sysctl { title = "sysctl 95-k8s-sysctl.conf: no keepalive (PROXY_MODE is not ipvs)", values = keepalive,
           file = "/etc/sysctl.d/95-k8s-sysctl.conf", state = "absent" }
end

-- ---- systemd's default limits for services (at the next boot or
-- daemon-reexec: kubeasz does not re-exec systemd either)
copy { dest = "/etc/systemd/system.conf.d/30-k8s-ulimits.conf", mode = "0644", mkdir = true, content =
  "[Manager]\nDefaultLimitCORE=infinity\nDefaultLimitNOFILE=100000\nDefaultLimitNPROC=100000\n" }

-- ---- journald: a persistent journal of bounded size, nothing forwarded
file { path = "/var/log/journal", state = "directory" }
copy { dest = "/etc/systemd/journald.conf.d/95-k8s-journald.conf", mode = "0644", mkdir = true,
       notify = "restart journald", content =
  "[Journal]\n" ..
  "# persistent logs across reboots\nStorage=persistent\n" ..
  "# at most 2G of disk, files of 200M, kept two weeks\n" ..
  "SystemMaxUse=2G\nSystemMaxFileSize=200M\nMaxRetentionSec=2week\n" ..
  "# no copies to syslog or to the terminals\nForwardToSyslog=no\nForwardToWall=no\n" }
ezk.handler("restart journald", function()
  service { name = "systemd-journald", state = "restarted" }
end)

-- ---- directories and PATH
for _, d in ipairs({ bin_dir, ca_dir, "/root/.kube" }) do
  file { path = d, state = "directory" }
end
lineinfile { path = "/root/.bashrc", create = true, regexp = "^export PATH=.*# generated by (kubeasz|ezk)",
             line = "export PATH=" .. (bin_dir:match("^[%w/._+@-]+$") and bin_dir or ezk.q(bin_dir)) ..
               ":$PATH  # generated by ezk (kubeasz:custom PATH)" }

-- ---- the admin kubeconfig (made by the deploy role) on masters and nodes
local kc = (ezk.cluster_dir or vars.cluster_dir or "") .. "/kubectl.kubeconfig"
if member(my_groups, "kube_master") or member(my_groups, "kube_node") then
  if ezk.stat_local(kc) then
    copy { title = "copy /root/.kube/config", src = kc, dest = "/root/.kube/config", mode = "0600" }
  else
    ezk.debug("prepare: no " .. kc .. " on the deploy node: /root/.kube/config not written")
  end
end

-- ---- the host name: the node's name
if truthy(vars.ENABLE_SETTING_HOSTNAME) then
  hostname { name = vars.K8S_NODENAME }
end

-- ---- /etc/hosts: every master and node by its node name, where that name
-- is not its address (kubeasz's block and markers)
local list, seen = {}, {}
for _, g in ipairs({ "kube_master", "kube_node" }) do
  for _, h in ipairs(groups[g] or {}) do
    if not seen[h] then seen[h] = true; list[#list + 1] = h end
  end
end
-- (the same for every host: rendered once per run, not once per host)
local names = ezk.once("prepare: node names", function()
  return assert(ezk.template(
    "{% for h in hosts %}{{ h }} {{ hostvars[h].K8S_NODENAME }}\n{% endfor %}", { hosts = list }, "node names"))
end)
local function is_ip(s)
  return s:match("^%d+%.%d+%.%d+%.%d+$") ~= nil or (s:find(":", 1, true) ~= nil and s:match("^[%x:%.]+$") ~= nil)
end
local entries, uniq = {}, {}
for ip, name in names:gmatch("(%S+) ([^\n]*)\n") do
  name = ezk.trim(name)
  local l = ip .. " " .. name
  -- (a host known by a name, not an address, has no line to add)
  if is_ip(ip) and name ~= "" and name ~= ip and not uniq[l] then
    uniq[l] = true
    entries[#entries + 1] = { ip, name }
  end
end
-- sorted by address (IPv4 numerically), then name
local function key(e)
  local a, b, c, d = e[1]:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  local k = a and string.format("%03d.%03d.%03d.%03d", a, b, c, d) or e[1]
  return k .. " " .. e[2]
end
table.sort(entries, function(x, y) return key(x) < key(y) end)
hosts_block { path = "/etc/hosts", marker = "### {mark} KUBEASZ MANAGED BLOCK", entries = entries,
              state = #entries > 0 and "present" or "absent" }
