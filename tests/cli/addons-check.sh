# ezk check on step 07's settings (roles/cluster-addon/check.lua): the
# switches kubeasz would misread, add-ons ezk does not install yet, the
# local DNS cache's address; and `ezk setup 07` stops on those errors before
# it renders anything.
. "$(dirname "$0")/../lib.sh" || exit 1

local_cluster c
C=$EZK_HOME/clusters/c
# the test ranges (tests/harness/README.md), though nothing is contacted
sed -i -E 's|^SERVICE_CIDR=.*|SERVICE_CIDR="198.18.128.0/20"|; s|^CLUSTER_CIDR=.*|CLUSTER_CIDR="198.19.0.0/16"|; s|^CLUSTER_NETWORK=.*|CLUSTER_NETWORK="host-gw"|' "$C/hosts"
cp "$C/config.yml" "$T/config.yml"
run "$EZK" check c
is "$rc" 0 "the template's add-on settings pass"
is "$err" "" "... without a warning"

# case NAME 'SED' WANT_RC REGEX: config.yml edited as a user would
case_() {
	cp "$T/config.yml" "$C/config.yml"
	sed -i -E "$2" "$C/config.yml"
	run "$EZK" check c
	is "$rc" "$3" "$1: exit $3"
	like "$err" "$4" "$1: reported"
	no_crash "$1"
}
line() { grep -n "^$1:" "$T/config.yml" | cut -d: -f1; }

case_ "an unquoted yes" 's/^dns_install:.*/dns_install: yes/' 2 \
	"config.yml:$(line dns_install): error: dns_install is true \(a YAML boolean\): kubeasz compares it with the string \"yes\""
case_ "a typo" 's/^metricsserver_install:.*/metricsserver_install: "ja"/' 2 \
	"config.yml:$(line metricsserver_install): error: metricsserver_install is 'ja': \"yes\" or \"no\""
case_ "an add-on ezk does not install" 's/^prom_install:.*/prom_install: "yes"/' 0 \
	"config.yml:$(line prom_install): warning: prom_install is \"yes\" but ezk does not install the prometheus stack yet"
case_ "ENABLE_LOCAL_DNS_CACHE not a boolean" 's/^ENABLE_LOCAL_DNS_CACHE:.*/ENABLE_LOCAL_DNS_CACHE: sometimes/' 2 \
	"config.yml:$(line ENABLE_LOCAL_DNS_CACHE): error: ENABLE_LOCAL_DNS_CACHE is 'sometimes': true or false"
case_ "the cache inside SERVICE_CIDR" 's/^LOCAL_DNS_CACHE:.*/LOCAL_DNS_CACHE: "198.18.128.10"/' 2 \
	"config.yml:$(line LOCAL_DNS_CACHE): error: LOCAL_DNS_CACHE 198.18.128.10 is inside SERVICE_CIDR \(198.18.128.0/20\)"
case_ "the cache inside CLUSTER_CIDR" 's/^LOCAL_DNS_CACHE:.*/LOCAL_DNS_CACHE: "198.19.7.7"/' 2 \
	"error: LOCAL_DNS_CACHE 198.19.7.7 is inside CLUSTER_CIDR"
case_ "the cache not an address" 's/^LOCAL_DNS_CACHE:.*/LOCAL_DNS_CACHE: "169.254.20.10\/32"/' 2 \
	"error: LOCAL_DNS_CACHE '169.254.20.10/32' is not an IPv4 address"
case_ "the cache not link-local" 's/^LOCAL_DNS_CACHE:.*/LOCAL_DNS_CACHE: "198.18.255.10"/' 0 \
	"warning: LOCAL_DNS_CACHE 198.18.255.10 is not link-local"
case_ "the cache without coredns" 's/^dns_install:.*/dns_install: "no"/' 0 \
	"warning: ENABLE_LOCAL_DNS_CACHE is on and dns_install is \"no\""
# the cache off: its address is not looked at
case_ "the cache off" 's/^ENABLE_LOCAL_DNS_CACHE:.*/ENABLE_LOCAL_DNS_CACHE: false/; s/^LOCAL_DNS_CACHE:.*/LOCAL_DNS_CACHE: "x"/' 0 "^$"

# setup runs the check first: nothing rendered
cp "$T/config.yml" "$C/config.yml"
sed -i -E 's/^dns_install:.*/dns_install: yes/' "$C/config.yml"
run "$EZK" setup c 07 -t config
is "$rc" 2 "setup 07 with a bad switch: exit 2"
like "$err" "dns_install is true" "... saying why"
[ -e "$C/yml" ] && fail "... and renders nothing" || pass "... and renders nothing"
cp "$T/config.yml" "$C/config.yml"
run "$EZK" setup c 07 -t config
is "$rc" 0 "setup 07 -t config with the template's settings: exit 0"
is "$(cd "$C/yml" && ls | paste -sd' ')" "coredns.yaml metrics-server.yaml nodelocaldns.yaml" \
	"... renders kubeasz's default add-ons: coredns, nodelocaldns, metrics-server"
run "$EZK" setup c 07 -t config
is "$rc" 0 "... and again"
like "$out" "localhost +3 +0 " "... changing nothing (3 ok, 0 changed)"

done_testing
