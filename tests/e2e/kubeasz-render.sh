# The v1.36 render test (issue 13): kubeasz 3.7's own templates of steps
# 03-05 (roles containerd, kube-lb, kube-master, kube-node) rendered by
# Debian's ansible-playbook with kubeasz's variable precedence, against what
# ezk's roles would write for the same inventory and config.yml on a real
# systemd test host (`ezk setup c 03-05 -t config --check --diff --json`:
# nothing is written anywhere, every file's content is its diff). Every
# unit's flags and every config file's keys and values are compared, host by
# host (tests/compat/README.md); the test passes when the only differences
# are the intended ones listed below, each with its reason, and every file
# kubeasz writes has its ezk counterpart and the other way round. First,
# compare.py is shown to fail on each kind of change (tests/compat/selftest.py).
#
# This is how ezk proves it installs what kubeasz installs for the versions
# this machine cannot run (Kubernetes v1.36, containerd 2: kubeasz 3.7's
# pins, ezk's defaults); e2e/cluster runs v1.20.2 for real.
#
# The inventory is kubeasz's example/hosts.multi-node as `ezctl new` writes
# it, its addresses replaced by 198.18.0.1-5 (and its [harbor] example line
# in, as 198.18.0.8; no step here contacts it). ezk's copy adds ansible_host:
# the five inventory hosts are one test host (nothing is written; each is
# read as the bare host it is). config.yml is kubeasz's example as kubeasz's
# own `ezctl new` makes it (its function, run on kubeasz's ezdown: K8S_VER
# 1.36.3 and the other pins), with the test's addresses, docker.io's mirrors
# and the audit log on; ezk's is ezk's template with the same values.
# Per-host settings make one run cover both sides of each switch: worker-01
# runs kube-proxy in iptables mode without the node-local DNS cache,
# worker-02 in ipvs mode reserving resources for Kubernetes and the system,
# the masters in nftables mode (kubeasz's default).
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
th_skip_unless_root
th_private_home
t_start=$(date +%s)
tick() { echo "# $(($(date +%s) - t_start)) s: $1"; }

KZ=$EZK_SHARED_DATA/kubeasz-3.7
KE=$EZK_SHARED_DATA/kubeasz-example
if [ ! -d "$KZ/roles" ] || [ ! -f "$KE/hosts.multi-node" ] || [ ! -f "$KE/config.yml" ]; then
	skip "../shared/data is absent ($EZK_SHARED_DATA): kubeasz 3.7's roles and examples are what this test compares with"
	done_testing
	exit 0
fi
command -v ansible-playbook >/dev/null || { fail "ansible-playbook is installed (scripts/install-deps.sh)"; done_testing; exit 1; }
COMPAT=$EZK_SRC/tests/compat

