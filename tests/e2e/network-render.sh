# Step 06's network plugins against kubeasz 3.7's own templates, for
# Kubernetes v1.36 (kubeasz's K8S_VER): kubeasz's cluster made by its ezctl
# `new`, Ansible renders the plugin role's templates as its tasks do (the
# role's vars/main.yml, `-i hosts -e @config.yml`), `ezk setup c 06 -t
# config` renders ezk's from the same two files, and addons-compare.py
# matches the objects by kind, namespace and name and compares their
# images, commands and args, env, config data and the whole objects
# (tests/e2e/lib/render.sh holds what this shares with e2e/addons-render,
# which compares flannel with step 07's add-ons).
#
# calico: the manifest kubeasz picks by calico_ver_main (calico-v3.32,
# v3.28, v3.26), with the bird, vxlan and none backends, each overlay
# mode, another IP_AUTODETECTION_METHOD, CLUSTER_CIDR and NODE_PORT_RANGE;
# route reflectors' bgp-default.yaml and bgp-rr.yaml when CALICO_RR_ENABLED.
# kube-router: OVERLAY_TYPE full and subnet, FIREWALL_ENABLE on and off,
# two releases; one intended difference (--hostname-override), with its
# reason, checked to occur.
# cilium: its Helm values (the chart, which helm installs with them, is not
# at hand), compared whole. kube-ovn: its
# install.sh as step 06 fills it in, byte for byte kubeasz's (ezk does not
# carry the script: upstream's is made here from kubeasz's template), and
# the scripts step 06 refuses.
# Each manifest's images are ones `ezk download` fetches for that cluster
# (offline/versions.yml).
# Not compared: calicoctl.cfg, which kubeasz and ezk write on each node
# (a play this test leaves out: it contacts no host); the certificate's
# request (calico-csr.json: ezk makes the certificate with libcrypto, the
# subject CN calico, O k8s, is in roles/calico/main.lua).
#
# No host is contacted; the addresses are 198.18/15's.
. "$EZK_SRC/tests/e2e/lib/render.sh"
render_setup || { done_testing; exit 0; }

# kubeasz's tasks (roles/calico/tasks/main.yml and calico-rr.yml: the same
# sources, conditions and vars; dest in our output dir)
R=$KZ/roles/calico
cat >"$T/render.yml" <<PLAY
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: ["$R/vars/main.yml", "$KZ/roles/kube-ovn/vars/main.yml"]
  tasks:
    - template: {src: "$R/templates/calico-{{ calico_ver_main }}.yaml.j2", dest: "{{ out }}/calico.yaml"}
      when: 'CLUSTER_NETWORK == "calico"'
    - template: {src: "$R/templates/{{ item }}.yaml.j2", dest: "{{ out }}/calico-{{ item }}.yaml"}
      with_items: [bgp-default, bgp-rr]
      when: 'CLUSTER_NETWORK == "calico" and CALICO_RR_ENABLED|bool'
    # roles/kube-router/tasks/main.yml (run_once, on the first node: its
    # inventory_hostname; here localhost's)
    - template: {src: "$KZ/roles/kube-router/templates/kuberouter.yaml.j2", dest: "{{ out }}/kube-router.yaml"}
      when: 'CLUSTER_NETWORK == "kube-router"'
    # roles/cilium/tasks/main.yml: the chart's values (the chart itself is
    # not at hand)
    - template: {src: "$KZ/roles/cilium/templates/values.yaml.j2", dest: "{{ out }}/cilium-values.yaml"}
      when: 'CLUSTER_NETWORK == "cilium"'
    # roles/kube-ovn/tasks/main.yml: install.sh with kubeasz's values
    - template: {src: "$KZ/roles/kube-ovn/templates/install.sh.j2", dest: "{{ out }}/kube-ovn-install.sh"}
      when: 'CLUSTER_NETWORK == "kube-ovn"'
PLAY

# Differences ezk means, per manifest (addons-compare.py --intended: each
# must occur, each has its reason; the rest of the object is compared)
printf '%s\t%s\t%s\t%s\n' \
	DaemonSet/kube-system/kube-router 'spec.template.spec.containers[name=kube-router].args' '^--hostname-override=' \
	"kubeasz renders the DaemonSet once (run_once), so every node's kube-router gets the first host's RT-<address>; kube-router finds its node by NODE_NAME first and reads the flag only when NODE_NAME names no node: ezk leaves it out" \
	>"$T/intended-kube-router"

