/*
 * hostsedit.h - the edits the lifecycle commands make to a cluster's hosts
 * file (add-node puts a line under [kube_node], del-node takes it out), on
 * the text itself: comments, blank lines, order and every other line kept
 * byte for byte, as a person would edit it.
 *
 *     struct buf out = BUF_INIT;
 *     if (hosts_edit_add(text, len, "kube_node", "10.0.0.7 k8s_nodename='w7'",
 *                        "clusters/prod/hosts", &out) < 0)
 *         ...;                         // message set: why the edit is refused
 *
 * Which lines name a host is decided by inventory.c itself (each host line
 * is read as the inventory reader reads it: ports, ranges, quotes), and the
 * result is read back and compared with the original: the edit must change
 * the membership of that host in that group (and the groups that contain
 * it) and nothing else, or it is refused. So a host named by a range
 * (node[1:3]) or only through a :children group cannot be removed by a
 * command: the message says to edit the file by hand.
 */
#ifndef EZK_HOSTSEDIT_H
#define EZK_HOSTSEDIT_H

#include <stddef.h>

struct buf;

/* Append host line `line` (a host and its variables, as a hosts file line)
 * to group `group`: after the last host line of the group's last [group]
 * section, or in a new [group] section at the end when there is none. The
 * host must not be in the group already. path names the file in messages. */
int hosts_edit_add(const char *text, size_t len, const char *group, const char *line,
		   const char *path, struct buf *out);

/* Remove host from group: every line of a [group] section that names
 * that host (and only it). The host stays in its other groups. *removed
 * (may be NULL) gets the removed lines, newline-terminated. */
int hosts_edit_remove(const char *text, size_t len, const char *group, const char *host,
		      const char *path, struct buf *out, struct buf *removed);

#endif
