# Hostile targets (issue 12, finding 5): a symbolic link at a path a module
# manages is refused by every module, which neither reads nor writes through
# it (roles/lib/README.md, "Symbolic links"): lineinfile, blockinfile,
# sysctl, hosts_block, and copy/template (ezk.upload). The link's target,
# a planted "victim", stays byte for byte as it was. One systemd test host.
. "${EZK_SRC:?}/tests/lib.sh" || exit 1
. "$EZK_SRC/tests/harness/lib.sh"
. "$EZK_SRC/tests/harness/events.sh"
th_skip_unless_root
th_private_home

th_start 1 || { fail "1 test host starts"; done_testing; exit 1; }
A=${TH_ADDRS[0]}
D=/srv/ezk-links
R=$T/roles/t
mkdir -p "$R/templates"
echo evil >"$R/templates/tpl.j2"
export EZK_ROLES=$T/roles:$EZK_SRC/roles
"$EZK" new c1 >/dev/null
cat >"$EZK_HOME/clusters/c1/hosts" <<HOSTS
[etcd]
$A
[kube_master]
$A
[kube_node]
$A
[all:vars]
ansible_user=root
HOSTS
cat >"$T/roles/steps.lua" <<'STEPS'
return { { id = "01", alias = "t", plays = { { hosts = "all", roles = { "t" } } } } }
STEPS
cat >"$R/main.lua" <<'ROLE'
local D = "/srv/ezk-links"
lineinfile { title = "lineinfile", path = D .. "/li.conf", line = "evil=1", ignore_errors = true }
blockinfile { title = "blockinfile", path = D .. "/bi.conf", block = "evil", ignore_errors = true }
sysctl { title = "sysctl", name = "kernel.msgmax", value = 16384, file = D .. "/sysctl.conf", ignore_errors = true }
hosts_block { title = "hosts_block", path = D .. "/hosts", marker = "## {mark} T", entries = { { ip = "127.0.0.1", names = { "x" } } }, ignore_errors = true }
copy { title = "copy", dest = D .. "/copy.conf", content = "victim\n", mode = "0600", ignore_errors = true }
template { title = "template", src = "tpl.j2", dest = D .. "/tpl.conf", ignore_errors = true }
ROLE
# every managed path is a link to a victim file (copy's content is the
# victim's own: only its mode would change, through the link)
th_exec 0 sh -c "mkdir -p $D && printf 'victim\n' >/root/victim && chmod 644 /root/victim &&
	for f in li.conf bi.conf sysctl.conf hosts copy.conf tpl.conf; do ln -s /root/victim $D/\$f; done"
before=$(th_exec 0 sh -c 'sha256sum /root/victim; stat -c %a /root/victim')

ev_setup links c1 01
for t in lineinfile blockinfile sysctl hosts_block copy template; do
	like "$(ev_msg links $A $t)" "$D/[a-z_.]+.? is a symbolic link \\(to /root/victim\\): ezk neither reads nor writes through a link" "$t refuses the link, saying why"
done
is "$(th_exec 0 sh -c 'sha256sum /root/victim; stat -c %a /root/victim')" "$before" "the link's target is untouched (content and mode)"
is "$(th_exec 0 sh -c "for f in li.conf bi.conf sysctl.conf hosts copy.conf tpl.conf; do readlink $D/\$f; done | sort -u")" "/root/victim" "every link is still there"
done_testing
