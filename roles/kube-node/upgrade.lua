-- kube-node/upgrade (ezk upgrade, on each node of a batch, before the
-- kube-node role installs the new binaries): a node whose kubelet or
-- kube-proxy in $EZK_HOME/bin differs from its own is drained first (its
-- pods start on the other nodes, PodDisruptionBudgets respected; the
-- DaemonSets' stay), and marked so kube-node/uncordon lets pods back once it
-- is Ready again, in this run or the next one if this one fails in between.
-- A node already up to date is left alone: a second upgrade drains nothing.
-- kubectl runs on the deploy node (ezk.kubectl).
local vars, q = ezk.vars, ezk.q
local name = vars.K8S_NODENAME
local MARK = "/var/lib/ezk/upgrade-drained"

local differs = {}
for _, b in ipairs({ "kubelet", "kube-proxy" }) do
  local want = ezk.sha256_file(ezk.home .. "/bin/" .. b)
  local have = ezk.trim(ezk.exec("sha256sum " .. q(vars.bin_dir .. "/" .. b) .. " 2>/dev/null | cut -d' ' -f1").stdout)
  if want and want ~= have then differs[#differs + 1] = b end
end
if #differs == 0 and not ezk.stat(MARK) then return end
if ezk.check then
  ezk.report("drain " .. name, "changed", "would drain (new " .. table.concat(differs, ", ") .. ")")
  return
end
ezk.exec("mkdir -p /var/lib/ezk && : > " .. q(MARK))
local timeout = tonumber(vars.NODE_DRAIN_TIMEOUT) or 300
local args = { "drain", name }
for _, f in ipairs(ezk.drain_flags(vars.K8S_VER)) do args[#args + 1] = f end
args[#args + 1] = "--timeout=" .. timeout .. "s"
local r = ezk.kubectl(args, { timeout = timeout + 30 })
if r.rc ~= 0 then
  ezk.fail("drain " .. name .. ": " .. ezk.trim(r.stderr ~= "" and r.stderr or r.stdout) ..
           " (it stays cordoned; 'ezk upgrade' again goes on from there)")
end
ezk.report("drain " .. name, "changed",
           #differs > 0 and ("new " .. table.concat(differs, ", ")) or "drained by an upgrade that stopped")