# compare NAME PLUGIN: render both from kubeasz's clusters/c as it is now
compare() {
	local name=$1 kout=$T/out-$1 y=$EZK_HOME/clusters/$1/yml f
	kubeasz_render "$name" "$T/render.yml" "$kout"
	ezk_render "$name" 06
	is "$(cd "$y" 2>/dev/null && ls *.yaml 2>/dev/null | sort | paste -sd' ')" "$(cd "$kout" && ls | sort | paste -sd' ')" \
		"$name: the same manifests rendered"
	local b
	for f in "$kout"/*.yaml; do
		[ -f "$f" ] || continue
		b=$(basename "$f" .yaml)
		if [ "$b" = cilium-values ]; then
			tap_lines "$name" "$($PY "$CMP" --values "$b" "$f" "$y/$b.yaml" 2>&1)"
		elif [ -f "$T/intended-$b" ]; then
			tap_compare "$name" "$b" "$f" "$y/$b.yaml" --intended "$T/intended-$b"
		else
			tap_compare "$name" "$b" "$f" "$y/$b.yaml"
		fi
	done
}

# ---- calico 1. kubeasz's defaults: bird (IPIP Always), v3.32, no reflectors
set_var hosts CLUSTER_NETWORK calico
cv=$(sed -n 's/^calico_ver: *"\{0,1\}\([^"]*\)"\{0,1\}.*/\1/p' "$KC/config.yml")
is "$cv" "$(sed -n 's/^calicoVer=//p' "$KZ/ezdown")" "calico: calico_ver is ezdown's"
like "$cv" '^v3\.32\.' "calico: kubeasz's default is the v3.32 manifest"
compare calico-bird
y=$EZK_HOME/clusters/calico-bird/yml
is "$(grep -c "image: easzlab\.io\.local:5000/easzlab/node:$cv$" "$y/calico.yaml")" 2 \
	"calico-bird: calico-node and its bpf init container run the bundle's node $cv"
offline_images calico-bird "$y/calico.yaml"
like "$(grep -A1 'CALICO_IPV4POOL_CIDR' "$y/calico.yaml")" '198\.19\.0\.0/16' "calico-bird: the default pool is CLUSTER_CIDR"
like "$(grep 'etcd_endpoints:' "$y/calico.yaml")" '"https://198\.18\.0\.1:2379,https://198\.18\.0\.2:2379,https://198\.18\.0\.3:2379"' \
	"calico-bird: etcd's endpoints are [etcd]'s"
like "$(grep 'CALICO_IPV4POOL_IPIP' "$y/calico.yaml")" 'value: "Always"' "calico-bird: IPIP Always (CALICO_ENABLE_OVERLAY)"

# the comparer fails on a changed value: ezk's calico.yaml with one value
# changed each time, against kubeasz's
mutant() { # WHAT SED-EXPR FACET
	mutant_test calico "$y/calico.yaml" "$T/out-calico-bird/calico.yaml" "$2" "$3" "$1"
}
mutant "a ConfigMap value (the backend)" 's/calico_backend: "bird"/calico_backend: "vxlan"/' "config data"
mutant "the CNI config's certificate path" 's|"etcd_cert_file": "/etc/calico/ssl/calico.pem"|"etcd_cert_file": "/etc/calico/calico.pem"|' "config data"
mutant "an image's tag" "0,/easzlab\/node:$cv/s//easzlab\/node:v3.32.0/" "images"
mutant "a command's arg" 's/command: \[calico-node, -init, -best-effort\]/command: [calico-node, -init]/' "command and args"
mutant "an env value (IP_AUTODETECTION_METHOD)" 's/{name: IP_AUTODETECTION_METHOD, value: "can-reach=198.18.0.1"}/{name: IP_AUTODETECTION_METHOD, value: "can-reach=198.18.0.2"}/' "env"
mutant "an env value (the pool's IPIP)" 's/{name: CALICO_IPV4POOL_IPIP, value: "Always"}/{name: CALICO_IPV4POOL_IPIP, value: "Never"}/' "env"
mutant "a probe (bird's liveness)" 's/, -bird-live\]/]/' "DaemonSet/kube-system/calico-node whole object"
mutant "an RBAC rule" 's/verbs: \[watch, list, get, create, update, delete\]/verbs: [watch, list, get]/' "ClusterRole//calico-kube-controllers whole object"

# ---- calico 2. vxlan, CrossSubnet, v3.28, another address method, pod range
# and NodePort range; route reflectors (the masters)
set_var config CALICO_NETWORKING_BACKEND '"vxlan"'
set_var config CALICO_ENABLE_OVERLAY '"CrossSubnet"'
set_var config IP_AUTODETECTION_METHOD '"interface=eth0"'
set_var config calico_ver '"v3.28.2"'
set_var config CALICO_RR_ENABLED true
set_var hosts CLUSTER_CIDR 198.19.128.0/17
set_var hosts NODE_PORT_RANGE 31000-31999
compare calico-vxlan
y=$EZK_HOME/clusters/calico-vxlan/yml
like "$(grep 'CALICO_IPV4POOL_VXLAN' "$y/calico.yaml")" 'value: "CrossSubnet"' "calico-vxlan: VXLAN CrossSubnet"
unlike "$(cat "$y/calico.yaml")" 'CALICO_IPV4POOL_IPIP|bird-live' "calico-vxlan: no IPIP, no bird checks"
like "$(grep 'FELIX_KUBENODEPORTRANGES' "$y/calico.yaml")" '"31000:31999"' "calico-vxlan: felix's NodePort range is NODE_PORT_RANGE"
like "$(grep 'ENABLED_CONTROLLERS' "$y/calico.yaml")" 'node"\}$' "calico-vxlan: v3.28's controllers (no loadbalancer)"
like "$(cat "$y/calico-bgp-default.yaml")" 'nodeToNodeMeshEnabled: false' "calico-vxlan: reflectors: no full mesh"

# ---- calico 3. no calico routing (none), Never, v3.26, reflectors of CALICO_RR_NODES
set_var config CALICO_NETWORKING_BACKEND '"none"'
set_var config CALICO_ENABLE_OVERLAY '"Never"'
set_var config calico_ver '"v3.26.4"'
set_var config CALICO_RR_NODES '["198.18.0.1", "198.18.0.2"]'
compare calico-none
y=$EZK_HOME/clusters/calico-none/yml
unlike "$(cat "$y/calico.yaml")" 'CALICO_IPV4POOL_(IPIP|VXLAN)' "calico-none: no encapsulation setting"
is "$(grep -c 'type: DirectoryOrCreate' "$y/calico.yaml")" 2 "calico-none: v3.26's host paths (DirectoryOrCreate for sys-fs and policysync only)"

# ---- calico 4. route reflectors off: no bgp manifests
set_var config CALICO_RR_ENABLED false
set_var config calico_ver "\"$cv\""
set_var config CALICO_NETWORKING_BACKEND '"bird"'
compare calico-norr

# ---- kube-router 1. kubeasz's defaults: full overlay, the firewall on
set_var hosts CLUSTER_NETWORK kube-router
kv=$(sed -n 's/^kube_router_ver: *"\{0,1\}\([^"]*\)"\{0,1\}.*/\1/p' "$KC/config.yml")
is "$kv" "$(sed -n 's/^kubeRouterVer=//p' "$KZ/ezdown")" "kube-router: kube_router_ver is ezdown's"
compare kube-router
y=$EZK_HOME/clusters/kube-router/yml
offline_images kube-router "$y/kube-router.yaml"
like "$(grep -- '--overlay-type' "$y/kube-router.yaml")" 'overlay-type=full$' "kube-router: OVERLAY_TYPE full"
like "$(grep -- '--run-firewall' "$y/kube-router.yaml")" 'run-firewall=True$' "kube-router: the firewall on (as Jinja prints true)"
mutant() { # WHAT SED-EXPR FACET
	mutant_test kube-router "$y/kube-router.yaml" "$T/out-kube-router/kube-router.yaml" "$2" "$3" "$1" \
		--intended "$T/intended-kube-router"
}
mutant "an arg (--run-firewall)" 's/--run-firewall=True/--run-firewall=False/' "command and args"
mutant "the CNI config" 's/"bridge":"kube-bridge",/"bridge":"kube-bridge0",/' "config data"
mutant "the init container's script" 's|mv ${TMP} /etc/cni/net.d/10-kuberouter.conflist;|mv ${TMP} /etc/cni/net.d/10-kuberouter.conf;|' "command and args"
mutant "an image's tag" "0,/kube-router:$kv/s//kube-router:v0.0.1/" "images"
mutant "a probe's port" 's/port: 20244}/port: 20245}/' "DaemonSet/kube-system/kube-router whole object"
# an intended difference that no longer occurs fails too: ezk's with the
# flag kubeasz has
sed 's|^            - --overlay-type=|            - --hostname-override=RT-198.18.0.1\n            - --overlay-type=|' "$y/kube-router.yaml" >"$T/mutant.yaml"
like "$($PY "$CMP" kube-router "$T/out-kube-router/kube-router.yaml" "$T/mutant.yaml" --intended "$T/intended-kube-router" | grep -P '^DIFF\t' | cut -f2)" \
	"intended: DaemonSet/kube-system/kube-router" "the comparer fails on an intended difference that does not occur"

# ---- kube-router 2. subnet overlay, no firewall, another release
set_var config OVERLAY_TYPE '"subnet"'
set_var config FIREWALL_ENABLE false
set_var config kube_router_ver '"v2.6.1"'
compare kube-router-subnet
y=$EZK_HOME/clusters/kube-router-subnet/yml
like "$(grep -- '--run-firewall' "$y/kube-router.yaml")" 'run-firewall=False$' "kube-router-subnet: the firewall off"
offline_images kube-router-subnet "$y/kube-router.yaml"

# ---- cilium: its Helm values (helm installs the chart with them)
# 1. kubeasz's defaults: no hubble, the DNS cache's address excluded
set_var hosts CLUSTER_NETWORK cilium
civ=$(sed -n 's/^cilium_ver: *"\{0,1\}\([^"]*\)"\{0,1\}.*/\1/p' "$KC/config.yml")
is "$civ" "$(sed -n 's/^ciliumVer=//p' "$KZ/ezdown")" "cilium: cilium_ver is ezdown's"
compare cilium
y=$EZK_HOME/clusters/cilium/yml
offline_images cilium "$y/cilium-values.yaml"
like "$(grep -- '--exclude-local-address' "$y/cilium-values.yaml")" '"169\.254\.20\.10/32"' "cilium: the DNS cache's address is not cilium's"
sed 's/clusterPoolIPv4MaskSize: 24/clusterPoolIPv4MaskSize: 25/' "$y/cilium-values.yaml" >"$T/mutant.yaml"
like "$($PY "$CMP" --values cilium-values "$T/out-cilium/cilium-values.yaml" "$T/mutant.yaml" | grep -P '^DIFF\t' | cut -f2)" \
	"cilium-values: the same values" "the comparer fails on a changed value (ipam's mask size)"
# (step 06 itself: helm, which this home lacks, is needed before the API
# or any host is reached; e2e/network-node tests the rest)
run "$EZK" setup cilium 06
[ "$rc" != 0 ] && pass "cilium: step 06 without helm in \$EZK_HOME/bin stops" ||
	fail "cilium: step 06 without helm in \$EZK_HOME/bin stops"
like "$out$err" "$EZK_HOME/bin/helm is missing: helm comes with the offline files" "... and says so, naming the file"

# 2. hubble and its UI, no DNS cache, another release and pod range
set_var config cilium_hubble_enabled true
set_var config cilium_hubble_ui_enabled true
set_var config ENABLE_LOCAL_DNS_CACHE false
set_var config cilium_ver '"1.18.2"'
compare cilium-hubble
y=$EZK_HOME/clusters/cilium-hubble/yml
offline_images cilium-hubble "$y/cilium-values.yaml"

# 3. hubble without its UI
set_var config cilium_hubble_ui_enabled false
compare cilium-hubble-noui

# ---- kube-ovn: kube-ovn's own install.sh, which `ezk download` fetches
# (offline/versions.yml: the release's dist/images/install.sh, into
# $EZK_HOME/bin/kube-ovn/), with the cluster's values filled in by step 06:
# byte for byte kubeasz's rendered install.sh.j2. Upstream's script is not
# at hand (no internet): it is made here from kubeasz's template rendered
# with upstream's defaults (POD_CIDR 10.16.0.0/16, POD_GATEWAY 10.16.0.1,
# SVC_CIDR 10.96.0.0/12, /var/run/containerd, REGISTRY "kubeovn"; LABEL
# node-role.kubernetes.io/control-plane, what upstream's scripts look for;
# ENABLE_LB, ENABLE_NP, ENABLE_EIP_SNAT true).
set_var hosts CLUSTER_NETWORK kube-ovn
up=$T/upstream-install.sh
cat >"$T/upstream.yml" <<PLAY
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - template: {src: "$KZ/roles/kube-ovn/templates/install.sh.j2", dest: "$up"}
      vars: {CLUSTER_CIDR: 10.16.0.0/16, CLUSTER_CIDR_GW: 10.16.0.1, SERVICE_CIDR: 10.96.0.0/12,
             CONTAINERD_STATE_DIR: /run/containerd}
PLAY
ansible-playbook "$T/upstream.yml" >"$T/ansible-upstream.log" 2>&1
is "$?" 0 "kube-ovn: upstream's install.sh made from kubeasz's template with upstream's defaults"
sed -i -E 's|^REGISTRY="easzlab\.io\.local:5000/kubeovn"$|REGISTRY="kubeovn"|; s|^LABEL="kubernetes\.io/role=master"|LABEL="node-role.kubernetes.io/control-plane"|; s/^(ENABLE_(LB|NP|EIP_SNAT))=\$\{(ENABLE_[A-Z_]+):-false\}$/\1=${\3:-true}/' "$up"
is "$(grep -cE '^(REGISTRY="kubeovn"|LABEL="node-role\.kubernetes\.io/control-plane" .*|POD_CIDR="10\.16\.0\.0/16" .*|POD_GATEWAY="10\.16\.0\.1"|SVC_CIDR="10\.96\.0\.0/12" .*|VERSION="v1\.11\.5"| +(- mountPath|path): /var/run/containerd|ENABLE_(LB|NP|EIP_SNAT)=\$\{ENABLE_(LB|NP|EIP_SNAT):-true\})$' "$up")" 11 \
	"... its eleven lines as upstream's"
# where `ezk download` puts it
put_upstream() { mkdir -p "$EZK_HOME/bin/kube-ovn" && install -m 0755 "$1" "$EZK_HOME/bin/kube-ovn/install.sh"; }
put_upstream "$up"
kovn() { # NAME: kubeasz's install.sh and ezk's yml/install.sh, byte for byte
	local name=$1 kout=$T/out-$1 y=$EZK_HOME/clusters/$1/yml
	kubeasz_render "$name" "$T/render.yml" "$kout"
	ezk_render "$name" 06
	is "$(cd "$y" 2>/dev/null && ls)" install.sh "$name: ezk renders install.sh only"
	if cmp -s "$kout/kube-ovn-install.sh" "$y/install.sh"; then
		pass "$name: yml/install.sh is kubeasz's rendered install.sh, byte for byte"
	else
		fail "$name: yml/install.sh is kubeasz's rendered install.sh, byte for byte" \
			"$(diff "$kout/kube-ovn-install.sh" "$y/install.sh" | head -20)"
	fi
	is "$(stat -c %a "$y/install.sh" 2>/dev/null)" 755 "$name: ... mode 0755"
	# the image it runs is one `ezk download -c` fetches
	printf 'kind: DaemonSet\nspec: {template: {spec: {containers: [{image: "%s/kube-ovn:%s"}]}}}\n' \
		"$(sed -n 's/^REGISTRY="\(.*\)"$/\1/p' "$y/install.sh")" "$(sed -n 's/^VERSION="\(.*\)"$/\1/p' "$y/install.sh")" \
		>"$T/kube-ovn-image.yaml"
	offline_images "$name" "$T/kube-ovn-image.yaml"
}
kovn kube-ovn
y=$EZK_HOME/clusters/kube-ovn/yml
like "$(grep '^POD_GATEWAY=' "$y/install.sh")" '"198\.19\.128\.1"' "kube-ovn: the gateway is CLUSTER_CIDR's first address"
m0=$(stat -c %Y.%i "$y/install.sh")
run "$EZK" setup kube-ovn 06 -t config
is "$rc" 0 "kube-ovn: a second -t config run"
like "$out" "localhost +ok +render install\.sh" "... leaves install.sh as it is (ok, not changed)"
is "$(stat -c %Y.%i "$y/install.sh")" "$m0" "... (not rewritten)"

# another release's script (a line not there once): refused, naming the
# file, and yml/install.sh is left as it was
kovn_refused() { # WHAT GREP-MESSAGE: the upstream script $T/mutant.sh
	put_upstream "$T/mutant.sh"
	run "$EZK" setup kube-ovn 06 -t config
	is "$rc" 1 "kube-ovn: $1: refused (the deploy node's play fails)"
	like "$out$err" "bin/kube-ovn/install\.sh: the line $2" "... naming the file and the line"
	is "$(stat -c %Y.%i "$y/install.sh")" "$m0" "... yml/install.sh left as it was"
}
sed '/^POD_CIDR="10\.16\.0\.0\/16"/d' "$up" >"$T/mutant.sh"
kovn_refused "no POD_CIDR line" 'POD_CIDR="10\.16\.0\.0/16" is there 0 times'
sed 's|^POD_CIDR="10\.16\.0\.0/16"|POD_CIDR=${POD_CIDR:-10.16.0.0/16}|' "$up" >"$T/mutant.sh"
kovn_refused "POD_CIDR set another way" 'POD_CIDR="10\.16\.0\.0/16" is there 0 times'
sed '/^SVC_CIDR=/p' "$up" >"$T/mutant.sh"
kovn_refused "SVC_CIDR twice" 'SVC_CIDR="10\.96\.0\.0/12" is there 2 times'
sed 's|^\( *path: \)/var/run/containerd$|\1/run/containerd|' "$up" >"$T/mutant.sh"
kovn_refused "no hostPath /var/run/containerd" 'path: /var/run/containerd is there 0 times'
sed 's|^VERSION="v1\.11\.5"$|VERSION="v1.12.0"|' "$up" >"$T/mutant.sh"
kovn_refused "another release than kube_ovn_ver" 'VERSION="v1\.11\.5" \(kube_ovn_ver\) is there 0 times, not once \(it says VERSION="v1\.12\.0"\)'
rm -f "$EZK_HOME/bin/kube-ovn/install.sh"
run "$EZK" setup kube-ovn 06 -t config
[ "$rc" != 0 ] && pass "kube-ovn: no downloaded install.sh: refused" || fail "kube-ovn: no downloaded install.sh: refused"
like "$out$err" "bin/kube-ovn/install\.sh is missing: .*ezk download -c" "... saying how to get it"
put_upstream "$up"

set_var hosts CLUSTER_CIDR 198.19.0.0/16
set_var hosts SERVICE_CIDR 198.18.128.0/20
set_var config CONTAINERD_STATE_DIR '"/run/ctrd"'
kovn kube-ovn-2
like "$(grep -cE '(mountPath|path): /var/run/ctrd$' "$EZK_HOME/clusters/kube-ovn-2/yml/install.sh")" '^2$' \
	"kube-ovn-2: both mounts of containerd's state are /var/run/ctrd"
# without -t config step 06 goes on to install it: the deploy node's
# kubectl is needed (none here), no "not installed" stop
run "$EZK" setup kube-ovn-2 06
[ "$rc" != 0 ] && pass "kube-ovn: step 06 without -t config goes on to install" || fail "kube-ovn: step 06 without -t config goes on to install"
like "$out$err" "bin/kubectl is missing" "... and needs the deploy node's kubectl (none in the test's EZK_HOME)"
unlike "$out$err" "not installed by ezk yet" "... not the 'not installed yet' stop"

# ---- what ezk refuses: a calico_ver kubeasz has no manifest for
set_var hosts CLUSTER_NETWORK calico
set_var config calico_ver '"v3.30.1"'
"$EZK" new bad >/dev/null
cp "$KC/hosts" "$KC/config.yml" "$EZK_HOME/clusters/bad/"
run "$EZK" setup bad 06 -t config
[ "$rc" != 0 ] && pass "calico_ver v3.30.1: step 06 refuses it" || fail "calico_ver v3.30.1: step 06 refuses it"
like "$out$err" "calico_ver_main 'v3\.30'" "... and says calico_ver_main 'v3.30'"

done_testing
