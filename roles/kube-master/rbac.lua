-- kube-master/rbac (step 04, on the deploy node, once the API servers run):
-- the API server's client certificate (user `kubernetes`) may use the
-- kubelets' API (logs, exec, port-forward, metrics): the ClusterRoleBinding
-- kubernetes-crb to system:kubelet-api-admin, as kubeasz makes it. Made when
-- absent; left alone when there.

local vars, q = ezk.vars, ezk.q
local kubectl = q(ezk.home .. "/bin/kubectl") .. " --kubeconfig=" .. q(ezk.cluster_dir .. "/kubectl.kubeconfig")

wait_for { title = "API reachable from the deploy node", timeout = 60, sleep = 1,
           cmd = kubectl .. " get --raw /healthz" }
command { title = "clusterrolebinding kubernetes-crb",
          unless = kubectl .. " get clusterrolebinding kubernetes-crb -o name",
          cmd = kubectl .. " create clusterrolebinding kubernetes-crb --clusterrole=system:kubelet-api-admin --user=kubernetes" }
