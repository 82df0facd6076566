-- cluster-restore/start (ezk restore, step 95: the masters, then the
-- nodes, once etcd is healthy on every member): what cluster-restore/stop
-- stopped starts again, the API server first (waited for until it answers
-- /readyz), and the node waited for until it says Ready again.

local vars, q = ezk.vars, ezk.q
local ip, ca = vars.inventory_hostname, vars.ca_dir
local function member(g)
  for _, h in ipairs(vars.groups[g] or {}) do if h == ip then return true end end
  return false
end

if member("kube_master") then
  service { name = "kube-apiserver", state = "started" }
  wait_for { title = "kube-apiserver: " .. ip .. " ready", sleep = 0.5,
             url = "https://" .. ip .. ":" .. tostring(vars.SECURE_PORT or 6443) .. "/readyz",
             ca = ca .. "/ca.pem", cert = ca .. "/kubernetes.pem", key = ca .. "/kubernetes-key.pem",
             timeout = tonumber(vars.KUBE_APISERVER_HEALTH_TIMEOUT) or 120 }
  service { name = "kube-controller-manager", state = "started" }
  service { name = "kube-scheduler", state = "started" }
end
service { name = "kubelet", state = "started" }
service { name = "kube-proxy", state = "started" }
local name = vars.K8S_NODENAME
wait_for { title = "node " .. name .. " Ready", timeout = tonumber(vars.NODE_READY_TIMEOUT) or 120, sleep = 1,
           cmd = q(vars.bin_dir .. "/kubectl") .. " --kubeconfig=/root/.kube/config get node " .. q(name) ..
             " -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True" }
