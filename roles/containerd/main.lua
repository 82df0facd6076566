-- containerd (step 03, every master and node): containerd, its shim, ctr
-- and runc in bin_dir/containerd-bin, crictl in bin_dir, the CNI plugins in
-- /opt/cni/bin, config.toml, a certs.d folder per registry, /etc/crictl.yaml
-- and the unit. containerd restarts only when something it reads changed.
-- containerd/images.lua (the next role of the play, after the restart)
-- imports the offline images.
--
-- Versions: containerd 1.x reads config version 2, 2.x reads version 3
-- (other plugin names); the table below picks by the version of the
-- containerd in $EZK_HOME/bin (2.x when it cannot be told: kubeasz 3.7's).

local vars, q = ezk.vars, ezk.q
local bin = vars.bin_dir
local cbin = bin .. "/containerd-bin"
local src = ezk.home .. "/bin"
local confdir = vars.CONTAINERD_CONFIG_DIR
local unit = vars.CONTAINERD_SERVICE_NAME or "containerd.service"
local svc = unit:gsub("%.service$", "")

-- what differs between containerd's major versions
local VERSIONS = {
  { since = "2.0", config = "config-v3.toml.j2" },
  { since = "1.5", config = "config-v2.toml.j2" }, -- certs.d (config_path) came in 1.5
}
local ver = ezk.bin_version(src .. "/containerd-bin/containerd")
local V
for _, row in ipairs(VERSIONS) do
  if ver == nil or ezk.version_ge(ver, row.since) then V = row break end
end
if not V then ezk.fail("containerd " .. ver .. " in " .. src .. "/containerd-bin is too old: 1.5 or later") end

ezk.handler("restart containerd", function()
  service { name = svc, state = "restarted" }
  wait_for { title = "containerd: answering", timeout = 30, sleep = 0.5,
             cmd = q(cbin .. "/ctr") .. " --address " .. q(vars.CONTAINERD_STATE_DIR .. "/containerd.sock") .. " version" }
end)

-- ---- binaries
for _, d in ipairs({ bin, cbin, "/opt/cni/bin" }) do file { path = d, state = "directory", mode = "0755" } end
local function need(p)
  if ezk.stat_local(p) or not ezk.tagged({ "bin" }) then return end
  ezk.fail(p .. " is missing: put the binaries to install in " .. src ..
           " (scripts/bin-from-debian.sh, or an offline bundle: ezk bundle import)")
end
for _, b in ipairs({ "containerd", "containerd-shim-runc-v2", "ctr", "runc" }) do
  need(src .. "/containerd-bin/" .. b)
  copy { dest = cbin .. "/" .. b, src = src .. "/containerd-bin/" .. b, mode = "0755", tags = "bin",
         notify = b == "containerd" and "restart containerd" or nil }
end
if ezk.stat_local(src .. "/crictl") then
  copy { dest = bin .. "/crictl", src = src .. "/crictl", mode = "0755", tags = "bin" }
end
-- the CNI plugins every network needs (bridge, host-local, loopback, portmap...)
local cni = ezk.list_local(src .. "/cni-bin") or {}
if #cni == 0 and ezk.tagged({ "bin" }) then ezk.warn(src .. "/cni-bin holds no CNI plugins: pods get no network") end
for _, p in ipairs(cni) do
  copy { dest = "/opt/cni/bin/" .. p, src = src .. "/cni-bin/" .. p, mode = "0755", tags = "bin" }
end

-- ---- configuration
local function list(v)
  if v == nil or v == "" then return {} end
  if type(v) == "table" then return v end
  return { v }
end
-- registries: certs.d/<host[:port]>/hosts.toml
local registries = {}
for _, url in ipairs(list(vars.INSECURE_REG)) do
  local hostport = tostring(url):match("^%a+://([^/]+)")
  if not hostport then
    ezk.fail("INSECURE_REG entry '" .. tostring(url) .. "' needs its scheme: http:// or https://")
  end
  registries[#registries + 1] = { dir = hostport, server = url,
    hosts = { { url = url, skip_verify = true } } }
end
if vars.ENABLE_MIRROR_REGISTRY == true or vars.ENABLE_MIRROR_REGISTRY == "true" then
  local hs = {}
  for _, m in ipairs(list(vars.DOCKER_MIRRORS)) do hs[#hs + 1] = { url = m } end
  registries[#registries + 1] = { dir = "docker.io", server = "https://docker.io", hosts = hs }
end
local harbor = vars.HARBOR_REGISTRY
if harbor and harbor ~= "" and #(vars.groups.harbor or {}) > 0 then
  registries[#registries + 1] = { dir = harbor, server = "https://" .. harbor,
    hosts = { { url = "https://" .. harbor, skip_verify = true } } }
end
for _, r in ipairs(registries) do
  local t = { "# Written by ezk (step 03). containerd's registry host config:",
              "# https://github.com/containerd/containerd/blob/main/docs/hosts.md",
              "server = " .. ezk.quote("toml", r.server), "" }
  for _, h in ipairs(r.hosts) do
    t[#t + 1] = "[host." .. ezk.quote("toml", h.url) .. "]"
    t[#t + 1] = "  capabilities = [\"pull\", \"resolve\"]"
    if h.skip_verify then t[#t + 1] = "  skip_verify = true" end
    t[#t + 1] = ""
  end
  copy { dest = confdir .. "/certs.d/" .. r.dir .. "/hosts.toml", content = table.concat(t, "\n"),
         mode = "0644", tags = "config" }
end

local cfg = { systemd_cgroup = vars.CGROUP_DRIVER ~= "cgroupfs",
              restrict_oom = vars.CONTAINERD_RESTRICT_OOM_SCORE_ADJ == true }
template { src = V.config, dest = confdir .. "/config.toml", mode = "0644", vars = cfg,
           notify = "restart containerd", tags = "config" }
copy { dest = "/etc/crictl.yaml", mode = "0644", tags = "config",
       content = "runtime-endpoint: " .. ezk.quote("yaml", "unix://" .. vars.CONTAINERD_STATE_DIR .. "/containerd.sock") .. "\n" }
systemd_unit { name = unit, template = "containerd.service.j2", notify = "restart containerd", tags = "config" }
service { name = svc, state = "started", enabled = true }
