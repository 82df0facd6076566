-- copy: a file from the deploy node (src, relative to the role's files/)
-- or given content, to dest on the host.
--   copy { dest = path, src = "x.conf" | content = "...", mode = "0644",
--          owner = "root", group = "root", mkdir = true }
-- Nothing is sent when the host's file already has the same sha256; a
-- changed file is written beside and renamed, never in place.

local mode_str, role_file, read_remote = ezk.mode_str, ezk.role_file, ezk.read_remote

ezk.module("copy", function(a, ctx)
  if not a.dest then return { failed = true, msg = "dest is required" } end
  local content = a.content
  local src = a.src and role_file(a.src)
  if content == nil and not src then return { failed = true, msg = "src or content is required" } end
  if content ~= nil then content = tostring(content) end
  local args = { dest = a.dest, content = content, src = content == nil and src or nil,
    mode = mode_str(a.mode), owner = a.owner, group = a.group, mkdir = a.mkdir ~= false }
  if not ctx.check and not ctx.diff then -- the common case: one probe, data only if needed
    local changed, err = ezk.upload(args)
    if changed == nil then return { failed = true, msg = err } end
    return { changed = changed }
  end
  args.check = true
  local would, err = ezk.upload(args)
  if would == nil then return { failed = true, msg = err } end
  if not would then return { changed = false } end
  local res = { changed = true }
  if ctx.diff then
    local new = content or ezk.read_local(src) or ""
    res.diff = { before = read_remote(a.dest) or "", after = new, name = a.dest }
  end
  if ctx.check then return res end
  args.check = false
  local changed, err2 = ezk.upload(args)
  if changed == nil then return { failed = true, msg = err2 } end
  return res
end)
