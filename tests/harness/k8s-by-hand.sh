# Kubernetes by hand inside a --net test host: what e2e/testbed runs to
# prove that a kubelet, containerd's CRI and kube-proxy (iptables) work in
# such a host with the settings below (kubeasz's, but for what the
# harness's README names), before ezk's own roles do it.
# Runs inside the host, as root:  bash -s -- ROLE APISERVER < k8s-by-hand.sh
#   ROLE master: certificates (CA, apiserver, admin), etcd, kube-apiserver,
#                kube-controller-manager, kube-scheduler
#   ROLE node:   containerd (CRI, systemd cgroup driver) started, kubelet and
#                kube-proxy configured (/etc/k/{ca,admin}.pem and admin.key
#                copied from the master)
#   ROLE kubelet: kubelet and kube-proxy started (images imported by then)
#   ROLE cni:    the bridge CNI config for this node's podCIDR (once the node
#                object has one)
# Binaries are in /opt/kube/bin (containerd's in containerd-bin/, CNI plugins
# in /opt/cni/bin); images already imported. Addresses: services in
# 198.18.128.0/20, pods in 198.19.0.0/16 (tests/harness/README.md).
set -eu
role=$1 api=$2
. /run/ezk-testhost
A=$EZK_TESTHOST_ADDRESS
N=$EZK_TESTHOST_NAME
B=/opt/kube/bin
SVC=198.18.128.0/20 PODS=198.19.0.0/16
mkdir -p /etc/k
kubectl() { "$B/kubectl" --kubeconfig /etc/k/kubeconfig "$@"; }

unit() { # NAME EXEC [MORE]: a unit as kubeasz writes them (Restart=always)
	cat >"/etc/systemd/system/$1.service" <<-EOF
		[Unit]
		Description=$1 (tests/harness/k8s-by-hand.sh)
		After=network.target
		[Service]
		ExecStart=$2
		Restart=always
		RestartSec=2
		${3:-}
		[Install]
		WantedBy=multi-user.target
	EOF
}

kubeconfig() {
	cat >/etc/k/kubeconfig <<-EOF
		apiVersion: v1
		kind: Config
		clusters:
		- cluster: {server: "https://$api:6443", certificate-authority: /etc/k/ca.pem}
		  name: local
		contexts:
		- context: {cluster: local, user: admin}
		  name: local
		current-context: local
		users:
		- name: admin
		  user: {client-certificate: /etc/k/admin.pem, client-key: /etc/k/admin.key}
	EOF
}

case $role in
master)
	cd /etc/k
	cert() { # NAME SUBJECT EXT
		openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
		printf '%b' "$3" >"$1.ext"
		openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" \
			-days 2 -extfile "$1.ext" 2>/dev/null
	}
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=ezk-test-ca 2>/dev/null
	cert api /CN=kube-apiserver "subjectAltName=IP:$A,IP:127.0.0.1,IP:198.18.128.1,DNS:kubernetes,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n"
	cert admin "/CN=admin/O=system:masters" "extendedKeyUsage=clientAuth\n"
	openssl genrsa -out sa.key 2048 2>/dev/null
	openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
	cd /
	kubeconfig
	mkdir -p /var/lib/etcd
	unit etcd "/usr/bin/etcd --name $N --data-dir /var/lib/etcd --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380"
	unit kube-apiserver "$B/kube-apiserver --etcd-servers=http://127.0.0.1:2379 --bind-address=$A --advertise-address=$A --secure-port=6443 --tls-cert-file=/etc/k/api.pem --tls-private-key-file=/etc/k/api.key --client-ca-file=/etc/k/ca.pem --kubelet-client-certificate=/etc/k/admin.pem --kubelet-client-key=/etc/k/admin.key --kubelet-preferred-address-types=InternalIP,Hostname --service-cluster-ip-range=$SVC --service-account-issuer=https://kubernetes.default.svc --service-account-key-file=/etc/k/sa.pub --service-account-signing-key-file=/etc/k/sa.key --authorization-mode=Node,RBAC --allow-privileged=true"
	unit kube-controller-manager "$B/kube-controller-manager --kubeconfig=/etc/k/kubeconfig --service-account-private-key-file=/etc/k/sa.key --root-ca-file=/etc/k/ca.pem --allocate-node-cidrs=true --cluster-cidr=$PODS --node-cidr-mask-size=24 --leader-elect=false --use-service-account-credentials=true"
	unit kube-scheduler "$B/kube-scheduler --kubeconfig=/etc/k/kubeconfig --leader-elect=false"
	systemctl daemon-reload
	systemctl start etcd kube-apiserver kube-controller-manager kube-scheduler
	;;
