-- containerd/check.lua: for `ezk check` and before step 03 touches a host
-- (core/check.h): the values step 03 writes into containerd's unit,
-- config.toml and /etc/crictl.yaml (roles/lib/checks/written.lua).
local hosts = dofile(ezk.lib_dir .. "/checks/nodes.lua")
local written = dofile(ezk.lib_dir .. "/checks/written.lua")
written(hosts, "containerd's unit and config.toml", {
  { "bin_dir", "systemd_arg", "systemd_env", path = true },
  { "CONTAINERD_CONFIG_DIR", "systemd_arg", "toml", path = true },
  { "CONTAINERD_ROOT_DIR", "toml", path = true },
  { "CONTAINERD_STATE_DIR", "toml", "yaml", "systemd_arg", path = true },
  { "SANDBOX_IMAGE", "toml" },
  { "CONTAINERD_SNAPSHOTTER", "toml" },
})
