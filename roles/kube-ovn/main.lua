-- kube-ovn (step 06, CLUSTER_NETWORK "kube-ovn", a play on localhost: the
-- deploy node), as kubeasz's kube-ovn role does: kube-ovn's own installer,
-- the install.sh of the release kube_ovn_ver names, with the cluster's
-- values filled in, run on the deploy node. ezk carries no copy of it:
-- `ezk download` fetches the release's dist/images/install.sh into
-- $EZK_HOME/bin/kube-ovn/install.sh (offline/versions.yml), and this role
--   * fills in the lines kubeasz's template changes (tags config and
--     apply): REGISTRY (the offline bundle's easzlab.io.local:5000/kubeovn),
--     POD_CIDR (CLUSTER_CIDR), POD_GATEWAY (its first address, kubeasz's
--     CLUSTER_CIDR_GW), SVC_CIDR (SERVICE_CIDR), the two hostPath mounts of
--     /var/run/containerd (/var<CONTAINERD_STATE_DIR>), and LABEL (the label
--     of the nodes that run OVN's databases: kubeasz's masters carry
--     kubernetes.io/role=master, which kube-node/ready puts on them; the
--     upstream script looks for node-role.kubernetes.io/... labels, which
--     no ezk node has), and ENABLE_LB, ENABLE_NP and ENABLE_EIP_SNAT
--     defaulting to false (kubeasz's; upstream's are true). Each of those lines must be there exactly once, as
--     upstream's defaults (LABEL: any value), and VERSION must be
--     kube_ovn_ver: another release's script is refused, naming the file,
--     before anything is written or run;
--   * writes the result to clusters/<c>/yml/install.sh (0755; what is run
--     is always what yml/ shows; e2e/network-render checks it is kubeasz's
--     rendered script byte for byte);
--   * with tag apply, runs it (bash install.sh in yml/, $EZK_HOME/bin first
--     in PATH, the admin kubeconfig, its output in clusters/<c>/logs/) when
--     it differs from the script last run to the end (yml/.applied/) or the
--     DaemonSet kube-ovn-cni is missing; otherwise nothing is run.
-- The nodes' part (kube-ovn-cni Running on the node, then the default
-- bridge config removed once kube-ovn's is there) is kube-ovn/node, in the
-- step's next play. Not run on a real cluster by ezk's tests (no kube-ovn
-- image nor Open vSwitch on the test machines): README, 06 network.

local vars, q = ezk.vars, ezk.q
if vars.CLUSTER_NETWORK ~= "kube-ovn" then return end
if not ezk.tagged({ "config", "apply" }) then return end

local n, err = ezk.net(vars.CLUSTER_CIDR)
if not n then ezk.fail("CLUSTER_CIDR: " .. tostring(err)) end
local ver = tostring(vars.kube_ovn_ver)
local src = ezk.home .. "/bin/kube-ovn/install.sh"
local yml = ezk.cluster_dir .. "/yml"
local text = ezk.stat_local(src) and ezk.read_local(src)
if not text then
  ezk.fail(src .. " is missing: kube-ovn's install.sh (" .. ver .. ") comes with the offline files " ..
           "('ezk download -c <cluster>' with CLUSTER_NETWORK kube-ovn, or a bundle made so)")
end

-- What changes, line by line (Lua patterns, anchored at the line's start;
-- the rest of the line, its comment, is kept): each must match one line.
local state_dir = tostring(vars.CONTAINERD_STATE_DIR)
local FILL = {
  { what = 'REGISTRY="kubeovn"', pat = '^REGISTRY="kubeovn"$', to = 'REGISTRY="' .. vars.KUBE_OVN_REGISTRY .. '"' },
  { what = 'VERSION="' .. ver .. '" (kube_ovn_ver)', pat = '^VERSION="' .. ver:gsub("%p", "%%%0") .. '"$' },
  { what = 'POD_CIDR="10.16.0.0/16"', pat = '^POD_CIDR="10%.16%.0%.0/16"', to = 'POD_CIDR="' .. vars.CLUSTER_CIDR .. '"' },
  { what = 'POD_GATEWAY="10.16.0.1"', pat = '^POD_GATEWAY="10%.16%.0%.1"', to = 'POD_GATEWAY="' .. tostring(n:host(1)) .. '"' },
  { what = 'SVC_CIDR="10.96.0.0/12"', pat = '^SVC_CIDR="10%.96%.0%.0/12"', to = 'SVC_CIDR="' .. vars.SERVICE_CIDR .. '"' },
  { what = 'LABEL="..."', pat = '^LABEL="[^"]*"', to = 'LABEL="' .. vars.KUBE_OVN_LABEL .. '"' },
  -- OVN's load balancer, NetworkPolicy and EIP/SNAT: off by default, as
  -- kubeasz's script has them (upstream's turns them on)
  { what = "ENABLE_LB=${ENABLE_LB:-...}", pat = "^ENABLE_LB=%${ENABLE_LB:%-%a*}$", to = "ENABLE_LB=${ENABLE_LB:-false}" },
  { what = "ENABLE_NP=${ENABLE_NP:-...}", pat = "^ENABLE_NP=%${ENABLE_NP:%-%a*}$", to = "ENABLE_NP=${ENABLE_NP:-false}" },
  { what = "ENABLE_EIP_SNAT=${ENABLE_EIP_SNAT:-...}", pat = "^ENABLE_EIP_SNAT=%${ENABLE_EIP_SNAT:%-%a*}$",
    to = "ENABLE_EIP_SNAT=${ENABLE_EIP_SNAT:-false}" },
  { what = "- mountPath: /var/run/containerd", pat = "^(%s+%- mountPath: )/var/run/containerd$",
    to = function(lead) return lead .. "/var" .. state_dir end },
  { what = "path: /var/run/containerd", pat = "^(%s+path: )/var/run/containerd$",
    to = function(lead) return lead .. "/var" .. state_dir end },
}
local lines = {}
for l in (text:sub(-1) == "\n" and text or text .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = l end
for _, f in ipairs(FILL) do
  local at = {}
  for i, l in ipairs(lines) do
    if l:find(f.pat) then at[#at + 1] = i end
  end
  if #at ~= 1 then
    local found = ""
    if f.what:find("^VERSION") then
      for _, l in ipairs(lines) do
        if l:find('^VERSION="') then found = " (it says " .. l .. ")" break end
      end
    end
    ezk.fail(src .. ": the line " .. f.what .. " is there " .. #at .. " times, not once" .. found ..
             ": not kube-ovn " .. ver .. "'s install.sh as ezk fills it in (kubeasz's v1.11.5); " ..
             "fetch it again ('ezk download -c <cluster>') or set kube_ovn_ver to the release it is")
  end
  if f.to then
    local l = lines[at[1]]
    local _, e, lead = l:find(f.pat)
    lines[at[1]] = (type(f.to) == "function" and f.to(lead) or f.to) .. l:sub(e + 1)
  end
end
local script = table.concat(lines, "\n") .. (text:sub(-1) == "\n" and "\n" or "")
copy { title = "render install.sh", dest = yml .. "/install.sh", content = script, mode = "0755",
       tags = { "config", "apply" } }

if not ezk.tagged({ "apply" }) then return end
ezk.deploy_kubectl()

-- run it when it changed since it last ran to the end, or kube-ovn is not
-- there (as kubeasz, whose role runs it every time)
ezk.deploy_run {
  title = "kube-ovn's install.sh", daemonset = "kube-ovn-cni", log = "kube-ovn-install",
  record = yml .. "/.applied/install.sh", content = script,
  changed = function() return "install.sh changed" end,
  shows = "yml/install.sh", cmd = "cd " .. q(yml) .. " && bash install.sh",
  timeout = tonumber(vars.KUBE_OVN_INSTALL_TIMEOUT) or 1800,
  ok = "run before; kube-ovn-cni is there", recorded = "record install.sh as run",
}
