-- The benchmark workload (tests/bench/run.sh): 21 common tasks, the same as
-- ../../playbook.yml does with Ansible's modules. Idempotent: a second run
-- changes nothing.
--
-- Modules not in roles/lib yet are written with command/copy equivalents
-- (each checks before it changes): marked "stand-in" below.

local function tmpl(name)
  local text = assert(ezk.read_local(role_dir .. "/templates/" .. name))
  return ezk.template(text, nil, name)
end

-- stand-in for file { path, state = "directory", mode }
local function directory(path, mode)
  return command { title = "directory " .. path,
    cmd = "mkdir -p " .. q(path) .. " && chmod " .. mode .. " " .. q(path),
    unless = "[ -d " .. q(path) .. " ] && [ \"$(stat -c %a " .. q(path) .. ")\" = " .. mode:gsub("^0", "") .. " ]" }
end

-- stand-in for lineinfile { path, regexp, line, create }
local function line_in_file(path, regexp, line, create)
  return command { title = "lineinfile " .. path,
    cmd = (create and ("touch " .. q(path) .. "; ") or "") ..
      "sed -i " .. q("/" .. regexp .. "/d") .. " " .. q(path) .. " && printf '%s\\n' " .. q(line) .. " >>" .. q(path),
    unless = "grep -qxF -- " .. q(line) .. " " .. q(path) }
end

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

directory("/opt/ezkbench", "0755")
directory("/opt/ezkbench/conf", "0755")
directory("/var/lib/ezkbench", "0700")

copy { src = "app.conf", dest = "/opt/ezkbench/conf/app.conf", mode = "0644" }
copy { src = "ezkbench.sh", dest = "/opt/ezkbench/ezkbench.sh", mode = "0755" }
copy { src = "logrotate", dest = "/etc/logrotate.d/ezkbench", mode = "0644" }
copy { dest = "/etc/ezkbench.env", mode = "0640",
  content = "NODE_NAME=" .. vars.inventory_hostname .. "\nNODE_ADDRESS=" .. vars.ansible_host ..
    "\nAPP_PORT=" .. vars.app_port .. "\n" }

-- template stand-ins: the host's variables rendered here, then copied
copy { title = "template node.conf", dest = "/opt/ezkbench/conf/node.conf", mode = "0644",
  content = tmpl("node.conf.j2") }
copy { title = "template peers", dest = "/opt/ezkbench/conf/peers", mode = "0644",
  content = tmpl("peers.j2") }

line_in_file("/etc/environment", "^EZKBENCH_HOME=", "EZKBENCH_HOME=/opt/ezkbench")
line_in_file("/etc/default/ezkbench", "^OPTS=", "OPTS=--port " .. vars.app_port, true)
line_in_file("/etc/hosts", "[[:space:]]ezkbench\\.local$", "127.0.0.1 ezkbench.local")

-- per-IPC-namespace keys: set live on each test host; net.* only in its
-- file (the test hosts share the machine's network namespace)
sysctl_kv("kernel.msgmax", "65536", "/etc/sysctl.d/90-ezkbench.conf", true)
sysctl_kv("kernel.shmmni", "8192", "/etc/sysctl.d/90-ezkbench.conf", true)
sysctl_kv("net.ipv4.ip_forward", "1", "/etc/sysctl.d/91-ezkbench-net.conf", false)

shell { cmd = "echo initialized >/var/lib/ezkbench/initialized", creates = "/var/lib/ezkbench/initialized" }

copy { title = "template ezkbench.service", dest = "/etc/systemd/system/ezkbench.service", mode = "0644",
  content = tmpl("ezkbench.service.j2") }
local systemd = tostring(vars.bench_systemd):lower() == "true"
command { title = "service ezkbench", when = systemd,
  cmd = "systemctl daemon-reload && systemctl enable --now ezkbench",
  unless = "systemctl is-enabled -q ezkbench && systemctl is-active -q ezkbench" }

command { title = "link /usr/local/bin/ezkbench", cmd = "ln -sfn /opt/ezkbench/ezkbench.sh /usr/local/bin/ezkbench",
  unless = "[ \"$(readlink /usr/local/bin/ezkbench)\" = /opt/ezkbench/ezkbench.sh ]" }
command { title = "touch /var/lib/ezkbench/stamp", cmd = "touch /var/lib/ezkbench/stamp",
  creates = "/var/lib/ezkbench/stamp" }
command { title = "absent /opt/ezkbench/old.conf", cmd = "rm -rf /opt/ezkbench/old.conf",
  removes = "/opt/ezkbench/old.conf" }
