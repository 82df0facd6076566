#!/bin/sh
# Install what ezk needs to build and to run its tests, from Debian's
# packages, skipping what is already there. `make test` calls it, so a fresh
# Debian 12 machine needs nothing else. With --print it only lists what is
# missing.
set -eu

BUILD="gcc make pkg-config libssh-dev libyaml-dev liblua5.4-dev libgit2-dev
libarchive-dev libssl-dev libcurl4-openssl-dev"
# ansible: the reference that inventory tests compare against, and the renderer
# of kubeasz's templates in e2e/kubeasz-render (with its python3-jinja2);
# python3-yaml: PyYAML, the reference for config.yml loading
# git: reads the clusters' histories (made with libgit2) in tests/cli/history.sh
# the test hosts of tests/harness (namespaces, systemd, sshd, sudo, logins
# with a password): util-linux (unshare, nsenter, flock), procps (pgrep),
# iproute2 (ss), attr (setfattr), dbus + libpam-systemd (logind sessions as
# on a real host); the real components the steps install on test hosts:
# etcd-server + etcd-client, chrony; and the test bed's (tests/harness
# --net hosts, e2e/testbed), which scripts/bin-from-debian.sh copies into
# $EZK_HOME/bin as the offline bundle will: containerd (+ shim, ctr), runc,
# containernetworking-plugins (the CNI plugins), nginx + libnginx-mod-stream
# (kube-lb's TCP proxy), busybox-static (the busybox test image and its
# httpd), iptables + conntrack (kube-proxy and the CNI bridge plugin inside
# --net hosts; nothing here touches the machine's rules), iputils-ping
# (e2e/testbed pings between hosts); lua5.4: its luac lists the globals
# roles use (tests/cli/lua-namespace.sh); and the OS packages step 01
# installs on every host (kubeasz's list: ipset ... socat), so that test
# hosts, overlays of this machine, find them installed (--net hosts have no
# route to a package mirror)
TEST="ansible python3-yaml openssl git
openssh-server openssh-client sudo sshpass systemd dbus libpam-systemd
util-linux procps iproute2 attr etcd-server etcd-client chrony
containerd runc containernetworking-plugins nginx libnginx-mod-stream
busybox-static iptables conntrack iputils-ping lua5.4
ipset ipvsadm jq lvm2 nfs-common psmisc rsync socat"
# the offline tests' "internet" on loopback (tests/harness/internet.sh):
# nginx (the file server), docker-registry (the registry, with token auth),
# skopeo (pushes the test images, reads the pulled archives back), curl
# (waits for them); containerd imports a pulled archive in a throwaway root
OFFLINE="nginx docker-registry skopeo curl containerd"
# make fuzz: clang's libFuzzer runtime
FUZZ="clang libclang-rt-14-dev"

want="$BUILD $TEST $OFFLINE"
[ "${1:-}" = "--fuzz" ] && want="$want $FUZZ"

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "${1:-}" = "--print" ]; then
	echo "$missing"
	exit 0
fi
echo "install-deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: not root; run: sudo apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The packages' services (etcd, chrony, sshd) are for the test hosts, not
# this machine: policy-rc.d keeps their install scripts from starting them
# here (chronyd would steer the machine's clock).
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
# Other work on the machine may be installing too: wait for dpkg's lock
# instead of failing at once.
apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
