-- The steps of `ezk setup <cluster> <steps>`, kubeasz's numbering and names
-- (docs/design.md). Each step is a list of plays, or a list of other steps; a
-- play names its hosts (a --limit pattern) and its roles, and may set
-- any_errors_fatal, serial, run_once and become (roles/lib/README.md).
-- Adding a step is a change here (and its roles'); the engine knows no step
-- by name.
--
-- The roles of the install steps arrive step by step (see the issues); a
-- step without plays does nothing and says so.
-- Step 06's plays, which the steps that change the cluster's hosts or
-- certificates run again at their end (add-node, add-master, del-node,
-- del-master, kca-renew). As the last item of a table constructor, a call
-- gives all its values: `plays = { ..., network() }` holds these three.
local function network()
  return
    -- a CLUSTER_NETWORK ezk installs, or stop before any host changes;
    -- then the plugin's manifest rendered into clusters/<c>/yml/ and
    -- applied with the deploy node's kubectl, cilium's chart installed
    -- there with helm, or kube-ovn's install.sh filled in there and run
    -- (the CLUSTER_NETWORK's role acts; the others return at once)
    { hosts = "localhost", roles = { "network", "flannel", "calico", "kube-router", "cilium", "kube-ovn" } },
    -- the nodes' part: host-gw's routes, calico's certificate and
    -- calicoctl, the cilium and hubble CLIs, and the default bridge config
    -- removed once the plugin's own (flannel's, calico's, kube-router's,
    -- cilium's, kube-ovn's) is in place
    { hosts = "kube_master:kube_node",
      roles = { "host-gw", "flannel/node", "calico/node", "kube-router/node", "cilium/node", "kube-ovn/node" } },
    -- calico's route reflectors (CALICO_RR_ENABLED), once every calico-node
    -- runs; hubble-relay restarted when helm (re)installed cilium
    { hosts = "localhost", roles = { "calico/rr", "cilium/hubble" } }
end

return {
  { id = "01", alias = "prepare", plays = {
    -- the deploy node: the CA, the admin certificate and the kubeconfigs
    { hosts = "localhost", roles = { "deploy" } },
    -- time first (only when [chrony] has hosts), then the OS settings
    { hosts = "kube_master:kube_node:etcd:ex_lb:chrony", roles = { "chrony" } },
    { hosts = "kube_master:kube_node:etcd", roles = { "prepare" } },
  } },
  { id = "02", alias = "etcd", plays = {
    -- the etcd certificate (every member's address) on the deploy node
    { hosts = "localhost", roles = { "etcd/cert" } },
    -- files on every member; any_errors_fatal: every member is reachable
    -- and configured before any member starts
    { hosts = "etcd", roles = { "etcd" }, any_errors_fatal = true },
    -- a member joining a running cluster: added and started first
    { hosts = "etcd", roles = { "etcd/join" }, any_errors_fatal = true, serial = 1 },
    -- start new members, restart changed ones one at a time
    { hosts = "etcd", roles = { "etcd/start" }, any_errors_fatal = true, serial = 1 },
    -- every member healthy
    { hosts = "etcd", roles = { "etcd/health" }, any_errors_fatal = true, run_once = true },
  } },
  { id = "03", alias = "runtime", plays = {
    -- containerd, runc, the CNI plugins; then the offline images, once
    -- containerd runs its new config
    { hosts = "kube_master:kube_node", roles = { "containerd", "containerd/images" } },
  } },
  { id = "04", alias = "master", plays = {
    -- the API server's certificates on the deploy node
    { hosts = "localhost", roles = { "kube-master/cert" } },
    -- kube-lb, then the control plane's files on every master; nothing
    -- restarts yet
    { hosts = "kube_master", roles = { "kube-lb", "kube-master" } },
    -- start new components, restart changed ones, one master at a time
    { hosts = "kube_master", roles = { "kube-master/start" }, serial = 1 },
    { hosts = "localhost", roles = { "kube-master/rbac" } },
    -- masters are nodes too (cordoned unless also in kube_node), as kubeasz
    { hosts = "localhost", roles = { "kube-node/cert" } },
    { hosts = "kube_master", roles = { "kube-node", "kube-node/ready" } },
  } },
  { id = "05", alias = "node", plays = {
    { hosts = "localhost", roles = { "kube-node/cert" } },
    { hosts = "kube_node", roles = { "kube-lb", "kube-node", "kube-node/ready" } },
  } },
  { id = "06", alias = "network", plays = { network() } },
  { id = "07", alias = "addons", plays = {
    -- coredns, nodelocaldns, metrics-server, headlamp, local-path-provisioner
    -- as config.yml switches them: rendered into clusters/<c>/yml/ and
    -- applied with the deploy node's kubectl
    { hosts = "localhost", roles = { "cluster-addon" } },
  } },
  { id = "10", alias = "ex-lb", plays = {
    -- haproxy and keepalived on each ex_lb host in turn (the VIP always
    -- has a host), then the API through the VIP, from the deploy node
    { hosts = "ex_lb", roles = { "ex-lb" }, serial = 1 },
    { hosts = "localhost", roles = { "ex-lb/vip" } },
  } },
  { id = "11", alias = "harbor", plays = {} },

  -- ---- the cluster's lifecycle: steps the commands of their names run
  -- (`command`; `ezk setup` refuses them), with kubeasz's numbers (21-23,
  -- 31-33). core/lifecycle.h: the run's inventory already has the host
  -- added (NODE_TO_ADD) or taken out of its group (NODE_TO_DEL, kept in
  -- [ezk_leaving] when in no other group); hosts changes after a success.
  -- An add does the new hosts first, all reachable (any_errors_fatal),
  -- before any other host changes; then every host is brought where `setup
  -- all` would bring it, so a setup afterwards changes nothing.
  { id = "21", alias = "add-etcd", command = "add-etcd", plays = {
    -- (each operation first reaches every host: one that cannot be reached
    -- stops it before anything changed)
    { hosts = "all", roles = {}, any_errors_fatal = true },
    { hosts = "{{ NODE_TO_ADD | join(':') }}", roles = { "chrony", "prepare" }, any_errors_fatal = true },
    -- step 02: the new member joins (member add, started with the cluster
    -- as it is), the others restart one at a time for the new certificate
    { hosts = "localhost", roles = { "etcd/cert" } },
    { hosts = "etcd", roles = { "etcd" }, any_errors_fatal = true },
    { hosts = "etcd", roles = { "etcd/join" }, any_errors_fatal = true, serial = 1 },
    { hosts = "etcd", roles = { "etcd/start" }, any_errors_fatal = true, serial = 1 },
    { hosts = "etcd", roles = { "etcd/health" }, any_errors_fatal = true, run_once = true },
    -- the API servers' --etcd-servers, one master at a time
    { hosts = "kube_master", roles = { "kube-master" } },
    { hosts = "kube_master", roles = { "kube-master/start" }, serial = 1 },
  } },
  { id = "22", alias = "add-node", command = "add-node", plays = {
    { hosts = "all", roles = {}, any_errors_fatal = true },
    { hosts = "{{ NODE_TO_ADD | join(':') }}", roles = { "chrony", "prepare" }, any_errors_fatal = true },
    -- step 01's /etc/hosts block on every other master, node and etcd member
    -- names the new nodes before their kubelets register: the API server
    -- reaches a kubelet by its node name (logs, exec, metrics)
    { hosts = "kube_master:kube_node:etcd:!{{ NODE_TO_ADD | join(':!') }}", roles = { "prepare" } },
    { hosts = "{{ NODE_TO_ADD | join(':') }}", roles = { "containerd", "containerd/images" },
      any_errors_fatal = true },
    { hosts = "localhost", roles = { "kube-node/cert" } },
    { hosts = "{{ NODE_TO_ADD | join(':') }}", roles = { "kube-lb", "kube-node", "kube-node/ready" },
      any_errors_fatal = true },
    -- the others: the pod network routes to the new nodes' pods
    network(),
  } },
  { id = "23", alias = "add-master", command = "add-master", plays = {
    { hosts = "all", roles = {}, any_errors_fatal = true },
    { hosts = "{{ NODE_TO_ADD | join(':') }}", roles = { "chrony", "prepare" }, any_errors_fatal = true },
    -- every other host's /etc/hosts names the new master first (as add-node)
    { hosts = "kube_master:kube_node:etcd:!{{ NODE_TO_ADD | join(':!') }}", roles = { "prepare" } },
    { hosts = "{{ NODE_TO_ADD | join(':') }}", roles = { "containerd", "containerd/images" },
      any_errors_fatal = true },
    -- the API server certificate names the new master
    { hosts = "localhost", roles = { "kube-master/cert" } },
    { hosts = "{{ NODE_TO_ADD | join(':') }}", roles = { "kube-lb", "kube-master" }, any_errors_fatal = true },
    { hosts = "{{ NODE_TO_ADD | join(':') }}", roles = { "kube-master/start" }, any_errors_fatal = true,
      serial = 1 },
    { hosts = "localhost", roles = { "kube-node/cert" } },
    { hosts = "{{ NODE_TO_ADD | join(':') }}", roles = { "kube-node", "kube-node/ready" },
      any_errors_fatal = true },
    -- the others: every kube-lb balances to it, the other masters take the
    -- new certificate one at a time, the pod network
    { hosts = "kube_master:kube_node:!{{ NODE_TO_ADD | join(':!') }}", roles = { "kube-lb" } },
    { hosts = "kube_master:!{{ NODE_TO_ADD | join(':!') }}", roles = { "kube-master" } },
    { hosts = "kube_master:!{{ NODE_TO_ADD | join(':!') }}", roles = { "kube-master/start" }, serial = 1 },
    network(),
  } },
  -- A deletion: the host leaves first (drained, out of what points at it,
  -- stopped and cleaned, deleted from the cluster), then the others follow.
  { id = "31", alias = "del-etcd", command = "del-etcd", plays = {
    { hosts = "all", roles = {}, any_errors_fatal = true },
    -- every member answers, and the members that stay make a quorum
    { hosts = "etcd", roles = { "etcd/quorum" }, any_errors_fatal = true, run_once = true },
    -- the API servers stop using it, one master at a time
    { hosts = "kube_master", roles = { "kube-master" } },
    { hosts = "kube_master", roles = { "kube-master/start" }, serial = 1 },
    { hosts = "etcd", roles = { "etcd/remove" }, any_errors_fatal = true, run_once = true },
    { hosts = "{{ NODE_TO_DEL | join(':') }}", roles = { "etcd/clean" } },
    -- the certificate without its address: the members restart one at a time
    { hosts = "localhost", roles = { "etcd/cert" } },
    { hosts = "etcd", roles = { "etcd" }, any_errors_fatal = true },
    { hosts = "etcd", roles = { "etcd/start" }, any_errors_fatal = true, serial = 1 },
    { hosts = "etcd", roles = { "etcd/health" }, any_errors_fatal = true, run_once = true },
  } },
  { id = "32", alias = "del-node", command = "del-node", plays = {
    { hosts = "all", roles = {}, any_errors_fatal = true },
    { hosts = "localhost", roles = { "kube-node/drain" } },
    { hosts = "{{ NODE_TO_DEL | join(':') }}",
      roles = { "kube-node/clean", "host-gw/clean", "kube-lb/clean", "containerd/clean" } },
    { hosts = "localhost", roles = { "kube-node/delete" } },
    { hosts = "kube_master:kube_node:etcd", roles = { "prepare" } },
    network(),
  } },
  { id = "33", alias = "del-master", command = "del-master", plays = {
    { hosts = "all", roles = {}, any_errors_fatal = true },
    -- the kubeconfigs of the deploy node point at a master that stays
    { hosts = "localhost", roles = { "deploy" } },
    { hosts = "localhost", roles = { "kube-node/drain" } },
    -- every kube-lb stops sending to it
    { hosts = "kube_master:kube_node", roles = { "kube-lb" } },
    { hosts = "{{ NODE_TO_DEL | join(':') }}",
      roles = { "kube-master/clean", "kube-node/clean", "host-gw/clean", "kube-lb/clean", "containerd/clean" } },
    { hosts = "localhost", roles = { "kube-node/delete" } },
    -- the API server certificate without its address, one master at a time
    { hosts = "localhost", roles = { "kube-master/cert" } },
    { hosts = "kube_master", roles = { "kube-master" } },
    { hosts = "kube_master", roles = { "kube-master/start" }, serial = 1 },
    { hosts = "kube_master:kube_node:etcd", roles = { "prepare" } },
    network(),
  } },
  -- a step made of steps: `ezk setup <c> 90` and `all` run these
  -- ezk upgrade: the binaries of $EZK_HOME/bin (K8S_VER must say their
  -- version) on every master, one at a time, the API answering throughout
  -- (kube-master/start takes a restarting API server out of every
  -- kube-lb); then the nodes in batches, each drained first, Ready with
  -- the new kubelet, and uncordoned. etcd and containerd are left as they are.
  { id = "93", alias = "upgrade", command = "upgrade", plays = {
    { hosts = "all", roles = {}, any_errors_fatal = true },
    { hosts = "localhost", roles = { "kube-master/cert" } },
    { hosts = "kube_master", roles = { "kube-lb", "kube-master" } },
    { hosts = "kube_master", roles = { "kube-master/start" }, serial = 1 },
    -- the masters that are not nodes too: cordoned, nothing to drain
    { hosts = "localhost", roles = { "kube-node/cert" } },
    { hosts = "kube_master:!kube_node", roles = { "kube-node", "kube-node/ready" } },
    { hosts = "kube_node", roles = { "kube-node/upgrade", "kube-lb", "kube-node", "kube-node/ready",
                                     "kube-node/uncordon" }, serial = "20%" },
  } },
  -- ezk kca-renew: a new CA and every certificate and kubeconfig reissued,
  -- in three phases (roles/kca-renew/main.lua): every host trusts both CAs,
  -- then every certificate is the new CA's, then the old CA is trusted no
  -- more. Each phase is distributed everywhere and restarted one etcd
  -- member, one master at a time, so the API answers throughout.
  { id = "96", alias = "kca-renew", command = "kca-renew", plays = (function()
    local function phase(role)
      return {
        { hosts = "localhost", roles = { role } },
        { hosts = "localhost", roles = { "deploy" } },
        { hosts = "kube_master:kube_node:etcd", roles = { "prepare" } },
        { hosts = "localhost", roles = { "etcd/cert" } },
        { hosts = "etcd", roles = { "etcd" }, any_errors_fatal = true },
        { hosts = "etcd", roles = { "etcd/start" }, any_errors_fatal = true, serial = 1 },
        { hosts = "etcd", roles = { "etcd/health" }, any_errors_fatal = true, run_once = true },
        { hosts = "localhost", roles = { "kube-master/cert" } },
        { hosts = "kube_master", roles = { "kube-master" } },
        { hosts = "kube_master", roles = { "kube-master/start" }, serial = 1 },
        { hosts = "localhost", roles = { "kube-node/cert" } },
        { hosts = "kube_master:kube_node", roles = { "kube-node", "kube-node/ready" } },
      }
    end
    -- each phase ends with the pod network (calico's etcd certificate and
    -- Secret, its pods restarted when the Secret changed) and, in the first,
    -- kube-system's API clients restarted to trust both CAs
    local function phase_all(role)
      local plays = phase(role)
      for _, p in ipairs({ network() }) do plays[#plays + 1] = p end
      plays[#plays + 1] = { hosts = "localhost", roles = { "kca-renew/clients" } }
      return plays
    end
    local plays = { { hosts = "all", roles = {}, any_errors_fatal = true } }
    for _, r in ipairs({ "kca-renew", "kca-renew/leaves", "kca-renew/finish" }) do
      for _, p in ipairs(phase_all(r)) do plays[#plays + 1] = p end
    end
    plays[#plays + 1] = { hosts = "localhost", roles = { "kca-renew/done" } }
    return plays
  end)() },
  -- ezk kcfg-adm -A/-D: a user's kubeconfig and ClusterRoleBinding
  { id = "97", alias = "kcfg-adm", command = "kcfg-adm", plays = {
    { hosts = "localhost", roles = { "kcfg-adm" } },
  } },
  { id = "90", alias = "all", steps = { "01", "02", "03", "04", "05", "06", "07" } },

  -- ---- day-2 operations, each run by its own command (ezk start, stop,
  -- backup, restore, destroy; kubeasz's playbook numbers). explicit: only
  -- when named, never part of a range; confirm: asked before it runs
  -- (--yes); resets: once done, `setup --resume` starts from 01 again.
  { id = "91", alias = "start", explicit = true, plays = {
    { hosts = "etcd", roles = { "services/start-etcd" } },
    { hosts = "kube_master", roles = { "services/start-master" } },
    { hosts = "ex_lb", roles = { "services/start-ex-lb" } },
    { hosts = "kube_master:kube_node", roles = { "services/start-node" } },
  } },
  { id = "92", alias = "stop", explicit = true, plays = {
    { hosts = "kube_master:kube_node", roles = { "services/stop-node" } },
    { hosts = "ex_lb", roles = { "services/stop-ex-lb" } },
    { hosts = "kube_master", roles = { "services/stop-master" } },
    { hosts = "etcd", roles = { "services/stop-etcd" } },
  } },
  { id = "94", alias = "backup", explicit = true, plays = {
    -- the first healthy member takes the snapshot; the deploy node keeps it
    { hosts = "etcd", roles = { "cluster-backup" }, serial = 1 },
    { hosts = "localhost", roles = { "cluster-backup/keep" } },
  } },
  { id = "95", alias = "restore", explicit = true,
    confirm = "replaces the cluster's whole state (etcd, on every member) with the snapshot's; " ..
      "the API is down meanwhile", plays = {
    -- nothing stops before every member has the snapshot restored beside
    -- its data
    { hosts = "localhost", roles = { "cluster-restore/verify" }, any_errors_fatal = true },
    { hosts = "etcd", roles = { "cluster-restore" }, any_errors_fatal = true },
    { hosts = "kube_master:kube_node", roles = { "cluster-restore/stop" }, any_errors_fatal = true },
    -- every member stopped, its data swapped, before any starts again
    { hosts = "etcd", roles = { "cluster-restore/etcd" }, any_errors_fatal = true },
    { hosts = "etcd", roles = { "cluster-restore/etcd-start" }, any_errors_fatal = true },
    { hosts = "kube_master", roles = { "cluster-restore/start" } },
    { hosts = "kube_node", roles = { "cluster-restore/start" } },
  } },
  { id = "99", alias = "clean", explicit = true, resets = true,
    confirm = "removes what ezk installed on the hosts, etcd's data (the cluster's state) included", plays = {
    { hosts = "kube_master:kube_node:etcd:ex_lb:chrony", roles = { "clean" } },
    { hosts = "localhost", roles = { "clean/done" } },
  } },
}
