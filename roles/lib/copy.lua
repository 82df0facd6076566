-- copy: a file from the deploy node (src, relative to the role's files/)
-- or given content, to dest on the host.
--   copy { dest = path, src = "x.conf" | content = "...", mode = "0644",
--          owner = "root", group = "root", mkdir = true }
-- Nothing is sent when the host's file already has the same sha256; a
-- changed file is written beside and renamed, never in place.

local mode_str, role_file = ezk.mode_str, ezk.role_file

ezk.module("copy", function(a, ctx)
  if not a.dest then return { failed = true, msg = "dest is required" } end
  local content = a.content
  local src = a.src and role_file(a.src)
  if content == nil and not src then return { failed = true, msg = "src or content is required" } end
  if content ~= nil then content = tostring(content) end
  return ezk.put({ dest = a.dest, content = content, src = content == nil and src or nil,
    mode = mode_str(a.mode), owner = a.owner, group = a.group, mkdir = a.mkdir ~= false }, ctx)
end)
