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
    -- a CLUSTER_NETWORK ezk installs, or stop before any host changes
    { hosts = "localhost", roles = { "network" } },
    -- the CLUSTER_NETWORK's role acts; the others return at once
    { hosts = "kube_master:kube_node", roles = { "host-gw" } },
  } },
  { id = "07", alias = "addons", plays = {
    -- coredns, nodelocaldns, metrics-server, headlamp, local-path-provisioner
    -- as config.yml switches them: rendered into clusters/<c>/yml/ and
    -- applied with the deploy node's kubectl
    { hosts = "localhost", roles = { "cluster-addon" } },
  } },
  { id = "10", alias = "ex-lb", plays = {} },
  { id = "11", alias = "harbor", plays = {} },
  -- a step made of steps: `ezk setup <c> 90` and `all` run these
  { id = "90", alias = "all", steps = { "01", "02", "03", "04", "05", "06", "07" } },
  { id = "99", alias = "clean", plays = {} },
}
