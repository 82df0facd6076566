# Step 07's manifests, and step 06's network plugin's (flannel), against
# kubeasz 3.7's own templates, for Kubernetes v1.36 (kubeasz's K8S_VER):
# kubeasz's cluster is made by ezctl's own `new` (its example
# hosts.multi-node and config.yml, the version placeholders filled from
# ezdown), Ansible renders the cluster-addon and flannel roles' templates as
# their tasks do (the role's vars/main.yml, `-i hosts -e @config.yml`, as
# ezctl runs a step), and `ezk setup c 06,07 -t config` renders ezk's from
# the same two files. tests/e2e/addons-compare.py then matches the objects by kind,
# namespace and name and compares their images, commands and args, env,
# config data and the whole objects.
#
# Four configurations: kubeasz's defaults with every add-on on (nftables:
# nodelocaldns's iptables variant) and CLUSTER_NETWORK flannel (vxlan),
# PROXY_MODE ipvs with other versions, domain, Service and pod ranges, cache
# address and storage settings (the ipvs variant; flannel's vxlan with
# DIRECT_ROUTING; every variable reaches the output), flannel's host-gw
# backend (DIRECT_ROUTING, on, is vxlan's only), and every add-on off with
# no network plugin.
#
# headlamp: kubeasz installs a Helm chart that is not in ../shared/data and
# renders only its values and the two login accounts; the accounts are
# compared whole, and ezk's chart objects must carry what the values set
# (image, Service type, resources, no ingress, no plugin manager).
# local-storage's test-pod.yaml, which kubeasz renders and never applies,
# ezk does not write.
#
# No host is contacted (step 07 is a play on the deploy node, and -t config
# runs no kubectl; step 06's manifest is rendered on the deploy node too,
# and its play on the nodes, which -t config leaves alone, is left out of
# the test's copy of roles/steps.lua): the addresses of kubeasz's example are replaced by
# 198.18.0.x all the same, and the Service and pod ranges are 198.18/15's.
. "$EZK_SRC/tests/e2e/lib/render.sh"
render_setup || { done_testing; exit 0; }
is "$(sed -n 's/^corednsVer: *//p' "$KC/config.yml")" "\"$(sed -n 's/^corednsVer=//p' "$KZ/ezdown")\"" "... corednsVer is ezdown's"

# kubeasz's tasks, template by template (roles/cluster-addon/tasks/*.yml:
# the same sources, conditions and vars; dest in our output dir)
R=$KZ/roles/cluster-addon
cat >"$T/render.yml" <<EOF
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: ["$R/vars/main.yml"]
  tasks:
    - template: {src: "$R/templates/dns/coredns.yaml.j2", dest: "{{ out }}/coredns.yaml"}
      when: 'dns_install == "yes"'
    - template: {src: "$R/templates/dns/nodelocaldns-ipvs.yaml.j2", dest: "{{ out }}/nodelocaldns.yaml"}
      when: "ENABLE_LOCAL_DNS_CACHE|bool and PROXY_MODE == 'ipvs'"
    - template: {src: "$R/templates/dns/nodelocaldns-iptables.yaml.j2", dest: "{{ out }}/nodelocaldns.yaml"}
      when: 'ENABLE_LOCAL_DNS_CACHE|bool and PROXY_MODE in ["iptables", "nftables"]'
    - template: {src: "$R/templates/metrics-server/components.yaml.j2", dest: "{{ out }}/metrics-server.yaml"}
      when: 'metricsserver_install == "yes"'
    - template: {src: "$R/templates/headlamp/{{ item }}.j2", dest: "{{ out }}/headlamp-{{ item }}"}
      with_items: [values.yaml, admin-user-rbac.yaml, read-user-rbac.yaml]
      when: 'headlamp_install == "yes"'
    - template: {src: "$R/templates/local-storage/{{ item }}.j2", dest: "{{ out }}/local-storage-{{ item }}"}
      with_items: [local-path-storage.yaml, test-pod.yaml]
      when: 'local_path_provisioner_install == "yes"'
    # step 06 (roles/flannel/tasks/main.yml: yml/flannel.yaml, run_once)
    - template: {src: "$KZ/roles/flannel/templates/kube-flannel.yaml.j2", dest: "{{ out }}/flannel.yaml"}
      when: 'CLUSTER_NETWORK == "flannel"'
EOF

HEADLAMP_USERS=ServiceAccount/kube-system/headlamp-admin-user,ClusterRoleBinding//headlamp-admin-user,Secret/kube-system/headlamp-admin-user,ServiceAccount/kube-system/headlamp-read-user,ClusterRoleBinding//headlamp-read-user,Secret/kube-system/headlamp-read-user

