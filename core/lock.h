/*
 * lock.h - one run per cluster: a lock in the cluster's directory that any
 * command which changes the cluster (setup, and the day-2 commands: add-node,
 * del-node, upgrade, ...) takes before it reads or writes anything there.
 *
 *     struct cluster_lock *lk;
 *     char *held_by = NULL;
 *     int rc = cluster_lock(cl->dir, "setup 01", &lk, &held_by);
 *     if (rc == 1) {                    // another process holds it
 *         fprintf(stderr, "ezk: %s\n", ezk_err_msg());   // names its pid
 *         free(held_by);
 *         return EZK_USAGE;            // exit 2
 *     }
 *     if (rc < 0) ...;                  // the lock file cannot be made
 *     ... the run ...
 *     cluster_unlock(lk);              // or just exit: the kernel drops it
 *
 * The lock is a POSIX record lock (fcntl F_SETLK) on clusters/<c>/.ezk.lock:
 * the kernel releases it when the process ends, however it ends (SIGKILL,
 * a crash), so a lock is never stale; it is not inherited by child
 * processes. The file holds one line, "pid<TAB>what<TAB>since", for the
 * message of a second run; the pid in that message comes from the kernel
 * (F_GETLK), not from the file. Read-only commands (inventory, check, log,
 * diff) take no lock.
 *
 * While a process holds its cluster's lock, no other ezk can be writing the
 * cluster's history: a git lock file found in clusters/<c>/.git then is
 * one a dead ezk left, and history.c removes it (cluster_lock_held()).
 */
#ifndef EZK_LOCK_H
#define EZK_LOCK_H

struct cluster_lock;

/* Take the lock of cluster directory dir, without waiting. 0: taken (*out
 * set). 1: another process holds it; *held_by (malloc'd, may be NULL) is
 * "pid 1234 (ezk setup 01, since 2026-12-05 19:30:01)" and the message says
 * the same with the cluster's path. -1: the lock file cannot be made or
 * locked (message). `what` says what this process does ("setup 01"). */
int cluster_lock(const char *dir, const char *what, struct cluster_lock **out, char **held_by);
void cluster_unlock(struct cluster_lock *l);
/* 1 if this process holds the lock of dir (same path as given to
 * cluster_lock, after realpath), 0 if not. */
int cluster_lock_held(const char *dir);

#endif
