-- cluster-backup/keep (ezk backup, step 94: on the deploy node, after the
-- members): the snapshot's sha256 recorded beside it in sha256sum's format
-- (snapshot_<time>.db.sha256, which `ezk restore` checks the file against),
-- snapshot.db pointed at it (a symbolic link, the newest, what `ezk
-- restore` takes by default, as kubeasz's snapshot.db), and the snapshots
-- beyond the newest BACKUP_KEEP removed (0 keeps them all).

local vars = ezk.vars
local dir = ezk.cluster_dir .. "/backup"
local name = ezk.once("cluster-backup: name", function() return os.date("snapshot_%Y%m%d%H%M%S.db") end)
local path = dir .. "/" .. name
local st = ezk.stat_local(path)
if not st then
  ezk.fail("no snapshot was taken: no [etcd] member answered healthy (their lines above say why)")
end
local sum = assert(ezk.sha256_file(path))
copy { dest = path .. ".sha256", content = sum .. "  " .. name .. "\n", mode = "0600" }
file { path = dir .. "/snapshot.db", state = "link", src = name }
ezk.report("backup " .. name, "changed", string.format("%s: %d bytes, sha256 %s", path, st.size, sum))

local keep = tonumber(vars.BACKUP_KEEP) or 0
if keep > 0 then
  local all = {}
  for _, f in ipairs(ezk.list_local(dir) or {}) do
    if f:match("^snapshot_%d+%.db$") then all[#all + 1] = f end
  end
  table.sort(all)
  for i = 1, #all - keep do
    file { path = dir .. "/" .. all[i], state = "absent" }
    file { path = dir .. "/" .. all[i] .. ".sha256", state = "absent" }
  end
end
