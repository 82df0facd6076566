-- kubectl.lua (a helper file: it defines no module): how the roles use the
-- cluster's API from the deploy node, with the admin kubeconfig step 01
-- made there (the nodes' own admin kubeconfig is not needed: a node that
-- cannot be reached can still be drained and deleted).
--
--   ezk.kubectl({ "uncordon", name }, { timeout = 60 })  -> {rc, stdout, stderr}
--   ezk.drain_flags(vars.K8S_VER)                        -> { "--ignore-daemonsets", ... }
--   local kc = ezk.deploy_kubectl({ "apply" })  -> "'<home>/bin/kubectl' --kubeconfig=... --request-timeout=30s"

-- kubectl on the deploy node, whatever host the role runs for (a program
-- run there: no task line of its own; the caller reports)
function ezk.kubectl(args, opts)
  local argv = { ezk.home .. "/bin/kubectl", "--kubeconfig=" .. ezk.cluster_dir .. "/kubectl.kubeconfig" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  return ezk.exec_local(argv, { timeout = (opts and opts.timeout) or 60 })
end

-- kubectl drain's flags: every pod evicted but the DaemonSets' (and mirror
-- pods), pods without a controller deleted, emptyDir data with its pod
-- (--delete-emptydir-data from 1.20; --delete-local-data before)
function ezk.drain_flags(ver)
  return { "--ignore-daemonsets", "--force",
           ezk.version_ge(ver, "1.20") and "--delete-emptydir-data" or "--delete-local-data" }
end

-- Before a role on the deploy node applies anything: kubectl is there, the
-- admin kubeconfig too (under --check a new cluster's is this run's), and
-- the API answers (a task, tagged `tags`: default "apply"). Returns the
-- kubectl command line (quoted, with the admin kubeconfig) for the role's
-- own commands.
function ezk.deploy_kubectl(tags)
  local kubectl = ezk.home .. "/bin/kubectl"
  local kubeconfig = ezk.cluster_dir .. "/kubectl.kubeconfig"
  if not ezk.stat_local(kubectl) then
    ezk.fail(kubectl .. " is missing: put the Kubernetes binaries in " .. ezk.home ..
             "/bin (scripts/bin-from-debian.sh, or an offline bundle)")
  end
  if not ezk.stat_local(kubeconfig) and not ezk.check then
    ezk.fail(kubeconfig .. " is missing: run step 01 first ('ezk setup <cluster> 01')")
  end
  local kc = ezk.q(kubectl) .. " --kubeconfig=" .. ezk.q(kubeconfig) .. " --request-timeout=30s"
  wait_for { title = "API reachable from the deploy node", timeout = 60, sleep = 1, tags = tags or "apply",
             cmd = kc .. " get --raw /healthz" }
  return kc
end
