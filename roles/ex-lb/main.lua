-- ex-lb (step 10, every [ex_lb] host, one at a time): the external load
-- balancer of the seeds' design, as kubeasz's ex-lb role places it:
--   - l4lb: haproxy ($EZK_HOME/bin/haproxy) on EX_APISERVER_PORT of every
--     address, in front of every master's kube-apiserver, each master
--     checked every 2 s (a master that stops accepting connections is out
--     of the rotation at once, and a connection it refuses goes to the
--     next); optional listeners on :80 and :443 in front of the nodes'
--     ingress NodePorts (INGRESS_NODEPORT_LB, INGRESS_TLS_NODEPORT_LB);
--   - keepalived ($EZK_HOME/bin/keepalived) holding EX_APISERVER_VIP: VRRP
--     by unicast between the ex_lb hosts, MASTER or BACKUP by LB_ROLE, and a
--     check of the balancer (its port answers) that lowers the priority
--     when it fails, so the VIP moves to a host whose balancer works.
-- haproxy rather than kubeasz's nginx: its checks take a master out before
-- a client meets it (nginx's open-source stream module only learns from
-- failed client connections), and a reload keeps the connections it holds.
-- keepalived tracks the balancer with a script, not kubeasz's
-- vrrp_track_process: the kernel's process events reach only the first
-- network namespace, so track_process never sees a process in a container
-- (or a test host) and counts it dead.
--
-- keepalived is bound to l4lb (systemd's BindsTo): stopping the balancer
-- stops keepalived, and the VIP moves at once instead of after the check's
-- failures. A changed haproxy config reloads l4lb (no dropped connection); a
-- changed keepalived config reloads keepalived (the VIP stays); a new binary
-- or unit restarts it. The play is serial: one ex_lb host at a time, so the VIP
-- always has a host. ex-lb/vip (on the deploy node) then checks the API
-- through the VIP and writes clusters/<c>/kubectl-vip.kubeconfig.

local vars, q = ezk.vars, ezk.q
local me = vars.inventory_hostname
local masters = vars.groups.kube_master or {}
if #masters == 0 then ezk.fail("[kube_master] has no hosts: ex-lb has nothing to balance") end
local lbs = vars.groups.ex_lb or {}

-- (ex-lb/check.lua says at `ezk check`, with the line, what is wrong here)
local vip = tostring(vars.EX_APISERVER_VIP or "")
if not ezk.net(vip) then ezk.fail("EX_APISERVER_VIP of " .. me .. " is '" .. vip .. "': an address") end
local lb_role = tostring(vars.LB_ROLE or ""):lower()
if lb_role ~= "master" and lb_role ~= "backup" then
  ezk.fail("LB_ROLE of " .. me .. " is '" .. tostring(vars.LB_ROLE) .. "': master or backup")
end

-- the address VRRP speaks from: ansible_host when the inventory name is not
-- an address, as for SSH
local function address(h)
  local a = ezk.hostvar(h, "ansible_host")
  if a == "" then a = h end
  return a
end
local addr = address(me)
local peers = {}
for _, h in ipairs(lbs) do
  if h ~= me then peers[#peers + 1] = address(h) end
end
-- MASTER: 120; each BACKUP one less than the one before it in [ex_lb], from
-- 110: always more than a MASTER whose balancer failed (120 - 60), never
-- the same twice (kubeasz draws a random one on every run: a rerun would
-- change the config)
local priority, k = 120, 0
if lb_role == "backup" then
  for _, h in ipairs(lbs) do
    if ezk.hostvar(h, "LB_ROLE"):lower() ~= "master" then
      k = k + 1
      if h == me then break end
    end
  end
  priority = math.max(61, 111 - k)
end

-- the interface that holds the host's address
local lb_if = tostring(vars.LB_IF or "")
if lb_if == "" then
  local r = ezk.exec("ip -o addr show | awk -v a=" .. q(addr) ..
    " '{ split($4, p, \"/\"); if (p[1] == a) { print $2; exit } }'")
  lb_if = ezk.trim(r.stdout)
  if lb_if == "" then
    ezk.fail("no interface of " .. me .. " holds " .. addr .. ": set LB_IF (the interface for the VIP) for it")
  end
end

-- ingress listeners: the first three nodes, as kubeasz
local ingress = {}
for i, n in ipairs(vars.groups.kube_node or {}) do
  if i <= 3 then ingress[#ingress + 1] = n end
end

-- ---- binaries
local bins = { haproxy = ezk.home .. "/bin/haproxy", keepalived = ezk.home .. "/bin/keepalived" }
for _, b in ipairs({ "haproxy", "keepalived" }) do
  if not ezk.stat_local(bins[b]) and ezk.tagged({ "bin" }) then
    ezk.fail(bins[b] .. " is missing: put " .. b .. " in " .. ezk.home ..
             "/bin (scripts/bin-from-debian.sh copies Debian's, or an offline bundle: ezk bundle import)")
  end
end

ezk.handler("restart l4lb", function() service { name = "l4lb", state = "restarted" } end)
ezk.handler("reload l4lb", function() service { name = "l4lb", state = "reloaded" } end)
ezk.handler("restart keepalived", function() service { name = "keepalived", state = "restarted" } end)
ezk.handler("reload keepalived", function() service { name = "keepalived", state = "reloaded" } end)

-- ---- l4lb (haproxy)
for _, d in ipairs({ "/etc/l4lb", "/etc/l4lb/sbin", "/etc/l4lb/conf" }) do
  file { path = d, state = "directory", mode = "0755" }
end
copy { dest = "/etc/l4lb/sbin/l4lb", src = bins.haproxy, mode = "0755", notify = "restart l4lb", tags = "bin" }
template { src = "l4lb.cfg.j2", dest = "/etc/l4lb/conf/l4lb.cfg", mode = "0644", notify = "reload l4lb",
           tags = "config", vars = { vip = vip, masters = masters, ingress_nodes = ingress } }
systemd_unit { name = "l4lb.service", template = "l4lb.service.j2", notify = "restart l4lb", tags = "config" }

-- ---- keepalived
file { path = "/etc/keepalived", state = "directory", mode = "0755" }
copy { dest = "/usr/local/sbin/keepalived", src = bins.keepalived, mode = "0755", mkdir = true,
       notify = "restart keepalived", tags = "bin" }
copy { dest = "/etc/keepalived/check-l4lb.sh", mode = "0755", tags = "config", content = table.concat({
  "#!/bin/sh",
  "# Written by ezk (step 10 ex-lb): keepalived's check of this host's balancer:",
  "# its port takes a connection.",
  "exec timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/" .. tostring(vars.EX_APISERVER_PORT) .. "' 2>/dev/null",
  "" }, "\n") }
template { src = "keepalived.conf.j2", dest = "/etc/keepalived/keepalived.conf", mode = "0644",
           notify = "reload keepalived", tags = "config",
           vars = { vip = vip, lb_role = lb_role, priority = priority, lb_if = lb_if, address = addr,
                    peers = peers } }
systemd_unit { name = "keepalived.service", template = "keepalived.service.j2", notify = "restart keepalived",
               tags = "config" }

-- ---- the balancer first (starting it starts keepalived: l4lb.service wants it)
service { name = "l4lb", state = "started", enabled = true }
service { name = "keepalived", state = "started", enabled = true }
