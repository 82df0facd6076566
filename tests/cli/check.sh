# ezk check: inventory and config.yml mistakes, before any host is touched.
. "$(dirname "$0")/../lib.sh" || exit 1

run "$EZK" new good
run "$EZK" check good
is "$rc" 0 "the template cluster passes check"
like "$out" "good: 5 hosts, 0 errors, 0 warnings" "summary line"

C=$EZK_HOME/clusters/c
mkdir -p "$C"
cp "$EZK_HOME/clusters/good/config.yml" "$C/config.yml"
base_vars='[all:vars]
CONTAINER_RUNTIME="containerd"
CLUSTER_NETWORK="host-gw"
SERVICE_CIDR="198.18.128.0/17"
CLUSTER_CIDR="198.19.0.0/16"
k8s_nodename='"''"

# check_case NAME HOSTS WANT_RC REGEX
check_case() {
	printf '%s\n%s\n' "$2" "$base_vars" >"$C/hosts"
	run "$EZK" check c
	is "$rc" "$3" "$1: exit $3"
	like "$err" "$4" "$1: reported"
	no_crash "$1"
}

check_case "even etcd members warn" '[etcd]
198.18.0.1
198.18.0.2
[kube_master]
198.18.0.1
[kube_node]
198.18.0.2' 0 "hosts:2: warning: .*even"

check_case "no etcd members" '[etcd]
[kube_master]
198.18.0.1
[kube_node]
198.18.0.1' 2 "hosts.*error: .*etcd"

check_case "host in no group" '198.18.0.9
[etcd]
198.18.0.1
[kube_master]
198.18.0.1
[kube_node]
198.18.0.1' 0 "hosts:1: warning: host 198.18.0.9 is in no group"

check_case "invalid node name" '[etcd]
198.18.0.1
[kube_master]
198.18.0.1 k8s_nodename=Master_01.
[kube_node]
198.18.0.1' 2 "hosts:4: error: node name 'master-01.' of host 198.18.0.1 is invalid"

check_case "duplicate node name" '[etcd]
198.18.0.1
[kube_master]
198.18.0.1 k8s_nodename=node-a
[kube_node]
198.18.0.2 k8s_nodename=node-a' 2 "hosts:6: error: node name 'node-a' of host 198.18.0.2 is also the name of host 198.18.0.1"

hosts_ok='[etcd]
198.18.0.1
[kube_master]
198.18.0.1
[kube_node]
198.18.0.2'

# check_var NAME VAR=VALUE WANT_RC REGEX : a config.yml line overrides one setting
check_var() {
	printf '%s\n%s\n' "$hosts_ok" "$base_vars" >"$C/hosts"
	cp "$EZK_HOME/clusters/good/config.yml" "$C/config.yml"
	printf '%s\n' "$2" >>"$C/config.yml"
	local line
	line=$(wc -l <"$C/config.yml")
	run "$EZK" check c
	is "$rc" "$3" "$1: exit $3"
	like "$err" "${4//@LINE@/$line}" "$1: reported"
}

check_var "malformed SERVICE_CIDR" 'SERVICE_CIDR: "198.18.128.0/33"' 2 "config.yml:@LINE@: error: SERVICE_CIDR: '198.18.128.0/33' is not a network"
check_var "SERVICE_CIDR without prefix" 'SERVICE_CIDR: "198.18.128.0"' 2 "config.yml:@LINE@: error: SERVICE_CIDR"
check_var "host bits set" 'CLUSTER_CIDR: "198.19.0.1/16"' 2 "config.yml:@LINE@: error: CLUSTER_CIDR"
check_var "overlapping CIDRs" 'CLUSTER_CIDR: "198.18.192.0/18"' 2 "config.yml:@LINE@: error: CLUSTER_CIDR overlaps SERVICE_CIDR"
check_var "CIDR holding a host" 'SERVICE_CIDR: "198.18.0.0/24"' 2 "config.yml:@LINE@: error: SERVICE_CIDR contains the address of host 198.18.0.1"
check_var "unknown CLUSTER_NETWORK" 'CLUSTER_NETWORK: "weave"' 2 "config.yml:@LINE@: error: CLUSTER_NETWORK 'weave' is not supported"
check_var "cilium: installed (helm), no warning" 'CLUSTER_NETWORK: "cilium"' 0 "^$"
check_var "kube-ovn: installed, no warning" 'CLUSTER_NETWORK: "kube-ovn"' 0 "^$"
check_var "kube-router: installed, no warning" 'CLUSTER_NETWORK: "kube-router"' 0 "^$"
check_var "kube-router: an unknown overlay" 'CLUSTER_NETWORK: "kube-router"
OVERLAY_TYPE: "ipip"' 2 "config.yml:@LINE@: error: OVERLAY_TYPE 'ipip'"
check_var "kube-router: FIREWALL_ENABLE not a bool" 'CLUSTER_NETWORK: "kube-router"
FIREWALL_ENABLE: "enabled"' 2 "config.yml:@LINE@: error: FIREWALL_ENABLE 'enabled'"
check_var "calico: installed, no warning" 'CLUSTER_NETWORK: "calico"' 0 "^$"
check_var "calico: an unknown backend" 'CLUSTER_NETWORK: "calico"
CALICO_NETWORKING_BACKEND: "ipip"' 2 "config.yml:@LINE@: error: CALICO_NETWORKING_BACKEND 'ipip'"
check_var "calico: an overlay mode calico lacks" 'CLUSTER_NETWORK: "calico"
CALICO_ENABLE_OVERLAY: "always"' 2 "config.yml:@LINE@: error: CALICO_ENABLE_OVERLAY 'always'"
check_var "calico: a release without kubeasz's manifest" 'CLUSTER_NETWORK: "calico"
calico_ver: "v3.30.1"' 2 "config.yml:[0-9]+: error: calico_ver_main 'v3.30'"
check_var "flannel: installed, no warning" 'CLUSTER_NETWORK: "flannel"' 0 "^$"
check_var "flannel: DIRECT_ROUTING quoted" 'CLUSTER_NETWORK: "flannel"
DIRECT_ROUTING: "false"' 0 "config.yml:@LINE@: warning: DIRECT_ROUTING is the string 'false'"
check_var "flannel: DIRECT_ROUTING without vxlan" 'CLUSTER_NETWORK: "flannel"
FLANNEL_BACKEND: "host-gw"
DIRECT_ROUTING: true' 0 "config.yml:@LINE@: warning: DIRECT_ROUTING is on but FLANNEL_BACKEND is 'host-gw'"
check_var "unknown CONTAINER_RUNTIME" 'CONTAINER_RUNTIME: "cri-o"' 2 "config.yml:@LINE@: error: CONTAINER_RUNTIME 'cri-o' is not supported"
check_var "undefined variable" 'X: "{{ nope }}"' 2 "config.yml:@LINE@: .*nope"
check_var "dual stack is fine" 'SERVICE_CIDR: "198.18.128.0/17,fd00:10:68::/108"' 0 "^$"

