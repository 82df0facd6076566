-- containerd/images (step 03, after the containerd role and its restart):
-- the images of SANDBOX_IMAGE and EXTRA_IMAGES whose archives are in
-- $EZK_HOME/images (the offline bundle's, or scripts/bin-from-debian.sh's:
-- <name>_<tag>.tar, an OCI image layout) imported into containerd's k8s.io
-- namespace, so no host pulls them; an image without an archive is left for
-- containerd to pull from its registry. With INSTALL_SOURCE offline, every
-- archive in $EZK_HOME/images is imported (the bundle holds what the config
-- needs).
--
-- What is decided where:
-- - on the deploy node, once per run for all hosts: each archive's name and
--   manifest digest, from its index.json (io.containerd.image.name and the
--   digest of its one image: what `ctr images import` names and points the
--   image at);
-- - on the host, one round trip: `ctr images check` (every name containerd
--   holds, its digest, whether its content for this host's platform is
--   complete and unpacked for the snapshotter; under --check too: it only
--   reads). An image held complete and unpacked under that name with that
--   digest is ok, nothing is sent: a rerun costs one command a host, no
--   archive read or hashed anywhere;
-- - each other image: its archive streamed over the host's session straight
--   into `ctr images import -` (ezk.exec's stdin_file): no archive file on
--   the host, every byte written once, into containerd's content store (a
--   blob whose bytes are not its digest's leaves the image incomplete: the
--   import fails); then the name's digest and state are checked, and the
--   task fails saying what containerd holds unless it is the expected digest,
--   complete and unpacked.
-- Archives an earlier ezk copied to /var/lib/ezk/images are removed in the
-- same round trip as the listing. --check writes nothing: it lists, and says
-- what it would import and remove.

local vars, q = ezk.vars, ezk.q
local cbin = vars.bin_dir .. "/containerd-bin"
local OLD = "/var/lib/ezk/images" -- where ezk kept archives before it streamed them

-- (like every untagged task, nothing here runs under -t config and the like)
if not ezk.tagged({}) then return end

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
local dir = ezk.home .. "/images"

