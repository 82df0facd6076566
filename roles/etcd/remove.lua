-- etcd/remove (del-etcd, once, on a member that stays, after the API
-- servers stopped using the members of NODE_TO_DEL): each is removed from
-- the cluster (etcdctl member remove, found by its peer URL). One that is
-- not a member any more (a rerun) is left alone.
local vars, q = ezk.vars, ezk.q
local ctl = "ETCDCTL_API=3 " .. q(vars.bin_dir .. "/etcdctl") .. " --cacert=" .. q(vars.ca_dir .. "/ca.pem") ..
  " --cert=" .. q(vars.ca_dir .. "/etcd.pem") .. " --key=" .. q(vars.ca_dir .. "/etcd-key.pem") ..
  " --endpoints=" .. q("https://" .. vars.inventory_hostname .. ":2379") .. " --dial-timeout=2s --command-timeout=10s"

for _, h in ipairs(ezk.list(vars.NODE_TO_DEL)) do
  local url = "https://" .. h .. ":2380"
  -- "<id>, started, <name>, <peer urls>, <client urls>, <learner>"
  local find = "id=$(" .. ctl .. " member list | awk -F', ' -v u=" .. q(url) ..
    " '{ n = split($4, us, \",\"); for (i = 1; i <= n; i++) if (us[i] == u) print $1 }')"
  command { title = "etcd: member remove " .. h,
            unless = find .. " && [ -z \"$id\" ]",
            cmd = find .. " && [ -n \"$id\" ] && " .. ctl .. " member remove \"$id\"" }
end
