-- etcd/health (step 02, once): every member of [etcd] answers healthy over
-- https with the cluster's certificates: etcdctl's exit status and its
-- "<endpoint> is healthy" line for every member (an etcdctl that exits 0
-- and says nothing proves nothing).
local E = ezk.shared.etcd
if not E then ezk.fail("etcd/health runs after the etcd role, in the same run") end
wait_for { title = "etcd: every member healthy", timeout = E.timeout, sleep = 1,
           -- the lines counted by the shell itself (no grep)
           cmd = "out=$(" .. E.ctl .. " --endpoints=" .. E.all ..
                 " --dial-timeout=2s --command-timeout=3s endpoint health 2>&1) && " ..
                 "n=0 r=$out && while :; do case $r in *' is healthy'*) n=$((n + 1)); r=${r#*' is healthy'} ;; " ..
                 "*) break ;; esac; done && " ..
                 "[ \"$n\" -ge " .. E.n .. " ] || { printf '%s\\n' \"$out\" >&2; exit 1; }" }