# compare NAME: render both from kubeasz's clusters/c as it is now
compare() {
	local name=$1 kout=$T/out-$1 y=$EZK_HOME/clusters/$1/yml
	kubeasz_render "$name" "$T/render.yml" "$kout"
	ezk_render "$name" 06,07

	# which add-ons each rendered
	is "$(cd "$y" 2>/dev/null && ls *.yaml 2>/dev/null | sed 's/\.yaml$//' | sort | paste -sd' ')" \
		"$(cd "$kout" && ls | sed -E 's/^headlamp-values\.yaml$/headlamp/; s/^local-storage-local-path-storage\.yaml$/local-path-provisioner/; /^(headlamp|local-storage)-/d; s/\.yaml$//' | sort | paste -sd' ')" \
		"$name: the same add-ons and network plugin rendered"
	local a
	for a in coredns nodelocaldns metrics-server flannel; do
		[ -f "$kout/$a.yaml" ] || continue
		tap_compare "$name" "$a" "$kout/$a.yaml" "$y/$a.yaml"
	done
	if [ -f "$kout/local-storage-local-path-storage.yaml" ]; then
		tap_compare "$name" local-path-provisioner "$kout/local-storage-local-path-storage.yaml" "$y/local-path-provisioner.yaml"
	fi
	if [ -f "$kout/headlamp-values.yaml" ]; then
		tap_compare "$name" "headlamp accounts" "$kout/headlamp-admin-user-rbac.yaml,$kout/headlamp-read-user-rbac.yaml" \
			"$y/headlamp.yaml" --only "$HEADLAMP_USERS"
		local hv
		hv=$(sed -n 's/^headlampVer: *"\{0,1\}\([^"]*\)"\{0,1\}.*/\1/p' "$KC/config.yml")
		tap_lines "$name" "$($PY "$CMP" --helm-values headlamp "$kout/headlamp-values.yaml" "$hv" "$y/headlamp.yaml" 2>&1)"
	fi
}

# ---- 1. kubeasz's defaults, every add-on on, flannel's vxlan
set_var config headlamp_install '"yes"'
set_var config local_path_provisioner_install '"yes"'
set_var hosts CLUSTER_NETWORK flannel
is "$(sed -n 's/^PROXY_MODE=//p' "$KC/hosts")" '"nftables"' "defaults: kubeasz's PROXY_MODE is nftables (nodelocaldns's iptables variant)"
compare defaults
y=$EZK_HOME/clusters/defaults/yml
like "$(grep 'clusterIP:' "$y/coredns.yaml")" "clusterIP: 198\.18\.128\.2$" \
	"defaults: kube-dns on 198.18.128.2, SERVICE_CIDR's second address"
like "$(grep -- '-localip' "$y/nodelocaldns.yaml")" '"169\.254\.20\.10,198\.18\.128\.2"' "defaults: node-cache listens on LOCAL_DNS_CACHE and the kube-dns address"
like "$(grep 'hostUsers' "$y/headlamp.yaml")" "hostUsers: true" "defaults: headlamp's pod sets hostUsers (K8S_VER 1.36)"
fv=$(sed -n 's/^flannel_ver: *"\{0,1\}\([^"]*\)"\{0,1\}.*/\1/p' "$KC/config.yml")
is "$fv" "$(sed -n 's/^flannelVer=//p' "$KZ/ezdown")" "defaults: flannel_ver is ezdown's"
is "$(grep -c "image: easzlab\.io\.local:5000/flannel/flannel:$fv$" "$y/flannel.yaml")" 2 \
	"defaults: flanneld and install-cni run the bundle's flannel $fv (easzlab.io.local:5000)"
like "$(grep '"Network"' "$y/flannel.yaml")" '"Network": "198\.19\.0\.0/16",' "defaults: flannel's Network is CLUSTER_CIDR"
unlike "$(cat "$y/flannel.yaml")" DirectRouting "defaults: no DirectRouting (DIRECT_ROUTING false)"

# the comparer fails on a changed value: ezk's flannel.yaml with one value
# changed each time, against kubeasz's
mutant() { # WHAT SED-EXPR FACET: addons-compare.py says DIFF for FACET
	mutant_test flannel "$y/flannel.yaml" "$T/out-defaults/flannel.yaml" "$2" "$3" "$1"
}
mutant "a ConfigMap value (net-conf.json's Network)" 's|"Network": "198.19.0.0/16"|"Network": "198.19.0.0/17"|' "config data"
mutant "an image's tag" "0,/flannel\/flannel:$fv/s//flannel\/flannel:v0.0.1/" "images"
mutant "an arg" 's/args: \[--ip-masq, --kube-subnet-mgr\]/args: [--kube-subnet-mgr]/' "command and args"
mutant "an env value" 's/{name: EVENT_QUEUE_DEPTH, value: "5000"}/{name: EVENT_QUEUE_DEPTH, value: "500"}/' "env"
mutant "a field elsewhere (a volume's path)" 's|hostPath: {path: /run/flannel}|hostPath: {path: /run/flannel2}|' "DaemonSet/kube-system/kube-flannel-ds whole object"

