/*
 * fsutil.h - files on the deploy node: whole-file reads and atomic writes.
 *
 * file_write_atomic() writes to a temporary name beside the destination,
 * fsyncs it, renames it over the destination and fsyncs the directory, so
 * a reader (or a crash) sees the old file or the new one, never half of
 * one. The same contract holds on hosts (ssh/ uploads).
 */
#ifndef EZK_FSUTIL_H
#define EZK_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Read a whole file; *data is NUL-terminated and must be freed. */
int file_read(const char *path, char **data, size_t *len);
/* Read an input file (an inventory, config.yml, -e @file): only a regular
 * file (a directory, FIFO or device is refused without opening it for
 * reading, so a FIFO never blocks), at most max bytes. Every failure names
 * the file and the reason. */
int file_read_input(const char *path, size_t max, char **data, size_t *len);
/* The most an input file may hold: 16 MiB, far above any real inventory or
 * config.yml (/dev/zero or a runaway generator are refused, not eaten). */
#define INPUT_MAX_BYTES (16u << 20)
/* 0 if path is missing, a regular file or a symlink; else -1 (message). */
int file_replaceable(const char *path);
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Copy a file atomically, keeping its mode unless mode != 0. */
int file_copy(const char *src, const char *dst, mode_t mode);
int file_exists(const char *path);
int dir_exists(const char *path);
/* mkdir -p with the given mode for the directories it creates. */
int mkdir_p(const char *path, mode_t mode);
/* rm -rf; used to drop a half-made cluster directory. */
int remove_tree(const char *path);
/* malloc'd "a/b" (no double slashes). */
char *path_join(const char *a, const char *b);
/* fsync a directory (after a rename inside it). */
int dir_sync(const char *path);
/* All n bytes to a socket (send with MSG_NOSIGNAL: a peer gone is -1, not
 * SIGPIPE; EINTR retried). 0, or -1 with errno set. */
int sock_send_all(int fd, const void *p, size_t n);
/* "a:b:c" split at sep, empty parts dropped: a malloc'd array of *n
 * malloc'd strings (NULL when there are none: s NULL or empty). The roles
 * search path (EZK_ROLES), tag lists. strv_free frees one. */
char **split_list(const char *s, char sep, size_t *n);
void strv_free(char **v, size_t n);

#endif