# ansible_host is the address that must stay out of the networks.
printf '[etcd]\nm1 ansible_host=198.19.3.4\n[kube_master]\nm1\n[kube_node]\nm1\n%s\n' "$base_vars" >"$C/hosts"
cp "$EZK_HOME/clusters/good/config.yml" "$C/config.yml"
run "$EZK" check c
is "$rc" 2 "ansible_host inside CLUSTER_CIDR: exit 2"
like "$err" "CLUSTER_CIDR contains the address of host m1 \(198.19.3.4\)" "ansible_host is checked"

# A hosts without CLUSTER_NETWORK (its [all:vars] lost): `setup all` stops
# before any host is touched (step 06's check), not after five steps.
printf '[etcd]\n198.18.0.1\n[kube_master]\n198.18.0.1\n[kube_node]\n198.18.0.2\n198.18.0.3\n[all:vars]\nCONTAINER_RUNTIME="containerd"\n' >"$C/hosts"
run "$EZK" setup c all -y
is "$rc" 2 "setup all with no CLUSTER_NETWORK: exit 2"
like "$err" "error: CLUSTER_NETWORK is not set \\(hosts' \\[all:vars\\] or config.yml\\)" "... naming the setting"
like "$err" "nothing was run" "... before any host is touched"
run "$EZK" setup c 01 --check -y
unlike "$err" "CLUSTER_NETWORK" "step 01 alone does not need it"

# A finding is said once, however many times the checks say it: a check
# that runs for every host and finds the same setting of [all:vars] wrong
# for each says the same error at the same line three times (core/engine.c
# check_said for setup, core/cmd-check.c for ezk check, collapse them). The
# role is the test's own, in front of ezk's (EZK_ROLES); its per-host
# warnings differ, and show that it did run for every host.
mkdir -p "$T/roles/perhost"
echo '-- (the role is its check.lua)' >"$T/roles/perhost/main.lua"
cat >"$T/roles/steps.lua" <<'EOF'
return { { id = "01", alias = "perhost", plays = { { hosts = "all", roles = { "perhost" } } } } }
EOF
cat >"$T/roles/perhost/check.lua" <<'EOF'
for _, h in ipairs(ezk.hosts) do
  local v, at = ezk.var(h, "PERHOST_MODE")
  ezk.warning(ezk.host_at(h), "perhost: checked host " .. h)
  if v == "bad" then ezk.error(at, "PERHOST_MODE 'bad' is not a mode") end
end
EOF
printf '[etcd]\n198.18.0.1\n[kube_master]\n198.18.0.1\n[kube_node]\n198.18.0.2\n198.18.0.3\n%s\nPERHOST_MODE="bad"\n' "$base_vars" >"$C/hosts"
line=$(grep -n '^PERHOST_MODE=' "$C/hosts" | cut -d: -f1)
EZK_ROLES=$T/roles:$EZK_SRC/roles run "$EZK" setup c perhost -y
is "$rc" 2 "setup with a per-host check's error: exit 2"
is "$(printf '%s\n' "$err" | grep -c 'perhost: checked host')" 3 "... the check ran for each of the 3 hosts"
is "$(printf '%s\n' "$err" | grep -c "hosts:$line: error: PERHOST_MODE 'bad' is not a mode")" 1 \
	"... the error each run said: said once, at its line"
EZK_ROLES=$T/roles:$EZK_SRC/roles run "$EZK" check c
is "$rc" 2 "ezk check with that error: exit 2"
is "$(printf '%s\n' "$err" | grep -c "hosts:$line: error: PERHOST_MODE 'bad' is not a mode")" 1 "... said once there too"
like "$out" "c: 3 hosts, 1 error, " "... and counted once"

done_testing
