-- services/start-master (ezk start, step 91: on [kube_master], after etcd):
-- the control plane enabled and started; the API server is waited for
-- until it answers /readyz.
local vars = ezk.vars
local ca, ip = vars.ca_dir, vars.inventory_hostname
for _, s in ipairs({ "kube-apiserver", "kube-controller-manager", "kube-scheduler" }) do
  service { name = s, state = "started", enabled = true }
end
wait_for { title = "kube-apiserver: " .. ip .. " ready", sleep = 0.5,
           url = "https://" .. ip .. ":" .. tostring(vars.SECURE_PORT or 6443) .. "/readyz",
           ca = ca .. "/ca.pem", cert = ca .. "/kubernetes.pem", key = ca .. "/kubernetes-key.pem",
           timeout = tonumber(vars.KUBE_APISERVER_HEALTH_TIMEOUT) or 120 }
