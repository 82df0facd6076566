-- etcd/quorum (del-etcd, first, once, on a member that stays): removing
-- the members of NODE_TO_DEL keeps the cluster whole, or nothing changes.
-- A member is removed by a raft proposal, which needs a quorum of the
-- cluster as it is (N members: N/2+1 answering), and afterwards the members
-- that stay must make the quorum of the smaller cluster. Each member is
-- asked for its status over https with the cluster's certificates (a
-- member answers its status without a quorum, where `endpoint health`, a
-- read through raft, fails on every member once the quorum is lost).
local vars, q = ezk.vars, ezk.q
local ctl = "ETCDCTL_API=3 " .. q(vars.bin_dir .. "/etcdctl") .. " --cacert=" .. q(vars.ca_dir .. "/ca.pem") ..
  " --cert=" .. q(vars.ca_dir .. "/etcd.pem") .. " --key=" .. q(vars.ca_dir .. "/etcd-key.pem")

local leaving, members, stay = {}, {}, {}
for _, h in ipairs(ezk.list(vars.NODE_TO_DEL)) do leaving[h] = true end
for _, h in ipairs(vars.groups.etcd or {}) do
  members[#members + 1] = h
  stay[#stay + 1] = h
end
for h in pairs(leaving) do members[#members + 1] = h end

local probes = {}
for _, m in ipairs(members) do
  probes[#probes + 1] = "if " .. ctl .. " --endpoints=" .. q("https://" .. m .. ":2379") ..
    " --dial-timeout=2s --command-timeout=3s endpoint status >/dev/null 2>&1; then echo " .. q(m) .. " up; " ..
    "else echo " .. q(m) .. " down; fi"
end
local r = command { title = "etcd: every member answers", check_mode = false, changed_when = false,
                    cmd = table.concat(probes, "\n") }
local up, up_stay, down = 0, 0, {}
for _, l in ipairs(ezk.lines(r.stdout or "")) do
  local m, st = l:match("^(%S+) (%a+)$")
  if st == "up" then
    up = up + 1
    if not leaving[m] then up_stay = up_stay + 1 end
  elseif m then
    down[#down + 1] = m
  end
end
local n, left = #members, #stay
local need_now, need_after = n // 2 + 1, left // 2 + 1
if up < need_now or up_stay < need_after then
  ezk.fail("removing " .. table.concat(ezk.list(vars.NODE_TO_DEL), ", ") .. " would break etcd's quorum: " ..
           up .. " of " .. n .. " members answer (the removal needs " .. need_now .. "), " .. up_stay .. " of the " ..
           left .. " that stay (they need " .. need_after .. ")" ..
           (#down > 0 and ("; not answering: " .. table.concat(down, ", ")) or "") ..
           ". Bring the members back first; nothing was changed")
end
if #down > 0 then
  ezk.warn("etcd members not answering: " .. table.concat(down, ", ") .. " (the quorum holds without them)")
end
