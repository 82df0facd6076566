-- The benchmark workload (tests/bench/run.sh): 21 common tasks, the same as
-- ../../playbook.yml does with Ansible's modules. Idempotent: a second run
-- changes nothing.

local vars = ezk.vars

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
sysctl { name = "kernel.msgmax", value = 65536, file = "/etc/sysctl.d/90-ezkbench.conf" }
sysctl { name = "kernel.shmmni", value = 8192, file = "/etc/sysctl.d/90-ezkbench.conf" }
sysctl { name = "net.ipv4.ip_forward", value = 1, file = "/etc/sysctl.d/91-ezkbench-net.conf", apply = false }

shell { cmd = "echo initialized >/var/lib/ezkbench/initialized", creates = "/var/lib/ezkbench/initialized" }

-- A changed unit marks a daemon-reload pending: the service task does it.
-- Hosts without systemd (sshd-only test hosts) get the file alone, as the
-- playbook's template task does there (systemd_unit would reload at the end).
local systemd = tostring(vars.bench_systemd):lower() == "true"
if systemd then
  systemd_unit { name = "ezkbench.service", template = "ezkbench.service.j2" }
else
  template { src = "ezkbench.service.j2", dest = "/etc/systemd/system/ezkbench.service", mode = "0644" }
end
service { name = "ezkbench", state = "started", enabled = true, when = systemd }

file { path = "/usr/local/bin/ezkbench", state = "link", src = "/opt/ezkbench/ezkbench.sh" }
file { path = "/var/lib/ezkbench/stamp", state = "touch" }
file { path = "/opt/ezkbench/old.conf", state = "absent" }
