-- kube-node/uncordon (ezk upgrade, on each node of a batch, once it is Ready
-- with its new binaries): a node kube-node/upgrade drained takes pods again
-- (kubectl uncordon on the deploy node), and its mark goes.
local vars, q = ezk.vars, ezk.q
local name = vars.K8S_NODENAME
local MARK = "/var/lib/ezk/upgrade-drained"
if not ezk.stat(MARK) or ezk.check then return end
local r = ezk.kubectl({ "uncordon", name }, { timeout = 60 })
if r.rc ~= 0 then ezk.fail("uncordon " .. name .. ": " .. ezk.trim(r.stderr)) end
ezk.exec("rm -f " .. q(MARK))
ezk.report("uncordon " .. name, "changed")
