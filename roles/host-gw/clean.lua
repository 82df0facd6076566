-- host-gw/clean (del-node and del-master, on the host that leaves): what
-- step 06 set up there goes: the routes to the other nodes' pods (proto
-- 186), the masquerading rule, the bridge cni0, the CNI configs and
-- host-local's leases, the boot script and its unit. (The other nodes drop
-- their routes to this one when step 06 runs there after it was deleted.)
local vars = ezk.vars
local cidr = tostring(vars.CLUSTER_CIDR or "")

service { name = "ezk-host-gw", state = "stopped", enabled = false }
systemd_unit { name = "ezk-host-gw.service", state = "absent" }
command { title = "host-gw: routes to the other nodes' pods",
          unless = "[ -z \"$(ip -4 route show proto 186)\" ]",
          cmd = "ip -4 route flush proto 186" }
if cidr ~= "" then
  local rule = "-s " .. ezk.q(cidr) .. " ! -d " .. ezk.q(cidr) ..
    " -m comment --comment 'ezk host-gw' -j MASQUERADE"
  command { title = "host-gw: masquerading rule",
            unless = "! iptables -w -t nat -C POSTROUTING " .. rule .. " 2>/dev/null",
            cmd = "while iptables -w -t nat -C POSTROUTING " .. rule .. " 2>/dev/null; do " ..
              "iptables -w -t nat -D POSTROUTING " .. rule .. "; done" }
end
command { title = "delete the bridge cni0", unless = "! ip link show cni0 >/dev/null 2>&1",
          cmd = "ip link delete cni0" }
for _, p in ipairs({ "/etc/ezk/host-gw.sh", "/etc/cni/net.d", "/var/lib/cni" }) do
  file { path = p, state = "absent" }
end
