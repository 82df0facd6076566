-- cilium/hubble (step 06, CLUSTER_NETWORK "cilium" with
-- cilium_hubble_enabled, a play on localhost after every node's cilium/node):
-- hubble-relay restarted once helm has (re)installed cilium in this run, as
-- kubeasz restarts it (scale to 0, then 1) after its nodes' cilium pods run:
-- a relay started before the agents were up may not reach them. Unlike
-- kubeasz, not on a run where helm did not run (nothing changed for it);
-- `rollout restart` keeps the Deployment's replicas. Tag apply.

local vars = ezk.vars
if vars.CLUSTER_NETWORK ~= "cilium" or not ezk.bool(vars.cilium_hubble_enabled) then return end
if not ezk.tagged({ "apply" }) then return end
if not (ezk.shared.cilium and ezk.shared.cilium.helm_ran) then return end

local kc = ezk.deploy_kubectl()
command { title = "restart hubble-relay (helm upgrade cilium ran)", tags = "apply",
          cmd = kc .. " -n kube-system rollout restart deployment hubble-relay" }