-- the archives, in order: SANDBOX_IMAGE's, EXTRA_IMAGES', then (offline)
-- every other archive of the folder
local paths, seen = {}, {}
local function add(path)
  if not seen[path] then seen[path] = true; paths[#paths + 1] = path end
end
local refs = { vars.SANDBOX_IMAGE }
for _, i in ipairs(list(vars.EXTRA_IMAGES)) do refs[#refs + 1] = i end
local wanted = {}
for _, ref in ipairs(refs) do
  local path = dir .. "/" .. archive_name(ref)
  if ezk.stat_local(path) then
    add(path)
    wanted[path] = ref
  else
    ezk.debug("containerd: no archive " .. path .. ": containerd pulls " .. ref)
  end
end
if vars.INSTALL_SOURCE == "offline" then
  for _, n in ipairs(ezk.list_local(dir) or {}) do
    if n:match("%.tar$") then add(dir .. "/" .. n) end
  end
end
if #paths == 0 then return end

-- each archive's name and manifest digest, read once per run on the deploy
-- node whatever the number of hosts
local images = {}
for _, path in ipairs(paths) do
  local v = ezk.once("containerd: index.json of " .. path, function()
    local r = ezk.exec_local({ "/usr/bin/tar", "-xOf", path, "index.json" })
    if r.rc ~= 0 then
      error(path .. ": no index.json (not an OCI image archive): " .. ezk.trim(r.stderr), 0)
    end
    -- one image, as `ezk download` and bin-from-debian.sh make them: with
    -- two, which one containerd ends up naming is not the archive's to say
    local _, nref = r.stdout:gsub('"io%.containerd%.image%.name"%s*:', "")
    local _, ndigest = r.stdout:gsub('"digest"%s*:', "")
    local ref = r.stdout:match('"io%.containerd%.image%.name"%s*:%s*"([^"]+)"')
    local digest = r.stdout:match('"digest"%s*:%s*"(sha256:%x+)"')
    if not ref then
      error(path .. ": no io.containerd.image.name in its index.json (not an archive ezk download made)", 0)
    end
    if nref ~= 1 or ndigest ~= 1 then
      error(path .. ": its index.json must list exactly one image (it has " .. ndigest .. " digests, " .. nref .. " names)", 0)
    end
    if not digest or #digest ~= 71 then
      error(path .. ": no sha256 manifest digest in its index.json", 0)
    end
    return ref .. "\t" .. digest
  end)
  local ref, digest = v:match("^([^\t]+)\t(.+)$")
  if wanted[path] and wanted[path] ~= ref then
    ezk.debug("containerd: " .. path .. " holds " .. ref .. ", not " .. wanted[path] ..
      ": imported under its own name; containerd pulls " .. wanted[path])
  end
  images[#images + 1] = { path = path, ref = ref, digest = digest }
end

-- what containerd holds, in one round trip (and an earlier ezk's archives
-- gone; under --check only read): `images check` is `images ls` with each
-- image's state (for this host's platform: a multi-arch index with only its
-- blobs is complete), so that an image whose content is incomplete or not
-- unpacked for the snapshotter (an import that failed half way leaves its
-- name pointing at the right digest) is imported again
local snap = q(vars.CONTAINERD_SNAPSHOTTER)
local images_check = ctr .. " images check --snapshotter " .. snap
local script
if ezk.check then
  script = "[ -d " .. q(OLD) .. " ] && echo ezk-old-archives\n" .. images_check
else
  script = "[ -d " .. q(OLD) .. " ] && rm -rf " .. q(OLD) .. " && echo ezk-old-archives\n" .. images_check
end
local r = ezk.exec(script)
if r.stdout:find("ezk-old-archives\n", 1, true) == 1 then
  ezk.report("remove " .. OLD, "changed", (ezk.check and "would remove" or "removed") ..
    " the archives an earlier ezk copied there (images are streamed now)")
end
-- `images check`'s lines (REF TYPE DIGEST STATUS SIZE UNPACKED: "...
-- complete (2/2) 297.3 KiB/297.3 KiB true") in a text: name -> {digest,
-- state, ok (complete and unpacked)}; other lines are skipped
local function check_line(line)
  local name, digest, status, unpacked = line:match("^(%S+)%s+%S+%s+(sha256:%x+)%s+(%S+).-(%S+)%s*$")
  if name then
    return name, { digest = digest, state = status .. ", unpacked: " .. unpacked,
      ok = status == "complete" and unpacked == "true" }
  end
end

local held = {} -- name -> digest, of the images complete and unpacked
if r.rc ~= 0 then
  -- under --check, containerd may not be there yet (step 03 would install it)
  if not ezk.check then
    ezk.fail("containerd: " .. images_check .. " failed (exit " .. r.rc .. "): " .. ezk.trim(r.stderr))
  end
else
  for line in r.stdout:gmatch("[^\n]+") do
    local name, h = check_line(line)
    if name and h.ok then held[name] = h.digest end
  end
end

-- the images containerd lacks: pulled from ezk on the deploy node when the
-- host can reach it (IMAGE_PULL_FROM_DEPLOY, the default), each byte once
-- over plain TCP; the rest (a host behind a jump host, a pull that failed)
-- streamed over the session
local missing = {}
for _, im in ipairs(images) do
  local title = "import " .. im.ref
  if held[im.ref] == im.digest then
    ezk.report(title, "ok", "containerd holds " .. im.digest)
  elseif ezk.check then
    ezk.report(title, "changed", "would import " .. im.path .. " (" .. im.digest .. ")")
  else
    missing[#missing + 1] = im
  end
end

-- ctr's exit checked by the caller; then the name's digest and state
local function verify(im)
  return "set -- $(" .. images_check .. " | awk -v n=" .. q(im.ref) ..
    " 'NR > 1 && $1 == n { print $3, $4, $NF }')\n" ..
    "[ \"$1 $2 $3\" = " .. q(im.digest .. " complete true") .. " ] && exit 0\n" ..
    "h=nothing; [ -n \"$1\" ] && h=\"$1 ($2, unpacked: $3)\"\n" ..
    "printf 'imported %s, but containerd holds %s under %s, not %s\\n' " .. q(im.path) ..
    " \"$h\" " .. q(im.ref) .. " " .. q(im.digest) .. " >&2\nexit 1"
end

local why_ssh -- why the images go over SSH, for the tasks' messages
if #missing > 0 and ezk.bool(vars.IMAGE_PULL_FROM_DEPLOY) then
  local archives = {}
  for _, im in ipairs(missing) do archives[#archives + 1] = im.path end
  local where, why = ezk.image_server(archives)
  if not where then
    why_ssh = "the deploy node's registry is not for this host: " .. why
  else
    -- one round trip: a hosts dir of this pull's own naming the deploy
    -- node for each registry host of the images (the host's certs.d and
    -- /etc/hosts are not touched), each image pulled in turn as a kubelet
    -- pulls; the first failure ends the pulls (the rest go over SSH)
    local sh = { "d=$(mktemp -d /tmp/ezk-pull.XXXXXX) || exit 1" }
    local dirs = {}
    for _, im in ipairs(missing) do
      local reg = im.ref:match("^([^/]+)/")
      if reg and not dirs[reg] then
        dirs[reg] = true
        sh[#sh + 1] = "mkdir -p \"$d\"/" .. q(reg) .. " && printf '%s\\n' " ..
          q('server = "http://' .. where .. '"') .. " " ..
          q('[host."http://' .. where .. '"]') .. " " ..
          q('  capabilities = ["pull", "resolve"]') .. " >\"$d\"/" .. q(reg) .. "/hosts.toml || exit 1"
      end
    end
    sh[#sh + 1] = "for r in " .. (function()
      local w = {}
      for _, im in ipairs(missing) do w[#w + 1] = q(im.ref) end
      return table.concat(w, " ")
    end)() .. "; do"
    sh[#sh + 1] = "  if " .. ctr .. " images pull --hosts-dir \"$d\" --snapshotter " .. snap ..
      " \"$r\" >/dev/null 2>\"$d/err\"; then echo \"ezk-pulled $r\"; else" ..
      " echo \"ezk-pull-failed $r $(tail -c 400 \"$d/err\" | tr '\\n' ' ')\"; break; fi"
    sh[#sh + 1] = "done"
    sh[#sh + 1] = "rm -rf \"$d\""
    sh[#sh + 1] = images_check
    local t0 = ezk.clock()
    local p = ezk.exec(table.concat(sh, "\n"))
    local pulled, failed, now = {}, nil, {}
    for line in p.stdout:gmatch("[^\n]+") do
      local ref = line:match("^ezk%-pulled (%S+)$")
      local fref, err = line:match("^ezk%-pull%-failed (%S+) ?(.*)$")
      if ref then
        pulled[ref] = true
      elseif fref then
        failed = fref .. ": " .. ezk.trim(err)
      else
        local name, h = check_line(line)
        if name then now[name] = h end
      end
    end
    if p.rc ~= 0 then
      failed = "the pull's command failed (exit " .. p.rc .. "): " .. ezk.trim(p.stderr)
    end
    local ms = ezk.clock() - t0
    local rest = {}
    for _, im in ipairs(missing) do
      local title = "import " .. im.ref
      local h = now[im.ref]
      if pulled[im.ref] and h and h.ok and h.digest == im.digest then
        ezk.report(title, "changed", "pulled from the deploy node (" .. where .. "), " .. im.digest ..
          (#missing > 1 and "" or (" in " .. math.floor(ms) .. " ms")))
      elseif pulled[im.ref] then
        local m = "pulled " .. im.ref .. " from the deploy node (" .. where .. "), but containerd holds " ..
          (h and (h.digest .. " (" .. h.state .. ")") or "nothing") .. " under it, not " .. im.digest
        ezk.report(title, "failed", m)
        error({ ezk_failed = true, msg = m }, 0)
      else
        rest[#rest + 1] = im
      end
    end
    if #rest > 0 then
      why_ssh = "the pull from the deploy node (" .. where .. ") failed: " .. (failed or "no answer")
      ezk.warn(why_ssh .. "; " .. #rest .. " image(s) imported over SSH instead")
    end
    missing = rest
  end
end

for _, im in ipairs(missing) do
  -- the archive is this command's stdin; then the name's digest and state
  command { title = "import " .. im.ref, stdin_file = im.path, cmd =
    ctr .. " images import --snapshotter " .. snap .. " - >/dev/null || exit 1\n" .. verify(im) }
  if why_ssh then ezk.debug("containerd: " .. im.ref .. " over SSH: " .. why_ssh) end
end
