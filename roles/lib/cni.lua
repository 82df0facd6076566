-- cni.lua (a helper file: it defines no module): on a node, a network
-- plugin's CNI config takes over from kubeasz's default bridge config
-- (/etc/cni/net.d/10-default.conf, which kube-node writes so that pods run
-- before any plugin does). The plugin's pod on the node writes its config;
-- once it is there the default goes, so new pods get the plugin's network.
-- kubeasz removes the default at once and then waits for the pod; ezk waits
-- first, so a node whose plugin cannot start (an image missing from the
-- bundle) keeps a working config and the task says why. Tag apply, as the
-- manifest's apply: -t config leaves the CNI configs alone.
--
--   ezk.cni_takeover { name = "flannel", conf = "/etc/cni/net.d/10-flannel.conflist",
--                      timeout = 120, who = "flannel's pod", hint = "kubectl ... -o wide; ..." }
--   ezk.cni_takeover { name = "cilium", pod = "k8s-app=cilium", conf = ..., ... }
--
-- name: the plugin (the wait's title: "flannel's CNI config on <node>");
-- timeout: seconds to wait; who and hint: the failure, "<who> did not
-- write <conf> (<hint>)". pod: a label selector of the plugin's pods; with
-- it, this node's pod Running is waited for first ("<pod_name> Running on
-- <node>", pod_name defaulting to name; kubectl on the node with the admin
-- kubeconfig step 01 put in /root/.kube/config, as kube-node/ready's), and
-- the host fails "<pod_name> is not Running on <node> (<hint>)" when it
-- does not come. Under --check before the plugin runs, the default would
-- go: said so.

local DEFAULT = "/etc/cni/net.d/10-default.conf"

function ezk.cni_takeover(a)
  if not ezk.tagged({ "apply" }) then return end
  local node = tostring(ezk.vars.K8S_NODENAME)
  if a.pod then
    local who = a.pod_name or a.name
    local running = wait_for {
      title = who .. " Running on " .. node, tags = "apply", timeout = a.timeout, sleep = 2,
      ignore_errors = true,
      cmd = ezk.q(ezk.vars.bin_dir .. "/kubectl") .. " --kubeconfig=/root/.kube/config -n kube-system get pod" ..
        " -l " .. ezk.q(a.pod) .. " --field-selector spec.nodeName=" .. ezk.q(node) ..
        " -o jsonpath='{.items[*].status.phase}' | grep -qx Running",
    }
    if running.failed then ezk.fail(who .. " is not Running on " .. node .. " (" .. a.hint .. ")") end
  end
  local up = wait_for {
    title = a.name .. "'s CNI config on " .. node, path = a.conf, tags = "apply",
    timeout = a.timeout, sleep = 2, ignore_errors = true,
  }
  if up.failed then
    ezk.fail(a.who .. " did not write " .. a.conf .. " (" .. a.hint .. ")")
  end
  if up.skipped then
    -- --check before the plugin runs: its config would appear, and the default go
    if ezk.stat(DEFAULT) then
      ezk.report("remove " .. DEFAULT, "changed", "would remove it once " .. a.conf .. " is in place")
    end
    return
  end
  file { path = DEFAULT, state = "absent", tags = "apply" }
end
