-- containerd/clean (del-node and del-master, on the host that leaves, after
-- kube-node/clean stopped the pods): containerd stopped and disabled, the
-- containers' mounts released, and what the containerd role installed
-- removed: its unit, config, state and root (the contents: the root may be
-- a mount point of its own), binaries, crictl's config, the CNI plugins.
local vars, q = ezk.vars, ezk.q
local unit = vars.CONTAINERD_SERVICE_NAME or "containerd.service"
local rootdir = vars.CONTAINERD_ROOT_DIR or "/var/lib/containerd"
local state = vars.CONTAINERD_STATE_DIR or "/run/containerd"

service { name = unit, state = "stopped", enabled = false }
-- the shims outlive containerd (KillMode=process): with their containers
-- stopped they are idle; ended here
command { title = "stop containerd's shims",
          unless = "! pgrep -f 'containerd-shim' >/dev/null",
          cmd = "pkill -f 'containerd-shim' ; sleep 1; pkill -9 -f 'containerd-shim' ; true" }
command { title = "unmount " .. state .. " and " .. rootdir,
          unless = "! awk '{print $2}' /proc/mounts | grep -qE '^(" .. state .. "|" .. rootdir .. ")/'",
          cmd = "awk '{print $2}' /proc/mounts | grep -E '^(" .. state .. "|" .. rootdir .. ")/' | sort -r | " ..
            "xargs -r -n1 umount -l" }
command { title = "empty " .. rootdir,
          unless = "[ -z \"$(ls -A " .. q(rootdir) .. " 2>/dev/null)\" ]",
          cmd = "find " .. q(rootdir) .. " -mindepth 1 -maxdepth 1 -exec rm -rf {} +" }
systemd_unit { name = unit, state = "absent" }
for _, p in ipairs({ state, vars.CONTAINERD_CONFIG_DIR or "/etc/containerd", "/etc/crictl.yaml",
                     vars.bin_dir .. "/containerd-bin", vars.bin_dir .. "/crictl", "/opt/cni/bin" }) do
  file { path = p, state = "absent" }
end
