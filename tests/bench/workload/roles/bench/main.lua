-- The benchmark workload (tests/bench/run.sh): 21 common tasks, the same as
-- ../../playbook.yml does with Ansible's modules. Idempotent: a second run
-- changes nothing.
--
-- sysctl and service are not in roles/lib yet: command stand-ins (each
-- checks before it changes), marked below.

-- stand-in for sysctl { name, value, file, apply }
local function sysctl_kv(name, value, file, apply)
  local kv = name .. "=" .. value
  local cmd = "touch " .. q(file) .. "; sed -i " .. q("/^" .. name:gsub("%.", "\\.") .. "[ =]/d") .. " " .. q(file) ..
    " && printf '%s\\n' " .. q(kv) .. " >>" .. q(file)
  local unless = "grep -qxF " .. q(kv) .. " " .. q(file)
  if apply then
    cmd = cmd .. " && sysctl -qw " .. q(kv)
    unless = unless .. " && [ \"$(sysctl -n " .. name .. ")\" = " .. q(value) .. " ]"
  end
  return command { title = "sysctl " .. name, cmd = cmd, unless = unless }
end

file { path = "/opt/ezkbench", state = "directory", mode = "0755" }
file { path = "/opt/ezkbench/conf", state = "directory", mode = "0755" }
file { path = "/var/lib/ezkbench", state = "directory", mode = "0700" }

copy { src = "app.conf", dest = "/opt/ezkbench/conf/app.conf", mode = "0644" }
copy { src = "ezkbench.sh", dest = "/opt/ezkbench/ezkbench.sh", mode = "0755" }
copy { src = "logrotate", dest = "/etc/logrotate.d/ezkbench", mode = "0644" }
copy { dest = "/etc/ezkbench.env", mode = "0640",
  content = "NODE_NAME=" .. vars.inventory_hostname .. "\nNODE_ADDRESS=" .. vars.ansible_host ..
    "\nAPP_PORT=" .. vars.app_port .. "\n" }

template { src = "node.conf.j2", dest = "/opt/ezkbench/conf/node.conf", mode = "0644" }
template { src = "peers.j2", dest = "/opt/ezkbench/conf/peers", mode = "0644" }

lineinfile { path = "/etc/environment", regexp = "^EZKBENCH_HOME=", line = "EZKBENCH_HOME=/opt/ezkbench" }
lineinfile { path = "/etc/default/ezkbench", regexp = "^OPTS=", line = "OPTS=--port " .. vars.app_port,
  create = true, mode = "0644" }
lineinfile { path = "/etc/hosts", regexp = "\\sezkbench\\.local$", line = "127.0.0.1 ezkbench.local" }

-- per-IPC-namespace keys: set live on each test host; net.* only in its
-- file (the test hosts share the machine's network namespace)
sysctl_kv("kernel.msgmax", "65536", "/etc/sysctl.d/90-ezkbench.conf", true)
sysctl_kv("kernel.shmmni", "8192", "/etc/sysctl.d/90-ezkbench.conf", true)
sysctl_kv("net.ipv4.ip_forward", "1", "/etc/sysctl.d/91-ezkbench-net.conf", false)

shell { cmd = "echo initialized >/var/lib/ezkbench/initialized", creates = "/var/lib/ezkbench/initialized" }

template { src = "ezkbench.service.j2", dest = "/etc/systemd/system/ezkbench.service", mode = "0644" }
-- stand-in for service { name, state = "started", enabled = true }
local systemd = tostring(vars.bench_systemd):lower() == "true"
command { title = "service ezkbench", when = systemd,
  cmd = "systemctl daemon-reload && systemctl enable --now ezkbench",
  unless = "systemctl is-enabled -q ezkbench && systemctl is-active -q ezkbench" }

file { path = "/usr/local/bin/ezkbench", state = "link", src = "/opt/ezkbench/ezkbench.sh" }
file { path = "/var/lib/ezkbench/stamp", state = "touch" }
file { path = "/opt/ezkbench/old.conf", state = "absent" }
