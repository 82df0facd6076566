-- kube-ovn (step 06, CLUSTER_NETWORK "kube-ovn", a play on localhost): so
-- far only the values kubeasz's kube-ovn role substitutes into kube-ovn's
-- install.sh (a 3657-line upstream script ezk does not carry), rendered
-- into clusters/<c>/yml/kube-ovn-values.yaml (tag config; e2e/network-render
-- compares them with kubeasz's rendered script). roles/network stops step
-- 06 for kube-ovn before this role unless the run is `-t config`: nothing
-- is installed, no host changes.

local vars = ezk.vars
if vars.CLUSTER_NETWORK ~= "kube-ovn" then return end

-- the gateway: the pod network's first address (kubeasz's CLUSTER_CIDR_GW)
local n, err = ezk.net(vars.CLUSTER_CIDR)
if not n then ezk.fail("CLUSTER_CIDR: " .. tostring(err)) end
template { src = "kube-ovn-values.yaml.j2", dest = ezk.cluster_dir .. "/yml/kube-ovn-values.yaml", mode = "0644",
           vars = { pod_gateway = tostring(n:host(1)) }, tags = "config" }
