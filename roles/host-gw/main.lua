-- host-gw (step 06, CLUSTER_NETWORK "host-gw", every master and node): a
-- pod network made only of the CNI plugins every install carries (bridge,
-- host-local, portmap, loopback), no image, no daemon:
--   - this node's pods on the bridge cni0, with addresses from the node's
--     pod subnet (spec.podCIDR, which the controller-manager allocates from
--     CLUSTER_CIDR: --allocate-node-cidrs, NODE_CIDR_LEN);
--   - on every node, a route to each other node's pod subnet through that
--     node's address (ip route ... proto 186, ezk's mark: routes of that
--     mark that no node needs any more are removed, so a rerun after nodes
--     came or went brings every node in step);
--   - pods' traffic leaving CLUSTER_CIDR masqueraded (one iptables rule).
-- The routes and the rule are in /etc/ezk/host-gw.sh, which a oneshot unit
-- runs at boot; the role runs it when the live state differs.
--
-- Limits: the nodes must share one L2 segment (a route's gateway is a
-- node's own address); no network policy. kubeasz's default bridge config
-- (10-default.conf) goes once this one is in place.

local vars, q = ezk.vars, ezk.q
if vars.CLUSTER_NETWORK ~= "host-gw" then return end

local name = vars.K8S_NODENAME
local kubectl = q(vars.bin_dir .. "/kubectl") .. " --kubeconfig=/root/.kube/config --request-timeout=20s"
local cidr = assert(ezk.net(vars.CLUSTER_CIDR))

-- this node's pod subnet (allocated when the node registered: step 04/05).
-- --check asks once and waits for nothing: on hosts steps 04/05 of this run
-- would set up first, there is no kubectl or API yet, which is no failure.
local mine = command {
  title = "host-gw: pod subnet of " .. name, check_mode = false, changed_when = false,
  cmd = kubectl .. " get node " .. q(name) .. " -o jsonpath='{.spec.podCIDR}'",
  retries = ezk.check and 0 or tonumber(vars.HOST_GW_PODCIDR_TIMEOUT) or 120, delay = 1,
  ["until"] = function(r) return r.rc == 0 and ezk.trim(r.stdout) ~= "" end,
  failed_when = ezk.check and function() return false end or nil,
}
local subnet = ezk.trim(mine.stdout or "")
if subnet == "" then
  if ezk.check then -- --check on a cluster not made yet: 04/05 of this run would make it
    ezk.report("host-gw: configure " .. name, "changed", "would configure (the node is not registered yet)")
    return
  end
  ezk.fail("node " .. name .. " has no pod subnet (spec.podCIDR): is the controller-manager running with --allocate-node-cidrs?")
end

-- every node's address and pod subnet
local list = command {
  title = "host-gw: the nodes' pod subnets", check_mode = false, changed_when = false,
  cmd = kubectl .. " get nodes -o jsonpath='{range .items[*]}{.metadata.name} " ..
    "{.status.addresses[?(@.type==\"InternalIP\")].address} {.spec.podCIDR}{\"\\n\"}{end}'",
}
local routes = {}
for _, l in ipairs(ezk.lines(list.stdout)) do
  local n, addr, pc = l:match("^(%S+) (%S+) (%S+)$")
  if n and n ~= name then
    if not cidr:contains(pc) then
      ezk.fail("node " .. n .. "'s pod subnet " .. pc .. " is not in CLUSTER_CIDR " .. tostring(cidr))
    end
    routes[#routes + 1] = pc .. " " .. addr
  end
end
table.sort(routes)

-- the CNI config: bridge + host-local on this node's subnet, portmap
local conf = table.concat({
  '{',
  '  "cniVersion": "0.3.1",',
  '  "name": "host-gw",',
  '  "plugins": [',
  '    {',
  '      "type": "bridge",',
  '      "bridge": "cni0",',
  '      "isGateway": true,',
  '      "ipMasq": false,',
  '      "hairpinMode": true,',
  '      "ipam": {',
  '        "type": "host-local",',
  '        "ranges": [[{ "subnet": "' .. subnet .. '" }]],',
  '        "routes": [{ "dst": "0.0.0.0/0" }]',
  '      }',
  '    },',
  '    { "type": "portmap", "capabilities": { "portMappings": true }, "snat": true }',
  '  ]',
  '}', '' }, "\n")
copy { dest = "/etc/cni/net.d/10-host-gw.conflist", content = conf, mode = "0644", tags = "config" }
file { path = "/etc/cni/net.d/10-default.conf", state = "absent" }

-- routes and masquerading, now and at boot
local script = table.concat({
  "#!/bin/sh",
  "# Written by ezk (step 06, CLUSTER_NETWORK host-gw): a route to each other",
  "# node's pod subnet through that node, and pods' traffic leaving",
  "# CLUSTER_CIDR masqueraded. Edit the inventory and rerun step 06, not this.",
  "# --check: exit 1 when the live state differs, change nothing.",
  "set -e",
  "PROTO=186",
  "CLUSTER_CIDR=" .. tostring(cidr),
  "ROUTES='" .. table.concat(routes, "\n") .. "'",
  [==[check=0; [ "${1:-}" = --check ] && check=1
differs=0
want=$(printf '%s\n' "$ROUTES" | sed '/^$/d' | sort)
have=$(ip -4 route show proto $PROTO | awk '{print $1, $3}' | sort)
if [ "$want" != "$have" ]; then
	differs=1
	if [ $check = 0 ]; then
		printf '%s\n' "$have" | while read -r net gw; do
			[ -n "$net" ] || continue
			printf '%s\n' "$want" | grep -qxF "$net $gw" || ip route del "$net" via "$gw" proto $PROTO
		done
		printf '%s\n' "$want" | while read -r net gw; do
			[ -n "$net" ] || continue
			ip route replace "$net" via "$gw" proto $PROTO
		done
	fi
fi
set -- -s "$CLUSTER_CIDR" ! -d "$CLUSTER_CIDR" -m comment --comment "ezk host-gw" -j MASQUERADE
if ! iptables -w -t nat -C POSTROUTING "$@" 2>/dev/null; then
	differs=1
	[ $check = 1 ] || iptables -w -t nat -A POSTROUTING "$@"
fi
[ $check = 0 ] || [ $differs = 0 ]]==], "" }, "\n")
copy { dest = "/etc/ezk/host-gw.sh", content = script, mode = "0755", tags = "config" }
systemd_unit { name = "ezk-host-gw.service", tags = "config", content = [[
# Written by ezk (step 06, CLUSTER_NETWORK host-gw): the pod network's
# routes and masquerading at boot.
[Unit]
Description=ezk host-gw pod network routes
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/etc/ezk/host-gw.sh

[Install]
WantedBy=multi-user.target
]] }
service { name = "ezk-host-gw", enabled = true }
command { title = "host-gw: routes to " .. #routes .. " other nodes' pods", cmd = "/etc/ezk/host-gw.sh",
          unless = "/etc/ezk/host-gw.sh --check" }
