-- kube-node/cert (steps 04 and 05, on the deploy node): each node's kubelet
-- certificate (CN system:node:<K8S_NODENAME>, O system:nodes; its names
-- 127.0.0.1, the node's address and name: the kubelet serves with it too)
-- and its kubeconfig, pointed at kube-lb on the node, with kubeasz's names:
-- ssl/<name>-kubelet.pem and <name>-kubelet.kubeconfig. For every master
-- and node, whichever step runs: each is reused while good.

local vars = ezk.vars
local ssl = ezk.cluster_dir .. "/ssl"
if not ezk.stat_local(ssl .. "/ca.pem") and not ezk.check and ezk.tagged({ "certs" }) then
  ezk.fail("no CA (" .. ssl .. "/ca.pem): run step 01 first ('ezk setup <cluster> 01')")
end
ezk.k8s_version_check()

local nodes, seen = {}, {}
for _, g in ipairs({ "kube_master", "kube_node" }) do
  for _, h in ipairs(vars.groups[g] or {}) do
    if not seen[h] then seen[h] = true nodes[#nodes + 1] = h end
  end
end
local port = tostring(vars.SECURE_PORT or 6443)
for _, h in ipairs(nodes) do
  local name = ezk.hostvar(h, "K8S_NODENAME")
  cert { name = name .. "-kubelet", profile = "peer", cn = "system:node:" .. name, o = "system:nodes",
         hosts = { "127.0.0.1", h, name }, expiry = vars.CERT_EXPIRY, algo = vars.CERT_KEY_ALGO or "rsa",
         tags = "certs" }
  kubeconfig { dest = ezk.cluster_dir .. "/" .. name .. "-kubelet.kubeconfig", cert = name .. "-kubelet",
               cluster = "kubernetes", user = "system:node:" .. name, context = "default",
               server = "https://127.0.0.1:" .. port, tags = "certs" }
end
