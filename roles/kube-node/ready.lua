-- kube-node/ready (steps 04 and 05, on each node, after kube-node): the
-- node has registered and says Ready; it carries kubeasz's role labels
-- (kubernetes.io/role=node, and =master on masters) and a master that is
-- not also in [kube_node] is cordoned (no workloads). kubectl runs on the
-- node with the admin kubeconfig step 01 put in /root/.kube/config.

local vars, q = ezk.vars, ezk.q
local name = vars.K8S_NODENAME
local kubectl = q(vars.bin_dir .. "/kubectl") .. " --kubeconfig=/root/.kube/config"
local function member(g)
  for _, h in ipairs(vars.groups[g] or {}) do if h == vars.inventory_hostname then return true end end
  return false
end

-- Ready, as said by the kubelet running now: a kubelet just restarted (by
-- kube-node's handler, or ezk upgrade) leaves its predecessor's Ready in the
-- API until its own first report, which may say NotReady (runtime and PLEG
-- not checked yet) for up to 10 s. Its first report always carries a new
-- heartbeat, so the Ready that counts is one whose heartbeat is not earlier
-- than the kubelet's start (a kubelet running for long passes at once).
-- Heartbeats have whole seconds: a first report in the second the kubelet
-- started must count (with node leases the next one may be 5 minutes away,
-- past the timeout); its predecessor stopped before that start.
wait_for { title = "node " .. name .. " Ready", timeout = tonumber(vars.NODE_READY_TIMEOUT) or 120, sleep = 1,
           cmd = "s=$(systemctl show -p ActiveEnterTimestamp --value kubelet) && s=$(date -d \"$s\" +%s) && " ..
             "set -- $(" .. kubectl .. " get node " .. q(name) ..
             " -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status} {.status.conditions[?(@.type==\"Ready\")].lastHeartbeatTime}')" ..
             " && [ \"$1\" = True ] && [ \"$(date -d \"$2\" +%s)\" -ge \"$s\" ]" }

local labels = { "kubernetes.io/role=node" }
if member("kube_master") then labels[#labels + 1] = "kubernetes.io/role=master" end
-- (one label key: the last value wins, as kubeasz's two --overwrite calls)
local want = labels[#labels]:match("=(.*)$")
command { title = "label " .. name .. " kubernetes.io/role=" .. want,
          unless = kubectl .. " get node " .. q(name) ..
            " -o jsonpath='{.metadata.labels.kubernetes\\.io/role}' | grep -qx " .. q(want),
          cmd = kubectl .. " label node " .. q(name) .. " kubernetes.io/role=" .. q(want) .. " --overwrite" }
if not member("kube_node") then
  command { title = "cordon " .. name,
            unless = kubectl .. " get node " .. q(name) .. " -o jsonpath='{.spec.unschedulable}' | grep -qx true",
            cmd = kubectl .. " cordon " .. q(name) }
end
