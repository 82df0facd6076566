-- pods.lua (a helper file: it defines no module): what 99 clean and
-- del-node's kube-node/clean both do to a node's pods.
--
--   command { title = "...", unless = "! systemctl is-active --quiet kubepods.slice",
--             cmd = ezk.KUBEPODS_STOP }
--
-- ezk.KUBEPODS_STOP, a line of sh: every process of the pods' cgroups
-- (systemd's kubepods slice under the systemd cgroup driver) killed, then
-- the slice stopped and what systemd still holds of the pods' units let
-- go. Killed first: a container's first process is its PID namespace's
-- init, which ignores SIGTERM; systemd's stop then waited 90 s for it and
-- left its scope failed and loaded, its slices listed (e2e/day2's destroy,
-- del-node: 88 s).
ezk.KUBEPODS_STOP = "find /sys/fs/cgroup -path '*kubepods*' -name cgroup.procs -exec cat {} + 2>/dev/null | " ..
  "xargs -r kill -9 2>/dev/null; systemctl stop kubepods.slice && " ..
  "{ systemctl reset-failed 'kubepods*' 'cri-containerd-*' 2>/dev/null; true; }"
