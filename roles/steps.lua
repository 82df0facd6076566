-- The steps of `ezk setup <cluster> <steps>`, kubeasz's numbering and names
-- (docs/design.md). Each step is a list of plays, or a list of other steps; a
-- play names its hosts (a --limit pattern) and its roles, and may set
-- any_errors_fatal, serial, run_once and become (roles/lib/README.md).
-- Adding a step is a change here (and its roles'); the engine knows no step
-- by name.
--
-- The roles of the install steps arrive step by step (see the issues); a
-- step without plays does nothing and says so.
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
  { id = "06", alias = "network", plays = {
    -- a CLUSTER_NETWORK ezk installs, or stop before any host changes;
    -- then the plugin's manifest rendered into clusters/<c>/yml/ and
    -- applied with the deploy node's kubectl (the CLUSTER_NETWORK's role
    -- acts; the others return at once)
    { hosts = "localhost", roles = { "network", "flannel" } },
    -- the nodes' part: host-gw's routes, or the default bridge config
    -- removed once the plugin's own is in place
    { hosts = "kube_master:kube_node", roles = { "host-gw", "flannel/node" } },
  } },
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
  -- a step made of steps: `ezk setup <c> 90` and `all` run these
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
