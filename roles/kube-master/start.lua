-- kube-master/start (step 04, serial = 1: one master at a time, after the
-- kube-master role configured every master): each component that is
-- stopped is started, each one marked pending (its binary, unit,
-- certificates or kubeconfig changed, in this run or in one that failed
-- before its restart) is restarted.
--
-- A kube-apiserver that restarts is first taken out of every kube-lb: new
-- connections to it from other hosts are refused (a TCP reset, so nginx
-- tries the next master at once) until it answers /readyz, then let in
-- again. kube-lb balances TCP and cannot see that an API server which
-- accepts connections is still starting (its RBAC not yet loaded: 403s), or
-- stopping. With masters restarted one at a time, clients through kube-lb
-- never meet a server that is not ready.

local vars, q = ezk.vars, ezk.q
local S = ezk.shared.kube_master
if not S then ezk.fail("kube-master/start runs after the kube-master role, in the same run") end
local PENDING = "/var/lib/ezk/restart-pending/"
local ca = vars.ca_dir
local ip = vars.inventory_hostname
local port = tostring(vars.SECURE_PORT or 6443)
local TAG = "ezk: kube-apiserver restarting"

-- the rule that turns other hosts away from this API server (iptables -C,
-- -I, -D with it)
local RULE = "INPUT -p tcp --syn -d " .. q(ip) .. " --dport " .. q(port) .. " ! -s " .. q(ip) ..
  " -m comment --comment " .. q(TAG) .. " -j REJECT --reject-with tcp-reset"
local function fence(on)
  if ezk.check then return end
  local r = ezk.exec(on and ("iptables -w -C " .. RULE .. " 2>/dev/null || iptables -w -I " .. RULE)
                      or ("while iptables -w -C " .. RULE .. " 2>/dev/null; do iptables -w -D " .. RULE .. "; done"))
  if r.rc ~= 0 then
    ezk.warn("kube-apiserver: cannot " .. (on and "fence" or "unfence") .. " it for the restart (iptables: " ..
             ezk.trim(r.stderr) .. "): clients through kube-lb may see errors while it starts")
  end
end
-- a fence left by a run that was stopped halfway
fence(false)

-- (the fence goes whether or not the server came up: a server that is
-- late must not stay cut off from the other hosts' kube-lb)
local function readyz()
  local r = wait_for { title = "kube-apiserver: " .. ip .. " ready", url = "https://" .. ip .. ":" .. port .. "/readyz",
                       ca = ca .. "/ca.pem", cert = ca .. "/kubernetes.pem", key = ca .. "/kubernetes-key.pem",
                       timeout = tonumber(vars.KUBE_APISERVER_HEALTH_TIMEOUT) or 120, sleep = 0.5,
                       ignore_errors = true }
  fence(false)
  if r.failed then ezk.fail("kube-apiserver on " .. ip .. " did not become ready: " .. tostring(r.msg)) end
end

for _, name in ipairs({ "kube-apiserver", "kube-controller-manager", "kube-scheduler" }) do
  local state = ezk.trim(ezk.exec("systemctl is-active " .. name).stdout)
  local running = state == "active" or state == "activating" or state == "reloading"
  local pending = S.pending[name] or ezk.stat(PENDING .. name) ~= nil
  if not running or pending then
    local apiserver = name == "kube-apiserver"
    if apiserver then fence(true) end
    local r = service { title = name .. ": " .. (running and "restart" or "start"), name = name,
                        state = running and "restarted" or "started", ignore_errors = apiserver }
    if r.failed then
      fence(false)
      ezk.fail(name .. " on " .. ip .. ": " .. tostring(r.msg))
    end
    if apiserver then
      readyz()
    else
      wait_for { title = name .. ": running", timeout = 30, sleep = 0.5,
                 cmd = "systemctl is-active --quiet " .. name }
    end
    if not ezk.check then ezk.exec("rm -f " .. q(PENDING .. name)) end
  end
end
