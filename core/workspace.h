/*
 * workspace.h - EZK_HOME and the clusters in it.
 *
 *     $EZK_HOME/clusters/<name>/hosts        inventory (Ansible INI, as kubeasz)
 *     $EZK_HOME/clusters/<name>/config.yml   settings (kubeasz's keys)
 *     $EZK_HOME/current                      the name `ezk checkout` chose
 *
 * The templates that `ezk new` copies come from the data directory
 * (workspace_data_dir()): $EZK_DATA if set, else the directory of the ezk
 * binary when it holds inventories/ (a build tree), else
 * <prefix>/share/ezk (an installed ezk).
 */
#ifndef EZK_WORKSPACE_H
#define EZK_WORKSPACE_H

struct value;

/* 1 if name matches [a-z0-9][a-z0-9-]* (at most 63 characters). */
int cluster_name_ok(const char *name);
/* malloc'd $home/clusters/<name>; no check that it exists. */
char *cluster_dir(const char *home, const char *name);
/* The data directory (static storage). */
const char *workspace_data_dir(void);
/* Make clusters/<name>/ from the templates (hosts.allinone when aio).
 * The cluster appears whole or not at all: it is assembled in a hidden
 * directory and renamed into place. Refuses an existing cluster. */
int workspace_new(const char *home, const char *name, int aio);
/* Names of the clusters (sorted), as a new list value. */
struct value *workspace_clusters(const char *home);
/* malloc'd current cluster name, or NULL (no error) when none is set. */
char *workspace_current(const char *home);
int workspace_set_current(const char *home, const char *name);
/* Check the cluster exists; on failure the message says how to make it. */
int workspace_cluster_exists(const char *home, const char *name);

#endif
