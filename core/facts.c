/*
 * facts.c - the probe of a host's facts and its parser (facts.h).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "facts.h"
#include "value.h"

const char facts_probe[] =
    "echo \"time_ns=$(date +%s%N)\"\n"
    ". /etc/os-release 2>/dev/null\n"
    "echo \"os=${ID:-unknown}\"; echo \"os_version=${VERSION_ID:-}\"\n"
    "echo \"os_name=${PRETTY_NAME:-$(uname -s)}\"\n"
    "echo \"arch=$(uname -m)\"; echo \"kernel=$(uname -r)\"\n"
    "echo \"hostname=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)\"\n"
    "if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo cgroup=v2\n"
    "elif [ -d /sys/fs/cgroup/memory ] || [ -d /sys/fs/cgroup/cpu ]; then echo cgroup=v1\n"
    "else echo cgroup=none; fi\n"
    "sed -n 's/^MemTotal: *\\([0-9]*\\).*/mem_kb=\\1/p' /proc/meminfo\n"
    "echo \"cpus=$(nproc 2>/dev/null || echo 1)\"\n"
    "if [ -d /run/systemd/system ]; then echo systemd=yes; else echo systemd=no; fi\n"
    "echo \"addresses=$(hostname -I 2>/dev/null || true)\"\n"
    "for m in apt-get dnf yum; do command -v $m >/dev/null 2>&1 && { echo \"pkg=$m\"; break; }; "
    "done\n"
    "true\n";

struct value *facts_parse(const char *out)
{
	struct value *f = value_map();
	for (const char *p = out; p && *p;) {
		const char *nl = strchr(p, '\n'), *eq = strchr(p, '=');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (eq && eq < p + len) {
			char *k = xstrndup(p, (size_t)(eq - p));
			char *v = xstrndup(eq + 1, len - (size_t)(eq - p) - 1);
			if (!strcmp(k, "mem_kb")) {
				value_map_set(f, "mem_mb", value_int(atoll(v) / 1024));
			} else if (!strcmp(k, "cpus") || !strcmp(k, "time_ns")) {
				value_map_set(f, k, value_int(atoll(v)));
			} else if (!strcmp(k, "systemd")) {
				value_map_set(f, k, value_bool(!strcmp(v, "yes")));
			} else if (!strcmp(k, "addresses")) {
				struct value *l = value_list();
				char *save = NULL;
				for (char *a = strtok_r(v, " \t", &save); a;
				     a = strtok_r(NULL, " \t", &save))
					value_list_push(l, value_str(a));
				value_map_set(f, k, l);
			} else {
				value_map_set(f, k, value_str(v));
			}
			free(k);
			free(v);
		}
		p = nl ? nl + 1 : NULL;
	}
	if (!value_map_get(f, "cpus"))
		value_map_set(f, "cpus", value_int(1));
	if (!value_map_get(f, "mem_mb"))
		value_map_set(f, "mem_mb", value_int(0));
	return f;
}
