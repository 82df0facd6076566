-- fetch: a file of the host to the deploy node, as Ansible's fetch.
--   fetch { src = "/etc/kubernetes/admin.conf", dest = "/backup/", flat = true,
--           fail_on_missing = true }
-- src: an absolute path on the host (a regular file).
-- dest: where on the deploy node. Relative paths are relative to the
--   cluster's folder (the cluster_dir variable).
--   flat = true (the default): dest is the file, or, when it ends with "/",
--     the directory that gets src's base name.
--   flat = false: dest/<inventory_hostname>/<src's full path>, as Ansible.
-- Missing local directories are created. Nothing is transferred when the
-- local file already has the remote file's sha256 (then it is "ok"); a
-- fetched file is written beside and renamed (mode 0600).
-- fail_on_missing = false: a missing src is "ok" instead of a failure.

local q, trim, read_remote = ezk.q, ezk.trim, ezk.read_remote

local function is_text(s)
  return #s <= 256 * 1024 and not s:find("\0", 1, true)
end

ezk.module("fetch", function(a, ctx)
  local src, dest = a.src, a.dest
  if type(src) ~= "string" or src:sub(1, 1) ~= "/" then
    return { failed = true, msg = "src must be an absolute path on the host" }
  end
  if type(dest) ~= "string" or dest == "" then return { failed = true, msg = "dest is required" } end
  if dest:sub(1, 1) ~= "/" then
    local cd = ezk.var("cluster_dir")
    if type(cd) ~= "string" or cd == "" then
      return { failed = true, msg = "dest must be absolute (no cluster_dir variable to resolve " .. dest .. ")" }
    end
    dest = cd .. "/" .. dest
  end
  local target
  if a.flat == false then
    target = dest:gsub("/+$", "") .. "/" .. ezk.host .. src
  elseif dest:sub(-1) == "/" then
    target = dest .. src:match("([^/]*)$")
  else
    target = dest
  end
  target = target:gsub("//+", "/")

  local r = ezk.exec("f=" .. q(src) .. "; [ -f \"$f\" ] || { echo \"no such file: $f\" >&2; exit 3; }\n" ..
    "if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r < \"$f\"; " ..
    "else sha256sum < \"$f\"; fi")
  if r.rc == 3 then
    if a.fail_on_missing == false then return { changed = false, msg = "the remote file does not exist" } end
    return { failed = true, msg = "the remote file does not exist: " .. src }
  end
  local rsum = r.rc == 0 and r.stdout:match("^(%x+)")
  if not rsum then return { failed = true, msg = "cannot read " .. src .. ": " .. trim(r.stderr) } end
  local cur = ezk.read_local(target)
  if cur and ezk.sha256(cur) == rsum then return { changed = false } end

  local res = { changed = true, msg = (cur and "updated " or "fetched to ") .. target }
  if ctx.check then
    if ctx.diff then
      local new = read_remote(src)
      if new and is_text(new) and (cur == nil or is_text(cur)) then
        res.diff = { before = cur or "", after = new, name = target }
      end
    end
    return res
  end
  local done, err = ezk.fetch(src, target)
  if not done then return { failed = true, msg = err } end
  if ctx.diff then
    local new = ezk.read_local(target)
    if new and is_text(new) and (cur == nil or is_text(cur)) then
      res.diff = { before = cur or "", after = new, name = target }
    end
  end
  return res
end)
