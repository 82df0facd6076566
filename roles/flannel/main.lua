-- flannel (step 06, CLUSTER_NETWORK "flannel", a play on localhost: the
-- deploy node): flannel's manifest rendered into clusters/<c>/yml/flannel.yaml
-- (tags config and apply) and applied with the deploy node's kubectl and the
-- admin kubeconfig (tag apply), as kubeasz's flannel role does; step 07's
-- add-ons are applied the same way (ezk.manifest, roles/lib/manifest.lua:
-- only when the manifest changed since last applied, or an object is
-- missing). The nodes' part
-- (the default bridge config removed once flannel's is in place) is
-- flannel/node, in the step's next play.
--
-- What config.yml decides: CLUSTER_CIDR (flanneld's Network),
-- FLANNEL_BACKEND (vxlan or host-gw), DIRECT_ROUTING (vxlan only: routes
-- instead of the tunnel between nodes of one subnet), flannel_ver (the
-- image's tag). The images are the offline bundle's (easzlab.io.local:5000
-- names, imported on every node by step 03), never pulled at install time.

local vars = ezk.vars
if vars.CLUSTER_NETWORK ~= "flannel" then return end

-- (DIRECT_ROUTING as Ansible's `| bool`: kubeasz's template tests it as
-- Jinja truth, so a quoted "false" would turn it on there; not here)
ezk.manifest("flannel", { direct_routing = vars.FLANNEL_BACKEND == "vxlan" and ezk.bool(vars.DIRECT_ROUTING) })
