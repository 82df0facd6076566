-- cilium (step 06, CLUSTER_NETWORK "cilium", a play on localhost): so far
-- only what kubeasz's cilium role renders, its Helm values, into
-- clusters/<c>/yml/cilium-values.yaml (tag config; e2e/network-render
-- compares them with kubeasz's). kubeasz then installs the cilium chart
-- with them; ezk does not yet write the objects that chart makes (as it
-- does for headlamp's), so roles/network stops step 06 for cilium before
-- this role unless the run is `-t config`: nothing is applied, no host
-- changes.
--
-- What config.yml decides: cilium_ver (the images' tags),
-- cilium_hubble_enabled, cilium_hubble_ui_enabled, ENABLE_LOCAL_DNS_CACHE
-- and LOCAL_DNS_CACHE (the cache's address kept out of cilium's),
-- CLUSTER_CIDR (cilium's IPAM pool). Images: the offline bundle's
-- (easzlab.io.local:5000/cilium/...), in offline/versions.yml.

local vars = ezk.vars
if vars.CLUSTER_NETWORK ~= "cilium" then return end

template { src = "cilium-values.yaml.j2", dest = ezk.cluster_dir .. "/yml/cilium-values.yaml", mode = "0644",
           tags = "config" }
