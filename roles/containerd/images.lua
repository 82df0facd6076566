-- containerd/images (step 03, after the containerd role and its restart):
-- the images of SANDBOX_IMAGE and EXTRA_IMAGES whose archives are in
-- $EZK_HOME/images (the offline bundle's, or scripts/bin-from-debian.sh's:
-- <name>_<tag>.tar, an OCI image layout) imported into containerd's k8s.io
-- namespace, so no host pulls them. An archive is sent once (copy compares
-- sha256) and imported when containerd lacks the image or holds another
-- digest under its name; an image without an archive is left for containerd
-- to pull from its registry. With INSTALL_SOURCE offline, every archive in
-- $EZK_HOME/images is imported (the bundle holds what the config needs).

local vars, q = ezk.vars, ezk.q
local cbin = vars.bin_dir .. "/containerd-bin"

local function list(v)
  if v == nil or v == "" then return {} end
  if type(v) == "table" then return v end
  return { v }
end

-- "easzlab.io.local:5000/easzlab/pause:3.10" -> "pause_3.10.tar"
local function archive_name(ref)
  local name = ref:gsub("@.*$", ""):match("([^/]+)$") or ref
  local base, tag = name:match("^(.-):([^:]+)$")
  if not base then base, tag = name, "latest" end
  return base .. "_" .. tag .. ".tar"
end

local ctr = q(cbin .. "/ctr") .. " --address " .. q(vars.CONTAINERD_STATE_DIR .. "/containerd.sock") ..
  " -n k8s.io"
local images = { vars.SANDBOX_IMAGE }
for _, i in ipairs(list(vars.EXTRA_IMAGES)) do images[#images + 1] = i end
local archives = {}
for _, ref in ipairs(images) do archives[ref] = ezk.home .. "/images/" .. archive_name(ref) end

-- INSTALL_SOURCE offline: every image the bundle carries (what `ezk download`
-- chose for the config: the network plugin's, the add-ons') reaches every
-- host, named as its archive names it (index.json's io.containerd.image.name),
-- read once on the deploy node for all hosts
if vars.INSTALL_SOURCE == "offline" then
  local found = ezk.once("containerd: the bundle's images", function()
    local dir, t = ezk.home .. "/images", {}
    local names = ezk.list_local(dir) or {}
    for _, n in ipairs(names) do
      if n:match("%.tar$") then
        local r = ezk.exec_local({ "/usr/bin/tar", "-xOf", dir .. "/" .. n, "index.json" })
        local ref = r.rc == 0 and r.stdout:match('"io%.containerd%.image%.name"%s*:%s*"([^"]+)"')
        if not ref then
          error(dir .. "/" .. n .. ": no io.containerd.image.name in its index.json (not an archive ezk download made)", 0)
        end
        t[#t + 1] = ref .. "\t" .. dir .. "/" .. n .. "\n"
      end
    end
    return table.concat(t)
  end)
  for ref, path in found:gmatch("([^\t\n]+)\t([^\n]+)\n") do
    if not archives[ref] then images[#images + 1] = ref end
    archives[ref] = path
  end
end

for _, ref in ipairs(images) do
  local archive = archives[ref]
  if ezk.stat_local(archive) then
    local dest = "/var/lib/ezk/images/" .. archive:match("([^/]+)$")
    copy { dest = dest, src = archive, mode = "0644" }
    command { title = "import " .. ref,
              changed_when = function(r) return r.stdout:find("imported", 1, true) ~= nil end,
              cmd = [[
want=$(tar -xOf ]] .. q(dest) .. [[ index.json | grep -o '"digest" *: *"sha256:[0-9a-f]*"' | head -1 | grep -o 'sha256:[0-9a-f]*')
have=$(]] .. ctr .. [[ images ls name==]] .. q(ref) .. [[ 2>/dev/null | awk 'NR>1 {print $3}')
[ -n "$want" ] && [ "$want" = "$have" ] && exit 0
]] .. ctr .. [[ images import --snapshotter ]] .. q(vars.CONTAINERD_SNAPSHOTTER) .. " " .. q(dest) ..
                [[ >/dev/null || exit 1
echo imported]] }
  else
    ezk.debug("containerd: no archive " .. archive .. ": containerd pulls " .. ref)
  end
end
