-- kube-lb (step 04 on masters, 05 on nodes): nginx's stream proxy on
-- 127.0.0.1:SECURE_PORT in front of every master's kube-apiserver, on every
-- master and node, as kubeasz: kubelet, kube-proxy and the controllers
-- reach the API through it, so they keep working when a master is down.
-- A changed list of masters reloads nginx (no dropped connections); a new
-- binary or unit restarts it.
--
-- The binary is $EZK_HOME/bin/nginx (kubeasz ships a static one). An nginx
-- whose stream module is a dynamic module (Debian's: `nginx -V` says
-- --with-stream=dynamic) needs $EZK_HOME/bin/nginx-modules/
-- ngx_stream_module.so too: it goes to /etc/kube-lb/modules/ and the config
-- loads it from there.

local vars = ezk.vars
local src = ezk.home .. "/bin/nginx"
if not ezk.stat_local(src) and ezk.tagged({ "bin" }) then
  ezk.fail(src .. " is missing: put nginx (with the stream module) in " .. ezk.home ..
           "/bin (scripts/bin-from-debian.sh, or an offline bundle: ezk bundle import)")
end
local masters = vars.groups.kube_master or {}
if #masters == 0 then ezk.fail("[kube_master] has no hosts: kube-lb has nothing to balance") end

local dynamic = ezk.once("kube-lb: stream module dynamic", function()
  if not ezk.stat_local(src) then return "no" end
  local r = ezk.exec_local({ src, "-V" })
  return (r.stdout .. r.stderr):find("--with-stream=dynamic", 1, true) and "yes" or "no"
end) == "yes"
local module_src = ezk.home .. "/bin/nginx-modules/ngx_stream_module.so"
local module_dest = "/etc/kube-lb/modules/ngx_stream_module.so"
if dynamic and not ezk.stat_local(module_src) then
  ezk.fail(src .. " has the stream module as a dynamic module, and " .. module_src .. " is missing")
end

ezk.handler("restart kube-lb", function()
  service { name = "kube-lb", state = "restarted" }
end)
ezk.handler("reload kube-lb", function()
  service { name = "kube-lb", state = "reloaded" }
end)

for _, d in ipairs({ "/etc/kube-lb/sbin", "/etc/kube-lb/logs", "/etc/kube-lb/conf" }) do
  file { path = d, state = "directory", mode = "0755" }
end
copy { dest = "/etc/kube-lb/sbin/kube-lb", src = src, mode = "0755", notify = "restart kube-lb", tags = "bin" }
if dynamic then
  copy { dest = module_dest, src = module_src, mode = "0644", notify = "restart kube-lb", tags = "bin" }
end
template { src = "kube-lb.conf.j2", dest = "/etc/kube-lb/conf/kube-lb.conf", mode = "0644", tags = "config",
           vars = { stream_module = dynamic and module_dest or "" }, notify = "reload kube-lb" }
systemd_unit { name = "kube-lb.service", template = "kube-lb.service.j2", notify = "restart kube-lb",
               tags = "config" }
service { name = "kube-lb", state = "started", enabled = true }