node)
	kubeconfig
	mkdir -p /etc/containerd /etc/cni/net.d /var/lib/kubelet /var/lib/kube-proxy
	# containerd 1.6's CRI: systemd cgroup driver; restrict_oom_score_adj
	# because the machine gives no CAP_SYS_RESOURCE (sandboxes fail to
	# start without it); overlayfs on the host's tmpfs /var/lib/containerd.
	cat >/etc/containerd/config.toml <<-EOF
		version = 2
		root = "/var/lib/containerd"
		state = "/run/containerd"
		[plugins."io.containerd.grpc.v1.cri"]
		  sandbox_image = "easzlab.io.local:5000/easzlab/pause:3.10"
		  restrict_oom_score_adj = true
		[plugins."io.containerd.grpc.v1.cri".containerd]
		  snapshotter = "overlayfs"
		[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
		  runtime_type = "io.containerd.runc.v2"
		[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
		  SystemdCgroup = true
		[plugins."io.containerd.grpc.v1.cri".cni]
		  bin_dir = "/opt/cni/bin"
		  conf_dir = "/etc/cni/net.d"
	EOF
	unit containerd "$B/containerd-bin/containerd --config /etc/containerd/config.toml" \
		"Environment=PATH=$B/containerd-bin:/bin:/sbin:/usr/bin:/usr/sbin
Type=notify
Delegate=yes
KillMode=process
OOMScoreAdjust=-999
LimitNOFILE=1048576"
	# kubeasz's kubelet-config.yaml, its 1.20 part (cgroupDriver systemd).
	cat >/var/lib/kubelet/config.yaml <<-EOF
		kind: KubeletConfiguration
		apiVersion: kubelet.config.k8s.io/v1beta1
		address: 0.0.0.0
		authentication:
		  anonymous: {enabled: false}
		  webhook: {enabled: true, cacheTTL: 2m0s}
		  x509: {clientCAFile: /etc/k/ca.pem}
		authorization:
		  mode: Webhook
		cgroupDriver: systemd
		cgroupsPerQOS: true
		clusterDNS: [198.18.128.2]
		clusterDomain: cluster.local
		enforceNodeAllocatable: [pods]
		evictionHard: {imagefs.available: 15%, memory.available: 300Mi, nodefs.available: 10%, nodefs.inodesFree: 5%}
		failSwapOn: true
		hairpinMode: hairpin-veth
		maxOpenFiles: 1000000
		maxPods: 110
		oomScoreAdj: -999
		readOnlyPort: 0
		resolvConf: /etc/resolv.conf
	EOF
	unit kubelet "$B/kubelet --config=/var/lib/kubelet/config.yaml --kubeconfig=/etc/k/kubeconfig --hostname-override=$N --container-runtime=remote --container-runtime-endpoint=unix:///run/containerd/containerd.sock --root-dir=/var/lib/kubelet --v=2" \
		"WorkingDirectory=/var/lib/kubelet
ExecStartPre=/bin/mount -o remount,rw /sys/fs/cgroup"
	# kubeasz's kube-proxy-config.yaml (conntrack values included).
	cat >/var/lib/kube-proxy/config.yaml <<-EOF
		kind: KubeProxyConfiguration
		apiVersion: kubeproxy.config.k8s.io/v1alpha1
		bindAddress: 0.0.0.0
		clientConnection: {kubeconfig: /etc/k/kubeconfig}
		clusterCIDR: $PODS
		conntrack: {maxPerCore: 32768, min: 131072, tcpCloseWaitTimeout: 1h0m0s, tcpEstablishedTimeout: 24h0m0s}
		healthzBindAddress: 0.0.0.0:10256
		hostnameOverride: $N
		metricsBindAddress: 0.0.0.0:10249
		mode: iptables
	EOF
	unit kube-proxy "$B/kube-proxy --config=/var/lib/kube-proxy/config.yaml" "WorkingDirectory=/var/lib/kube-proxy
LimitNOFILE=65536"
	systemctl daemon-reload
	systemctl start containerd
	;;
kubelet) # once the images are imported
	systemctl start kubelet kube-proxy
	;;
cni)
	# The bridge plugin on this node's podCIDR (kubeasz's cni-default.conf
	# takes the whole CLUSTER_CIDR: one node only).
	cidr=$(kubectl get node "$N" -o jsonpath='{.spec.podCIDR}')
	[ -n "$cidr" ] || exit 3
	cat >/etc/cni/net.d/10-default.conf <<-EOF
		{"name": "mynet", "cniVersion": "0.3.1", "type": "bridge", "bridge": "mynet0",
		 "isDefaultGateway": true, "ipMasq": true, "hairpinMode": true,
		 "ipam": {"type": "host-local", "subnet": "$cidr"}}
	EOF
	echo "$cidr"
	;;
*) exit 2 ;;
esac
