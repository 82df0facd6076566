-- etcd/join (step 02, serial = 1, before etcd/start): a member without data
-- whose peers already run a cluster is added to it (etcdctl member add) and
-- started, and is healthy before any running member is restarted: the
-- cluster keeps its quorum through the rolling restart that follows (a new
-- certificate holds the new member's address).
local q = ezk.q
local E = ezk.shared.etcd
if not E then ezk.fail("etcd/join runs after the etcd role, in the same run") end
if not E.join then return end

if not E.listed then
  -- etcd refuses a new member until every member has been connected for a
  -- few seconds ("unhealthy cluster"): retried for up to 30 s
  command { title = "etcd: member add " .. E.name, cmd = [[
i=0
while :; do
  if out=$(]] .. E.ctl .. " --endpoints=" .. E.others .. " --dial-timeout=2s --command-timeout=10s member add " ..
      q(E.name) .. " --peer-urls=" .. q("https://" .. E.ip .. ":2380") .. [[ 2>&1); then printf '%s\n' "$out"; exit 0; fi
  case $out in *"unhealthy cluster"*|*"not ready"*|*"deadline exceeded"*) ;; *) printf '%s\n' "$out" >&2; exit 1 ;; esac
  i=$((i + 1))
  [ $i -lt 30 ] || { printf '%s\n' "$out" >&2; exit 1; }
  sleep 1
done]] }
end
-- its unit: the cluster as it is now, this member included (etcd checks
-- that --initial-cluster is exactly the member list); members are named
-- etcd-<address> and found by their peer URLs (one added but not yet
-- started has no name)
local r = ezk.exec(E.ctl .. " --endpoints=" .. E.others .. " --dial-timeout=2s --command-timeout=10s member list -w json",
  { timeout = 30 })
if r.rc ~= 0 then ezk.fail("etcd member list: " .. ezk.trim(r.stderr)) end
local initial = {}
for urls in r.stdout:gmatch('"peerURLs":%[(.-)%]') do
  local u = urls:match('"(https?://[^"]+)"')
  local host = u and (u:match("^https?://%[([^%]]+)%]:%d+$") or u:match("^https?://([^:/]+):%d+$"))
  if host then initial[#initial + 1] = "etcd-" .. host .. "=" .. u end
end
table.sort(initial)
systemd_unit { name = "etcd.service", template = "etcd.service.j2",
               vars = { etcd_name = E.name, etcd_ip = E.ip, etcd_state = "existing",
                        etcd_initial_cluster = table.concat(initial, ",") } }
service { name = "etcd", enabled = true }

local st = ezk.trim(ezk.exec("systemctl is-active etcd").stdout)
if st ~= "active" and st ~= "activating" then
  command { title = "etcd: start (joins the cluster)", cmd = "systemctl start --no-block etcd" }
end
wait_for { title = "etcd: " .. E.name .. " healthy", timeout = E.timeout, sleep = 1,
           cmd = E.ctl .. " --endpoints=https://" .. E.ip .. ":2379 --dial-timeout=2s --command-timeout=3s endpoint health" }
if not ezk.check then ezk.exec("rm -f " .. q(E.marker)) end
E.pending = false
