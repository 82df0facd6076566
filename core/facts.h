/*
 * facts.h - what a host is, in one round trip: the one probe behind
 * `ezk ping`'s columns and ezk.facts() in roles.
 *
 *     ssh_exec(host, &(struct ssh_cmd){.script = "ezk_facts", .lib = facts_lib,
 *              .lib_name = "ezk_facts", .read_only = true, ...}, &r);
 *     struct value *f = facts_parse(buf_cstr(&r.out));   // a map
 *
 * The lib is a function the resident shell runs itself (`ezk_facts 1` adds
 * time_ns): it reads /proc, /sys and os-release with the shell's own read,
 * so it costs the host one process (hostname -I), two with time_ns.
 *
 * The map: os (os-release ID, "unknown"), os_version, os_name (PRETTY_NAME,
 * else the kernel's name), arch, kernel, hostname, cgroup ("v2", "v1" or
 * "none"), mem_mb, cpus (integers), systemd (a boolean: systemd runs),
 * addresses (a list), pkg ("apt-get", "dnf" or "yum"; absent when none),
 * time_ns (with `ezk_facts 1`: the host's clock when it answered, for
 * ping's skew).
 */
#ifndef EZK_FACTS_H
#define EZK_FACTS_H

struct value;

extern const char facts_lib[];
/* The probe's output as a map (new reference). */
struct value *facts_parse(const char *out);

#endif
