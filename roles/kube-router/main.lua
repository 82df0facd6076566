-- kube-router (step 06, CLUSTER_NETWORK "kube-router", a play on localhost:
-- the deploy node), as kubeasz's kube-router role: its manifest rendered
-- into clusters/<c>/yml/kube-router.yaml (tags config and apply) and applied
-- with the deploy node's kubectl and the admin kubeconfig (tag apply,
-- ezk.manifest, roles/lib/manifest.lua: only when it changed or an object
-- is missing). The nodes'
-- part (the default bridge config removed once kube-router's is in place)
-- is kube-router/node, in the step's next play.
--
-- What config.yml decides: OVERLAY_TYPE ("full": IPIP to every other node,
-- "subnet": only across subnets), FIREWALL_ENABLE (NetworkPolicy),
-- kube_router_ver (the image's tag). The image is the offline bundle's
-- (easzlab.io.local:5000/cloudnativelabs/kube-router, imported on every
-- node by step 03), never pulled at install time.

if ezk.vars.CLUSTER_NETWORK ~= "kube-router" then return end
ezk.manifest("kube-router")