# Differences that are intended, as compare.py prints them ('*' matches any
# text), each with its reason after '##'. Any other difference is a bug in
# ezk's roles (fix it there) or a kubeasz quirk ezk improves on purpose (add
# it here with its reason); an entry that no longer occurs fails the test.
cat >"$T/intended" <<'EOF'
/var/lib/kube-proxy/kube-proxy-config.yaml: conntrack.maxPerCore: kubeasz 32768 | ezk 0  ## kube-proxy leaves nf_conntrack_max to step 01's sysctl: kubeasz's two settings undo each other on every run (README, 05 node)
/etc/kube-lb/conf/kube-lb.conf: pid: kubeasz - | ezk "/etc/kube-lb/logs/kube-lb.pid"  ## kubeasz's nginx finds its pid file under -p /etc/kube-lb; a distribution's (Debian's: /run/nginx.pid) would take the host nginx's
/etc/systemd/system/kube-lb.service: [Service] PIDFile: kubeasz - | ezk "/etc/kube-lb/logs/kube-lb.pid"  ## Type=forking: systemd is told nginx's main process instead of guessing it
/etc/systemd/system/*.service: [Unit] Documentation: kubeasz ["https://github.com/GoogleCloudPlatform/kubernetes"] | ezk ["https://kubernetes.io/docs/reference/command-line-tools-reference/*"]  ## each unit links its component's reference instead of the old repository address
/etc/containerd/certs.d/harbor.easzlab.io.local:8443/hosts.toml: host.'https://harbor.easzlab.io.local:8443'.header.Authorization: kubeasz "Basic dXNlcm5hbWU6cGFzc3dvcmQ=" | ezk -  ## kubeasz sends its sample credentials ("username:password") to Harbor; ezk sends none
EOF

# ---- kubeasz's side: `ezctl new` (kubeasz's own function, run on kubeasz's
# ezdown and examples), the test's addresses, then Ansible in the background
# while the test hosts start
KB=$T/kubeasz-base
mkdir -p "$KB/example"
cp "$KE/hosts.multi-node" "$KE/config.yml" "$KB/example/"
cp "$KZ/ezdown" "$KB/"
if ! (cd "$KB" && BASE=$KB && source <(sed '/^main "\$@"$/d' "$KZ/ezctl") && new c) >"$T/ezctl.log" 2>&1; then
	fail "kubeasz's ezctl new" "$(tail -5 "$T/ezctl.log")"
	done_testing
	exit 1
fi
KC=$KB/clusters/c
is "$(grep -c '__[a-z_]*__' "$KC/config.yml")" "0" "ezctl new filled every placeholder of config.yml (ezdown's pins)"
like "$(grep '^K8S_VER:' "$KC/config.yml")" '^K8S_VER: "1\.36\.[0-9]+"$' "... K8S_VER is ezdown's v1.36 ($(sed -n 's/^K8S_VER: //p' "$KC/config.yml"))"

# the inventory: the test's addresses and the per-host settings (hosts.multi-node
# lists its .1-.3 as etcd and masters, .4-.5 as workers)
sed -i -E 's/192\.168\.1\.([1-5])\b/198.18.0.\1/g
	s|^SERVICE_CIDR=.*|SERVICE_CIDR="198.18.128.0/20"|; s|^CLUSTER_CIDR=.*|CLUSTER_CIDR="198.19.0.0/16"|
	s|^(198\.18\.0\.4 .*)$|\1 PROXY_MODE=iptables ENABLE_LOCAL_DNS_CACHE=False|
	s|^(198\.18\.0\.5 .*)$|\1 PROXY_MODE=ipvs KUBE_RESERVED_ENABLED="yes" SYS_RESERVED_ENABLED="yes"|
	s|^#192\.168\.1\.8 (NEW_INSTALL=false)$|198.18.0.8 \1|' "$KC/hosts"
grep -q '^198\.18\.0\.8 NEW_INSTALL=false$' "$KC/hosts" || fail "hosts.multi-node's [harbor] example line is uncommented"
# config.yml: the test's addresses; docker.io's mirrors and the audit log on
# (ezctl turns the mirrors off unless /etc/docker/daemon.json has some);
# the reservations and the DNS cache switch move to the inventory ([all:vars]
# with kubeasz's values, overridden by the hosts above: config.yml would
# override any host's own value, as -e does)
MOVED="KUBE_RESERVED_ENABLED SYS_RESERVED_ENABLED ENABLE_LOCAL_DNS_CACHE"
for k in $MOVED; do
	line=$(grep "^$k:" "$KC/config.yml") || fail "config.yml has $k"
	sed -i "/^$k:/d" "$KC/config.yml"
	# (an INI value is a Python literal: True, not YAML's true)
	printf '%s=%s\n' "$k" "$(printf '%s' "${line#*:}" | sed 's/^ *//; s/^true$/True/; s/^false$/False/')" >>"$KC/hosts"
done
sed -i -E 's|^  - "10\.1\.1\.1"|  - "198.18.200.1"|; s|^nfs_server:.*|nfs_server: "198.18.200.10"|
	s|^LOCAL_DNS_CACHE:.*|LOCAL_DNS_CACHE: "198.18.254.10"|
	s|^ENABLE_MIRROR_REGISTRY:.*|ENABLE_MIRROR_REGISTRY: true|; s|^ENABLE_CLUSTER_AUDIT:.*|ENABLE_CLUSTER_AUDIT: true|' "$KC/config.yml"
# addresses FILE...: the addresses outside 127.0.0.0/8 and 198.18.0.0/15 in
# the files' lines (comments left out), as file:line: address
addresses() {
	$PY - "$@" <<'EOF'
import ipaddress, re, sys
ok = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("198.18.0.0/15")]
for f in sys.argv[1:]:
    for n, line in enumerate(open(f), 1):
        for a in re.findall(r"\b\d+\.\d+\.\d+\.\d+\b", line.split("#", 1)[0]):
            if not any(ipaddress.ip_address(a) in net for net in ok):
                print("%s:%d: %s" % (f, n, a))
