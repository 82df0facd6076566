#!/bin/bash
# offline/versions.yml (what ezk download fetches) and inventories/config.yml
# (what ezk new gives a cluster, what the roles read) name the same
# versions and the same sandbox image: a bundle made with the defaults
# installs a cluster made with the defaults. And the commands' usage errors.
. "$(dirname "$0")/../lib.sh" || exit 1

v=$EZK_SRC/offline/versions.yml
c=$EZK_SRC/inventories/config.yml
out=$($PY - "$v" "$c" <<'PY'
import sys, yaml
v = yaml.safe_load(open(sys.argv[1]))
c = yaml.safe_load(open(sys.argv[2]))
for k in ["K8S_VER", "calico_ver", "cilium_ver", "flannel_ver", "kube_router_ver", "corednsVer",
          "dnsNodeCacheVer", "metricsVer", "kube_ovn_ver"]:
    print(k, "same" if str(v.get(k)) == str(c.get(k)) else "versions.yml %s, config.yml %s" % (v.get(k), c.get(k)))
pause = "%s/easzlab/pause:%s" % (v["local_registry"], v["pause_ver"])
print("SANDBOX_IMAGE", "same" if c["SANDBOX_IMAGE"] == pause else "versions.yml %s, config.yml %s" % (pause, c["SANDBOX_IMAGE"]))
PY
)
while read -r k what; do
	is "$what" same "$k agrees"
done <<<"$out"

run "$EZK" download extra
is "$rc" 2 "download with an argument: exit 2"
like "$err" "usage: ezk download" "... with the usage"
run "$EZK" bundle
is "$rc" 2 "bundle without an action: exit 2"
run "$EZK" bundle pack x.ezk
is "$rc" 2 "bundle with an unknown action: exit 2"
like "$err" "unknown action 'pack'" "... naming it"
run "$EZK" bundle create "$T/x.ezk" --compress lzma
is "$rc" 2 "an unknown compression: exit 2"
run "$EZK" help download
like "$out" "offline/versions.yml" "ezk help download explains the list"
run "$EZK" help bundle
like "$out" "import FILE" "ezk help bundle lists its actions"
run "$EZK" download -e os=debian_99 --no-binaries --no-images
is "$rc" 2 "packages for another OS than this machine's: exit 2"
like "$err" "debian_99" "... saying which"
done_testing
