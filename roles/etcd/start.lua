-- etcd/start (step 02, serial = 1: one member at a time, after every member
-- was configured by the etcd role):
--   (a member that joins a running cluster was started by etcd/join.lua)
--   a stopped member is started without waiting (a member of a new or
--   stopped cluster waits for its peers: the next one starts right after);
--   a running member whose binaries, certificates or unit changed is
--   restarted and waited for before the next one: the cluster keeps its
--   quorum all along.
local q = ezk.q
local E = ezk.shared.etcd
if not E then ezk.fail("etcd/start runs after the etcd role, in the same run") end

local function healthy_self()
  wait_for { title = "etcd: " .. E.name .. " healthy", timeout = E.timeout, sleep = 1,
             cmd = E.ctl .. " --endpoints=https://" .. E.ip .. ":2379 --dial-timeout=2s --command-timeout=3s endpoint health" }
end

local function clear_marker()
  if not ezk.check then ezk.exec("rm -f " .. q(E.marker)) end
end

local st = E.active or ezk.trim(ezk.exec("systemctl is-active etcd", { read_only = true }).stdout)
local pending = E.pending or ezk.stat(E.marker) ~= nil
if st ~= "active" and st ~= "activating" and st ~= "reloading" then
  -- not waited for here: a member may need its peers for a quorum (a new
  -- cluster, or one that was stopped); etcd/health waits for them all
  command { title = "etcd: start", cmd = "systemctl start --no-block etcd" }
  clear_marker()
elseif pending then
  command { title = "etcd: restart (" .. E.name .. ")", cmd = "systemctl restart --no-block etcd" }
  healthy_self()
  clear_marker()
end
