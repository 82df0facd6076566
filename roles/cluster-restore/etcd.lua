-- cluster-restore/etcd (ezk restore, step 95: every [etcd] member at once,
-- any_errors_fatal, once the API servers are stopped): etcd stops and the
-- restored data takes the place of the member's (which is kept in
-- <ETCD_DATA_DIR>.before-restore until the next restore, for a way back).
-- No member starts before every member has stopped (cluster-restore/
-- etcd-start is the next play): the restored members keep the cluster's
-- member and cluster ids, so a member still running the old data would
-- be their leader and send them its state, undoing the restore.

local vars, q = ezk.vars, ezk.q
local S = ezk.shared["cluster-restore"]
if not S then ezk.fail("cluster-restore/etcd runs after cluster-restore, in the same run") end
local data = vars.ETCD_DATA_DIR

service { name = "etcd", state = "stopped" }
local old = data .. ".before-restore"
local swap = {
  "set -e",
  "rm -rf " .. q(old) .. " && mkdir -m 0700 " .. q(old),
  "if [ -e " .. q(data .. "/member") .. " ]; then mv " .. q(data .. "/member") .. " " .. q(old .. "/member") .. "; fi",
  "mkdir -p -m 0700 " .. q(data),
  "mv " .. q(S.new .. "/member") .. " " .. q(data .. "/member"),
  "rmdir " .. q(S.new),
}
if S.wal ~= "" then
  swap[#swap + 1] = "if [ -e " .. q(S.wal) .. " ]; then mv " .. q(S.wal) .. " " .. q(old .. "/wal") .. "; fi"
  swap[#swap + 1] = "mv " .. q(S.newwal) .. " " .. q(S.wal)
end
command { title = "etcd: the restored data in " .. data .. " (the old in " .. old .. ")", cmd = table.concat(swap, "\n") }
