-- etcd/health (step 02, once): every member of [etcd] answers healthy over
-- https with the cluster's certificates.
local E = ezk.shared.etcd
if not E then ezk.fail("etcd/health runs after the etcd role, in the same run") end
wait_for { title = "etcd: every member healthy", timeout = E.timeout, sleep = 1,
           cmd = E.ctl .. " --endpoints=" .. E.all .. " --dial-timeout=2s --command-timeout=3s endpoint health" }
