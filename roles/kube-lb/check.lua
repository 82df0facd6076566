-- kube-lb/check.lua: for `ezk check` and before steps 04 and 05 touch a
-- host (core/check.h): what goes into kube-lb.conf (nginx) as words of its
-- own: the port and every master's name (roles/lib/checks/written.lua).
local hosts = dofile(ezk.lib_dir .. "/checks/nodes.lua")
local written = dofile(ezk.lib_dir .. "/checks/written.lua")
written(hosts, "kube-lb.conf", { { "SECURE_PORT", "word" } })
written.names(ezk.groups.kube_master or {}, "kube-lb.conf", "word")
