-- unarchive: unpack a tarball of the deploy node into a directory of the host.
--   unarchive { src = "cni-plugins.tgz", dest = "/opt/cni/bin", creates = path,
--               extra_opts = { "--strip-components=1" }, mode = "0755" }
-- src: a tar archive (plain, gz, bz2, xz, zst: GNU tar detects it) on the
--   deploy node, relative to the role's files/ (then the role's folder), or
--   absolute. remote_src is not supported.
-- dest: an absolute directory on the host; created if missing (Ansible
--   requires it to exist). mode: the mode of dest (not of the extracted files).
-- creates: nothing is done when that path exists on the host.
-- extra_opts: more arguments for tar -x (a list, or one string).
-- A completed extraction is recorded in dest/.ezk-unarchive-<src name>.sha256
-- (the tarball's sha256): while it matches the tarball, the task is "ok" and
-- nothing is sent or extracted (changes made to the extracted files by hand
-- are not detected). Otherwise the tarball is uploaded to
-- dest/.ezk-archive-<sha prefix>-<name> (skipped if it is already there, say
-- from a failed extraction), extracted with tar -xf, the marker written and
-- the uploaded tarball removed.

local q, trim, mode_str, role_file = ezk.q, ezk.trim, ezk.mode_str, ezk.role_file

-- sha256 of a local file, read in chunks by ezk (not held in memory)
local function file_sha256(path)
  return ezk.sha256_file(path)
end

ezk.module("unarchive", function(a, ctx)
  if not a.src then return { failed = true, msg = "src is required" } end
  if type(a.dest) ~= "string" or a.dest:sub(1, 1) ~= "/" then
    return { failed = true, msg = "dest must be an absolute directory on the host" }
  end
  if a.remote_src then return { failed = true, msg = "remote_src is not supported" } end
  local src = role_file(tostring(a.src))
  local sha, err = file_sha256(src)
  if not sha then return { failed = true, msg = err } end
  local dest = a.dest:gsub("/+$", "")
  if dest == "" then dest = "/" end
  local name = src:match("([^/]*)$")
  local marker = dest .. "/.ezk-unarchive-" .. name .. ".sha256"
  local archive = dest .. "/.ezk-archive-" .. sha:sub(1, 16) .. "-" .. name
  local mode = a.mode and mode_str(a.mode)
  if mode and not mode:match("^[0-7]+$") then return { failed = true, msg = "mode must be octal" } end

  -- one probe: creates, the marker, dest's mode
  local r = ezk.exec("c=" .. q(a.creates or "") .. "; d=" .. q(dest) .. "; mk=" .. q(marker) .. "\n" ..
    "if [ -n \"$c\" ] && [ -e \"$c\" ]; then echo creates; exit 0; fi\n" ..
    "[ -d \"$d\" ] && echo \"dest $(stat -L -c %a -- \"$d\")\"\n" ..
    "[ -f \"$mk\" ] && { printf 'marker '; head -c 100 -- \"$mk\"; echo; }\nexit 0")
  if r.rc ~= 0 then return { failed = true, msg = "probe failed: " .. trim(r.stderr) } end
  if r.stdout:match("^creates") then return { changed = false, msg = a.creates .. " exists" } end
  local dmode = r.stdout:match("dest (%d+)")
  local done = r.stdout:match("marker (%x+)")
  local mode_ok = not mode or (dmode and tonumber(dmode, 8) == tonumber(mode, 8))
  if dmode and done == sha then
    if mode_ok then return { changed = false } end
    if ctx.check then return { changed = true, msg = "mode of " .. dest } end
    local c = ezk.exec("chmod " .. string.format("%05o", tonumber(mode, 8)) .. " -- " .. q(dest))
    if c.rc ~= 0 then return { failed = true, msg = trim(c.stderr) } end
    return { changed = true, msg = "mode of " .. dest }
  end

  local res = { changed = true, msg = (ctx.check and "would extract " or "extracted ") .. name .. " into " .. dest,
    diff = { before = done and (name .. " sha256 " .. done .. "\n") or "",
      after = name .. " sha256 " .. sha .. "\n", name = marker } }
  if ctx.check then return res end

  local changed, uerr = ezk.upload { dest = archive, src = src, mode = "0600", mkdir = true }
  if changed == nil then return { failed = true, msg = uerr } end
  local opts = a.extra_opts or {}
  if type(opts) == "string" then opts = { opts } end
  local qo = {}
  for _, o in ipairs(opts) do qo[#qo + 1] = q(o) end
  local x = ezk.exec("d=" .. q(dest) .. "; ar=" .. q(archive) .. "; mk=" .. q(marker) .. "; n=" .. q(name) .. "\n" ..
    "tar -xf \"$ar\" -C \"$d\" " .. table.concat(qo, " ") .. " || exit 1\n" ..
    (mode and ("chmod " .. string.format("%05o", tonumber(mode, 8)) .. " -- \"$d\" || exit 1\n") or "") ..
    "printf '%s\\n' " .. sha .. " > \"$mk.tmp\" && mv -f -- \"$mk.tmp\" \"$mk\" || exit 1\n" ..
    "rm -f -- \"$ar\"\n" ..
    -- tarballs of earlier versions left by failed extractions
    "for f in \"$d\"/.ezk-archive-*-\"$n\"; do [ -f \"$f\" ] && rm -f -- \"$f\"; done; exit 0",
    { timeout = a.timeout })
  if x.rc ~= 0 or x.timed_out then
    return { failed = true, msg = "tar -xf " .. name .. " in " .. dest .. " failed: " ..
      (x.timed_out and "timed out" or trim(x.stderr)) }
  end
  return res
end)