EOF
}
is "$(addresses "$KC/hosts" "$KC/config.yml")" "" "kubeasz's hosts and config.yml: every address in 127.0.0.0/8 or 198.18.0.0/15"
(
	$PY "$COMPAT/kubeasz_render.py" --kubeasz "$KZ" --inventory "$KC/hosts" --config "$KC/config.yml" \
		--work "$T/ansible" --out "$T/kubeasz" 03.runtime.yml 04.kube-master.yml 05.kube-node.yml \
		>"$T/render.out" 2>&1
	echo $? >"$T/render.rc"
) &
render=$!

# ---- ezk's side: a systemd test host, the same inventory (plus
# ansible_host) and config.yml values
th_start 1 || { fail "a test host starts"; wait $render; done_testing; exit 1; }
tick "test host up"
"$EZK" new c >/dev/null
CD=$EZK_HOME/clusters/c
cp "$KC/hosts" "$CD/hosts"
sed -i -E "s/^(198\.18\.0\.[1-5])( .*)?$/\1\2 ansible_host=${TH_ADDRS[0]}/" "$CD/hosts"
run $PY "$COMPAT/ezk_config.py" "$KC/config.yml" "$CD/config.yml"
is "$rc" 0 "ezk's config.yml: its template with kubeasz's values"
[ "$rc" = 0 ] || echo "$err" | sed 's/^/# /'
printf '%s\n' "$out" | awk -F'\t' '$1 == "note" { print "# note: ezk new sets " $2 " apart from ezctl new: " $3 }'
for k in $MOVED; do sed -i "/^$k:/d" "$CD/config.yml"; done # in the inventory, as on kubeasz's side
is "$(addresses "$CD/hosts" "$CD/config.yml")" "" "ezk's hosts and config.yml: every address in 127.0.0.0/8 or 198.18.0.0/15"
run "$EZK" check c
is "$rc" 0 "ezk check accepts kubeasz's inventory and config.yml"
[ "$rc" = 0 ] || echo "$err" | head -5 | sed 's/^/# /'

wait $render
tick "kubeasz's side rendered"
is "$(cat "$T/render.rc")" "0" "kubeasz's templates rendered by ansible-playbook ($(($(date +%s) - t_start)) s so far)"
[ "$(cat "$T/render.rc")" = 0 ] || { sed 's/^/# /' "$T/render.out" | tail -20; tail -20 "$T/ansible/ansible.err" | sed 's/^/# /'; }

# compare.py fails on each kind of change (and reads each rewording as the same)
run $PY "$COMPAT/selftest.py" "$T/kubeasz/198.18.0.1" "$KZ"
while IFS=$'\t' read -r st what why; do
	[ "$st" = ok ] && pass "compare.py: $what" || fail "compare.py: $what" "$why"
done <<<"$out"
[ "$rc" = 0 ] || fail "selftest.py: exit 0" "$err"

# kubeasz's stat of /run/systemd/resolve/resolv.conf runs on this machine
# (connection local), ezk's on the test host: the two must agree
is "$(th_exec 0 sh -c 'test -f /run/systemd/resolve/resolv.conf && echo yes || echo no')" \
	"$(test -f /run/systemd/resolve/resolv.conf && echo yes || echo no)" \
	"the test host and this machine agree on /run/systemd/resolve/resolv.conf (the kubelet's resolvConf)"

# a bare host: a test host shows the machine's own files through its overlay
# (Debian's /etc/containerd/config.toml); ezk's diff of a file the host lacks
# is the whole file, so every file kubeasz writes is removed from it first
for n in 1 2 3 4 5; do
	(cd "$T/kubeasz/198.18.0.$n" 2>/dev/null && find . -type f | sed 's|^\.||') >"$T/dests.$n"
	[ -s "$T/dests.$n" ] || fail "kubeasz rendered files for 198.18.0.$n"
done
sort -u "$T"/dests.* | th_exec 0 xargs -r rm -f