# ---- 2. ipvs, and other values for everything the templates use
set_var hosts PROXY_MODE ipvs
set_var hosts CLUSTER_DNS_DOMAIN k8s.test
set_var hosts SERVICE_CIDR 198.18.160.0/19
set_var hosts CLUSTER_CIDR 198.19.128.0/17
set_var config DIRECT_ROUTING true
set_var config flannel_ver '"v0.26.7"'
set_var config LOCAL_DNS_CACHE '"169.254.25.10"'
set_var config corednsVer '"1.11.1"'
set_var config dnsNodeCacheVer '"1.23.1"'
set_var config metricsVer '"v0.7.2"'
set_var config headlampVer '"0.40.1"'
set_var config local_path_provisioner_ver '"v0.0.30"'
set_var config local_path_storage_class '"lp-test"'
set_var config local_path_provisioner_dir '"/data/lp"'
compare ipvs
y=$EZK_HOME/clusters/ipvs/yml
like "$(grep 'clusterIP:' "$y/coredns.yaml")" "clusterIP: 198\.18\.160\.2$" "ipvs: kube-dns on 198.18.160.2"
like "$(grep -- '-localip' "$y/nodelocaldns.yaml")" '"-localip", "169\.254\.25\.10",' "ipvs: node-cache listens on LOCAL_DNS_CACHE only"
like "$(grep 'forward \. 198' "$y/nodelocaldns.yaml" | sort -u)" "forward \. 198\.18\.160\.2 \{" "ipvs: the cache forwards to kube-dns's address"
like "$(grep 'kubernetes k8s.test' "$y/coredns.yaml")" "kubernetes k8s\.test in-addr\.arpa ip6\.arpa" "ipvs: CoreDNS serves CLUSTER_DNS_DOMAIN"
like "$(grep 'image:' "$y/headlamp.yaml")" "easzlab\.io\.local:5000/easzlab/headlamp:v0\.40\.1" "ipvs: headlamp's image from headlampVer"
like "$(grep '"Network"' "$y/flannel.yaml")" '"Network": "198\.19\.128\.0/17",' "ipvs: flannel's Network is CLUSTER_CIDR"
like "$(grep 'DirectRouting' "$y/flannel.yaml")" '"DirectRouting": true,' "ipvs: vxlan with DIRECT_ROUTING"
is "$(grep -c 'image: easzlab\.io\.local:5000/flannel/flannel:v0\.26\.7$' "$y/flannel.yaml")" 2 "ipvs: flannel's image from flannel_ver"

# ---- 3. flannel's host-gw backend: DIRECT_ROUTING (still true) is vxlan's
set_var config FLANNEL_BACKEND '"host-gw"'
compare hostgw
y=$EZK_HOME/clusters/hostgw/yml
like "$(grep '"Type"' "$y/flannel.yaml")" '"Type": "host-gw"' "hostgw: flannel's backend is FLANNEL_BACKEND"
unlike "$(cat "$y/flannel.yaml")" DirectRouting "hostgw: no DirectRouting (vxlan's only)"

# ---- 4. every add-on off, no network plugin
set_var hosts CLUSTER_NETWORK none
for s in dns_install metricsserver_install headlamp_install local_path_provisioner_install; do set_var config $s '"no"'; done
set_var config ENABLE_LOCAL_DNS_CACHE false
compare off
is "$(ls "$EZK_HOME/clusters/off/yml" 2>/dev/null | wc -l)" "0" "off: ezk renders nothing"

# ---- the version table: for v1.20 the headlamp pod has no hostUsers (the
# field came in 1.25; kubectl 1.20 refuses it: e2e/addons proves it)
set_var config headlamp_install '"yes"'
"$EZK" new v120 >/dev/null
cp "$KC/hosts" "$KC/config.yml" "$EZK_HOME/clusters/v120/"
run "$EZK" setup v120 07 -t config -e K8S_VER=v1.20.2
is "$rc" 0 "K8S_VER v1.20.2: renders"
unlike "$(cat "$EZK_HOME/clusters/v120/yml/headlamp.yaml")" "hostUsers" "K8S_VER v1.20.2: headlamp's pod has no hostUsers"

done_testing
