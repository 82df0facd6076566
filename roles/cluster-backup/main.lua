-- cluster-backup (ezk backup, step 94; the [etcd] members one at a time):
-- a snapshot of etcd, the whole cluster's state, taken on the first member
-- that answers healthy (the members after it see the snapshot is there and
-- do nothing; one that is not healthy says so and leaves it to the next)
-- with etcdctl over TLS and the member's own certificate, then fetched to
-- clusters/<c>/backup/snapshot_<time>.db (0600: it holds the cluster's
-- secrets) and compared: the same sha256 on the member and on the deploy
-- node, and the member's copy removed. cluster-backup/keep (on the deploy
-- node, next) records the sha256, points snapshot.db at it and keeps the
-- newest BACKUP_KEEP.

local vars, q, trim = ezk.vars, ezk.q, ezk.trim
local ip, ca = vars.inventory_hostname, vars.ca_dir
local dir = ezk.cluster_dir .. "/backup"
-- one name for the whole run (the time the first member asked)
local name = ezk.once("cluster-backup: name", function() return os.date("snapshot_%Y%m%d%H%M%S.db") end)
local dest = dir .. "/" .. name
if ezk.stat_local(dest) then
  ezk.report("etcd: snapshot", "ok", name .. " was taken from another member")
  return
end

local ctl = "ETCDCTL_API=3 " .. q(vars.bin_dir .. "/etcdctl") .. " --cacert=" .. q(ca .. "/ca.pem") ..
  " --cert=" .. q(ca .. "/etcd.pem") .. " --key=" .. q(ca .. "/etcd-key.pem") ..
  " --endpoints=https://" .. ip .. ":2379"
local health = command { title = "etcd: etcd-" .. ip .. " healthy", changed_when = false, failed_when = false,
                         cmd = ctl .. " --dial-timeout=3s --command-timeout=5s endpoint health" }
if health.rc ~= 0 then
  ezk.warn("etcd-" .. ip .. " is not healthy: the next member takes the snapshot (" ..
           trim(health.stderr ~= "" and health.stderr or health.stdout) .. ")")
  return
end

-- (the member's copy: 0600 in a 0700 folder, gone once fetched)
local tmp = "/var/lib/ezk/backup/" .. name
command { title = "etcd: snapshot save " .. name, cmd = "umask 077 && mkdir -p /var/lib/ezk/backup && rm -f " ..
  q(tmp) .. " " .. q(tmp .. ".part") .. " && " .. ctl .. " --dial-timeout=3s --command-timeout=" ..
  (tonumber(vars.BACKUP_TIMEOUT) or 600) .. "s snapshot save " .. q(tmp) .. " >/dev/null" }
local sum = command { title = "etcd: sha256 of the snapshot", changed_when = false,
                      cmd = "sha256sum " .. q(tmp) .. " | cut -d' ' -f1" }
ezk.exec_local({ "install", "-d", "-m", "0700", dir })
fetch { src = tmp, dest = dest }
local got = ezk.sha256_file(dest)
command { title = "etcd: the member's copy removed", cmd = "rm -f " .. q(tmp) }
if got ~= trim(sum.stdout) then
  ezk.exec_local({ "rm", "-f", dest })
  ezk.fail("the snapshot fetched has sha256 " .. tostring(got) .. ", the member's " .. trim(sum.stdout) ..
           ": removed; run ezk backup again")
end
