/*
 * facts.h - what a host is, in one round trip: the one probe behind
 * `ezk ping`'s columns and ezk.facts() in roles.
 *
 *     ssh_exec(host, &(struct ssh_cmd){.script = facts_probe, ...}, &r);
 *     struct value *f = facts_parse(buf_cstr(&r.out));   // a map
 *
 * The map: os (os-release ID, "unknown"), os_version, os_name (PRETTY_NAME,
 * else the kernel's name), arch, kernel, hostname, cgroup ("v2", "v1" or
 * "none"), mem_mb, cpus (integers), systemd (a boolean: systemd runs),
 * addresses (a list), pkg ("apt-get", "dnf" or "yum"; absent when none),
 * time_ns (the host's clock when it answered, for ping's skew).
 */
#ifndef EZK_FACTS_H
#define EZK_FACTS_H

struct value;

extern const char facts_probe[];
/* The probe's output as a map (new reference). */
struct value *facts_parse(const char *out);

#endif
