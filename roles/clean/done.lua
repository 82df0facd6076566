-- clean/done (ezk destroy / setup 99, on the deploy node, last): what
-- clean left on the hosts on purpose, and that a reboot clears the rest.
-- The cluster's folder (clusters/<c>: the inventory, its history, ssl/,
-- backup/) stays: `ezk setup <c> all` makes the cluster again.
local vars = ezk.vars
ezk.warn("clean leaves on the hosts: " .. tostring(vars.bin_dir) .. " and /opt/cni/bin (the binaries), " ..
  "/etc/sysctl.d/95-k8s-sysctl.conf, /etc/modules-load.d/10-k8s-modules.conf, /etc/modprobe.d/sctp.conf, " ..
  "/etc/systemd/system.conf.d/30-k8s-ulimits.conf, /etc/systemd/journald.conf.d/95-k8s-journald.conf and " ..
  "/var/log/journal (step 01's settings), swap off in /etc/fstab, the host name, chrony (stopped) and its " ..
  "config; and here " .. ezk.cluster_dir .. " (the inventory, its history, ssl/, backup/)")
ezk.warn("reboot the hosts: the kernel keeps what clean cannot undo live (sysctl values, modules, " ..
  "what the pods' network left in iptables and routes, tunl0 (the ipip module's device, down); " ..
  "the pod networks' interfaces are gone)")
