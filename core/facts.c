/*
 * facts.c - the probe of a host's facts and its parser (facts.h).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "facts.h"
#include "value.h"

/* Files the shell reads itself where it can (/proc, /sys, os-release): one
 * process, hostname -I, for the addresses (and date for time_ns). */
const char facts_lib[] =
    "ezk_facts() {\n"
    "  local k v l n id= vid= pn=\n"
    "  [ -z \"$1\" ] || echo \"time_ns=$(date +%s%N)\"\n"
    "  if [ -r /etc/os-release ]; then\n"
    "    while IFS='=' read -r k v || [ -n \"$k\" ]; do\n"
    "      case $v in \\\"*\\\") v=${v#?}; v=${v%?} ;; \\'*\\') v=${v#?}; v=${v%?} ;; esac\n"
    "      case $k in ID) id=$v ;; VERSION_ID) vid=$v ;; PRETTY_NAME) pn=$v ;; esac\n"
    "    done </etc/os-release\n"
    "  fi\n"
    "  echo \"os=${id:-unknown}\"; echo \"os_version=$vid\"\n"
    "  [ -n \"$pn\" ] || read -r pn 2>/dev/null </proc/sys/kernel/ostype || pn=$(uname -s)\n"
    "  echo \"os_name=$pn\"\n"
    "  read -r l 2>/dev/null </proc/sys/kernel/arch || l=$(uname -m); echo \"arch=$l\"\n"
    "  read -r l 2>/dev/null </proc/sys/kernel/osrelease || l=$(uname -r); echo \"kernel=$l\"\n"
    "  read -r l 2>/dev/null </proc/sys/kernel/hostname || l=$(hostname 2>/dev/null)\n"
    "  echo \"hostname=$l\"\n"
    "  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo cgroup=v2\n"
    "  elif [ -d /sys/fs/cgroup/memory ] || [ -d /sys/fs/cgroup/cpu ]; then echo cgroup=v1\n"
    "  else echo cgroup=none; fi\n"
    "  while read -r k v l; do\n"
    "    case $k in MemTotal:) echo \"mem_kb=$v\"; break ;; esac\n"
    "  done 2>/dev/null </proc/meminfo\n"
    /* the CPUs this shell may run on: nproc's count, from its own status */
    "  n=0\n"
    "  while read -r k v; do\n"
    "    case $k in Cpus_allowed_list:) ;; *) continue ;; esac\n"
    "    v=\"$v,\"\n"
    "    while [ -n \"$v\" ]; do\n"
    "      l=${v%%,*}; v=${v#*,}\n"
    "      case $l in *-*) n=$((n + ${l#*-} - ${l%-*} + 1)) ;; ?*) n=$((n + 1)) ;; esac\n"
    "    done\n"
    "    break\n"
    "  done 2>/dev/null </proc/self/status\n"
    "  [ \"$n\" -gt 0 ] 2>/dev/null || n=$(nproc 2>/dev/null || echo 1)\n"
    "  echo \"cpus=$n\"\n"
    "  if [ -d /run/systemd/system ]; then echo systemd=yes; else echo systemd=no; fi\n"
    "  echo \"addresses=$(hostname -I 2>/dev/null || true)\"\n"
    "  for l in apt-get dnf yum; do\n"
    "    command -v $l >/dev/null 2>&1 && { echo \"pkg=$l\"; break; }\n"
    "  done\n"
    "  return 0\n"
    "}\n";

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
