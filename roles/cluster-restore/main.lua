-- cluster-restore (ezk restore, step 95: every [etcd] member at once,
-- any_errors_fatal, before anything stops): the snapshot uploaded (0600, in
-- a 0700 folder) and its sha256 checked on the member, then restored into a
-- new data directory beside the member's (<ETCD_DATA_DIR>.ezk-restore),
-- with the member's own name and peer URL and the [etcd] group as the
-- initial cluster: a new cluster of the same members, from the snapshot's
-- state. Any member that cannot do it stops the step before the cluster is
-- touched. cluster-restore/stop, cluster-restore/etcd and
-- cluster-restore/start do the rest.
--
-- Version table: etcd 3.5 moved `snapshot restore` from etcdctl to etcdutl
-- (etcdctl's is gone in 3.6); the member's own etcd says which it is.

local vars, q = ezk.vars, ezk.q
local ip, bin = vars.inventory_hostname, vars.bin_dir
local data, wal = vars.ETCD_DATA_DIR, tostring(vars.ETCD_WAL_DIR or "")
local RESTORE = {
  { since = "3.5", tool = "etcdutl" },
  { since = "3.0", tool = "etcdctl" },
}

local r = ezk.exec(q(bin .. "/etcd") .. " --version 2>/dev/null | sed -n 's/^etcd Version: *//p'")
local ver = ezk.trim(r.stdout)
if ver == "" then
  ezk.fail(bin .. "/etcd on " .. ip .. " does not say its version: is the member installed (step 02)?")
end
local tool
for _, row in ipairs(RESTORE) do
  if ezk.version_ge(ver, row.since) then tool = row.tool break end
end
if not tool then ezk.fail("etcd " .. ver .. " on " .. ip .. " is older than 3.0: ezk restores etcd 3") end
if tool == "etcdutl" then
  local src = ezk.home .. "/bin/etcdutl"
  if not ezk.stat_local(src) then
    ezk.fail("etcd " .. ver .. " restores with etcdutl, and " .. src .. " is missing: put etcd's etcdutl there")
  end
  copy { dest = bin .. "/etcdutl", src = src, mode = "0755" }
end

local work = "/var/lib/ezk/restore"
file { path = "/var/lib/ezk", state = "directory", mode = "0755" }
file { path = work, state = "directory", mode = "0700" }
copy { title = "copy the snapshot to " .. work, dest = work .. "/snapshot.db", src = vars.db_to_restore, mode = "0600" }
command { title = "the snapshot's sha256 on " .. ip, changed_when = false,
          cmd = "[ \"$(sha256sum " .. q(work .. "/snapshot.db") .. " | cut -d' ' -f1)\" = " ..
            q(vars.EZK_RESTORE_SHA256) .. " ]" }

local cluster = {}
for _, m in ipairs(vars.groups.etcd or {}) do cluster[#cluster + 1] = "etcd-" .. m .. "=https://" .. m .. ":2380" end
local S = { work = work, new = data .. ".ezk-restore", wal = wal, tool = tool }
S.newwal = wal ~= "" and (wal .. ".ezk-restore") or ""
ezk.shared["cluster-restore"] = S
command { title = "etcd: " .. tool .. " snapshot restore into " .. S.new, cmd = table.concat({
  "rm -rf " .. q(S.new) .. (S.newwal ~= "" and (" " .. q(S.newwal)) or ""),
  "cd " .. q(work),
  "ETCDCTL_API=3 " .. q(bin .. "/" .. tool) .. " snapshot restore snapshot.db --name " .. q("etcd-" .. ip) ..
    " --initial-cluster " .. q(table.concat(cluster, ",")) ..
    " --initial-cluster-token " .. q(vars.ETCD_CLUSTER_TOKEN) ..
    " --initial-advertise-peer-urls " .. q("https://" .. ip .. ":2380") ..
    " --data-dir " .. q(S.new) .. (S.newwal ~= "" and (" --wal-dir " .. q(S.newwal)) or "") .. " 2>&1",
}, " && ") }