. "$EZK_SRC/tests/harness/events.sh"
digs0=$(th_upper_digest 0)
ev_setup render c 03-05 -t config --check --diff
is "$rc" 0 "ezk setup c 03-05 -t config --check --diff: exit 0"
[ "$rc" = 0 ] || grep -P '\t(failed|unreachable)\t' "$T/render.tasks" | head -10 | sed 's/^/# /'
is "$(th_upper_digest 0)" "$digs0" "... wrote nothing on the host"
[ -e "$CD/ssl" ] && fail "... and made no certificate" || pass "... and made no certificate"

tick "ezk's side rendered"
run $PY "$COMPAT/ezk_events.py" "$T/render.json" "$T/ezk"
is "$rc" 0 "the JSON events carry every file's whole content as its diff"
printf '%s\n' "$out" | awk -F'\t' '$1 == "nodiff" || $1 == "failed" { print "# " $0 }'
edits=$(printf '%s\n' "$out" | awk -F'\t' '$1 == "edit" { print $2 " " $3 }')
is "$(printf '%s\n' "$edits" | grep -v ' /root/\.bashrc$' | grep -v '^$')" "" \
	"... each a file the host lacked (only root's .bashrc is an edit: kubeasz's lineinfile there is not a template)"
is "$(printf '%s\n' "$out" | awk -F'\t' '$1 == "nodiff"' | wc -l)" "0" "... and no changed task without a diff (under -t config)"

# ---- the comparison
$PY "$COMPAT/compare.py" "$T/kubeasz" "$T/ezk" --intended "$T/intended" >"$T/compare.out" 2>"$T/compare.err"
crc=$?
[ -s "$T/compare.err" ] && sed 's/^/# /' "$T/compare.err"
for n in 1 2 3 4 5; do
	h=198.18.0.$n
	while IFS=$'\t' read -r _ host path kind keys bad good; do
		[ "$host" = "$h" ] || continue
		name="$h $path ($kind): $keys keys"
		[ "$good" != 0 ] && name="$name, $good intended differences"
		if [ "$bad" = 0 ] && { [ "$keys" -gt 0 ] || [ "$kind" = "-" ]; }; then
			pass "$name"
		else
			fail "$name" "$(awk -F'\t' -v h="$h" -v p="$path" '$1 == "diff" && $2 == h && $3 == p && $5 == "" { print $4 }' "$T/compare.out")"
		fi
	done < <(grep -P '^file\t' "$T/compare.out")
	summary=$(awk -F'\t' -v h="$h" '$1 == "host" && $2 == h { print $3 " files, " $4 " keys" }' "$T/compare.out")
	like "$summary" '^[1-9][0-9]* files, [1-9][0-9]* keys$' "$h: compared $summary"
done
errors=$(awk -F'\t' '$1 == "error" { print $2 " " $3 ": " $4 }' "$T/compare.out")
is "$errors" "" "every file read by its kind (units, TOML, YAML, JSON, nginx)"
echo "# compared: $(awk -F'\t' '$1 == "file" && $4 != "-" { f++; k += $5; kind[$4]++ } END {
	printf "%d files, %d keys (", f, k; sep = ""; for (x in kind) { printf "%s%s %d", sep, x, kind[x]; sep = ", " } print ")" }' "$T/compare.out")"
stale=$(awk -F'\t' '$1 == "stale" { print $2 "  ## " $3 }' "$T/compare.out")
is "$stale" "" "every intended difference still occurs"
is "$crc" 0 "compare.py: the only differences are intended"
awk -F'\t' '$1 == "diff" && $5 != "" { print $4 "  [" $5 "]" }' "$T/compare.out" | sort -u | sed 's/^/# intended: /'

if [ -n "${EZK_COMPAT_KEEP:-}" ]; then # the trees and records, for a look (tests/compat/README.md)
	rm -rf "$EZK_COMPAT_KEEP" && mkdir -p "$EZK_COMPAT_KEEP" &&
		cp -a "$T/kubeasz" "$T/ezk" "$T/compare.out" "$T/intended" "$T/render.json" "$T/ansible" "$KC" "$CD/hosts" \
			"$EZK_COMPAT_KEEP/" && echo "# kept in $EZK_COMPAT_KEEP"
	cp "$CD/config.yml" "$EZK_COMPAT_KEEP/ezk-config.yml"
fi
echo "# $(($(date +%s) - t_start)) s"
done_testing
