/*
 * ssh.h - the transport: one SSH session per host for the whole run.
 *
 * ezk needs nothing on a host but sh and coreutils. Each host gets one
 * libssh session; on it, one channel runs a resident `sh` that reads framed
 * commands, so a command costs a fraction of a millisecond instead of a
 * channel (~46 ms: sshd opens a PAM session per channel) or a process.
 *
 *     struct ssh_conf conf = SSH_CONF_INIT;       // shared by every host
 *     conf.known_hosts = "/etc/ezk/known_hosts";
 *     struct ssh_target t = {.name = "10.0.0.1", .addr = "10.0.0.1", .user = "root"};
 *     struct ssh_host *h = ssh_host_new(&conf, &t);
 *     if (ssh_host_connect(h) < 0)                // unreachable: ezk_err_msg()
 *         ...;
 *     struct ssh_cmd cmd = {.script = "uname -r"};
 *     struct ssh_result r = SSH_RESULT_INIT;
 *     if (ssh_exec(h, &cmd, &r) == 0)             // ran: r.status, r.out, r.err
 *         ...;
 *     ssh_result_free(&r);
 *     ssh_host_free(h);
 *
 * Threads: a struct ssh_host belongs to one thread at a time; different
 * hosts may be used from different threads at once (core/pool.h runs one
 * function per host). ssh_conf is read-only once hosts exist.
 *
 * Errors: functions return 0 or -1 with the message in ezk_err_msg()
 * (core/err.h). -1 from ssh_exec() and the transfers means the host itself
 * is lost (connection dropped, shell gone): treat it as unreachable.
 * A command that runs and fails is not an error: see r.status.
 *
 * Authentication, in order: ssh-agent (if SSH_AUTH_SOCK is set), the key
 * file of the target (ansible_ssh_private_key_file) or of the run (--key),
 * the user's default keys (~/.ssh/id_ed25519, id_ecdsa, id_rsa), then the
 * password (ansible_ssh_pass or --ask-pass), as "password" and then as
 * "keyboard-interactive". Secrets are only ever passed to libssh and to
 * the remote sudo's stdin: never to argv, logs or output.
 *
 * Host keys live in one OpenSSH-format known_hosts file. accept-new pins
 * a host's first key (ssh_host_hostkey_note() says so, for the report) and
 * refuses a changed key, saying how to remove the stale entry; strict
 * refuses unknown hosts too; off checks nothing and pins nothing.
 *
 * Exec framing: the resident shell reads its commands as its own script
 * (block reads, as `sh` reads a pipe), one framed command at a time, runs
 * each with stdin from /dev/null (or exactly the bytes given as stdin), then
 * prints an end marker carrying a per-command random nonce and the exit
 * status on stdout, and a marker on stderr. Output is any bytes (NUL
 * included); both streams are drained together, so a command may write
 * megabytes to either without blocking. A command runs in a subshell (a
 * fork) only when it needs one: a cwd, env or timeout, or a script that
 * could change or end the resident shell (anything but simple commands with
 * plain or quoted words: see shell.c); otherwise the shell runs it itself.
 * A command with a timeout runs under coreutils' timeout(1), which kills its
 * whole process group. Shell functions a command uses (ssh_cmd.lib) are
 * defined once per resident shell, so later commands send only their
 * arguments.
 *
 * Become: with t.become (ansible_become), commands run by a second resident
 * shell started through `sudo -S -p <nonce prompt> -u <become_user>`; the
 * password (ansible_become_password / --ask-become-pass) is written to that
 * channel only when sudo prompts with the nonce, so it is never echoed into
 * a command's stdin. sudo is asked once per session, not per command.
 *
 * Persist: with conf.persist_s (ezk --persist, EZK_PERSIST), a host's
 * session is not made by the run but asked of the cluster's agent (an
 * `ezk __agent` process, its socket 0600 in persist_dir, started by the
 * first run that needs it): the agent connects with the code above and
 * runs the commands it is sent; after the run it keeps the session, so
 * the next run within persist_s seconds starts with no handshake and no
 * login (OpenSSH's ControlPersist, with the resident shell kept too). A
 * session is reused only for the same inventory fields, key file (path
 * and stamp), passwords and conf, by one run at a time, after a `:` shows
 * it alive; otherwise it is dropped or the run makes its own. Libs are
 * keyed by their text, not their name, so a changed roles tree defines
 * them anew. No agent to be had (a read-only directory, ...): the run
 * connects itself. The agent exits persist_s seconds after its last
 * client, or as soon as its socket is gone (the cluster destroyed).
 *
 * Transfers: ssh_upload() checks the remote sha256 first and sends nothing
 * when it matches (mode and owner are still fixed). The files it writes
 * carry the content's stamp in their mtime's nanoseconds, so that an
 * unchanged file of the right size is known by one stat, without reading it
 * (transfer.c, PROBE; anything else that writes the file loses the stamp,
 * and the file is hashed again). Otherwise it writes the bytes to a
 * temporary file beside the destination, fsyncs it, sets mode and owner,
 * and renames it over the destination: a run cut short leaves the old file
 * (or none) and a ".NAME.ezk-tmp.*" residue that the next upload to that
 * destination removes. A small file (64 KiB at most; content in memory,
 * whatever its size) written as the login
 * user and owned as a new file is anyway goes through the host's SFTP
 * server (sftp.c: one sftp-server a session, no process a file; its stamp
 * the whole-second mtime SFTP sets, ssh_host_stamp_seed); any other, or a host without SFTP
 * (EZK_SFTP=0: none), through the shell (dd writes and fsyncs in one process, chmod/chown when
 * needed, touch, mv).
 */
#ifndef EZK_SSH_H
#define EZK_SSH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

enum ssh_hostkey_mode { SSH_HOSTKEY_ACCEPT_NEW = 0, SSH_HOSTKEY_STRICT, SSH_HOSTKEY_OFF };

/* What every host of a run shares. */
struct ssh_conf {
	const char *known_hosts;       /* path; NULL: checking is off */
	enum ssh_hostkey_mode hostkey; /* default accept-new */
	int connect_timeout_ms;	       /* TCP connect + handshake; default 10 s */
	int keepalive_s;	       /* TCP keepalive idle seconds; 0: off */
	const char *key_file;	       /* --key: tried after the target's own key */
	const char *password;	       /* --ask-pass: used when the target has none */
	const char *become_password;   /* --ask-become-pass */
	const char *jump;	       /* --jump [user@]host[:port], when the target has none */
	bool no_default_keys;	       /* skip ~/.ssh/id_* (tests) */
	bool no_agent;		       /* skip ssh-agent */
	/* Persist (agent.c): with persist_s > 0 and persist_dir (the
	 * cluster's directory), sessions are kept by an agent process for
	 * persist_s seconds after the last run that used them. */
	const char *persist_dir;
	int persist_s;
};
#define SSH_CONF_INIT                                                                              \
	{                                                                                          \
		.connect_timeout_ms = 10000, .keepalive_s = 30                                     \
	}

/* How to reach one host (from its inventory variables). */
struct ssh_target {
	const char *name;	     /* inventory_hostname, for messages */
	const char *addr;	     /* ansible_host, else name */
	int port;		     /* 0: 22 */
	const char *user;	     /* NULL: the local user's name */
	const char *key_file;	     /* ansible_ssh_private_key_file */
	const char *password;	     /* ansible_ssh_pass / ansible_password */
	const char *jump;	     /* ProxyJump from ansible_ssh_common_args */
	const char *proxy_command;   /* ProxyCommand from ansible_ssh_common_args */
	bool become;		     /* ansible_become */
	const char *become_user;     /* NULL: root */
	const char *become_password; /* ansible_become_password */
};

struct ssh_host;

/* Copies everything it needs from conf and t (conf must outlive it). */
struct ssh_host *ssh_host_new(const struct ssh_conf *conf, const struct ssh_target *t);
void ssh_host_free(struct ssh_host *h);
/* The deploy node itself: commands run by /bin/sh here (ssh/local.c), with
 * the same contract; sudo -n when becoming and not root. */
struct ssh_host *ssh_host_new_local(const struct ssh_conf *conf, const char *name);
/* Connect, check the host key, authenticate, start the resident shell.
 * Idempotent: a connected host returns 0 at once. */
int ssh_host_connect(struct ssh_host *h);
/* Close the session (the remote shells exit on end of input). */
void ssh_host_disconnect(struct ssh_host *h);
bool ssh_host_connected(const struct ssh_host *h);
const char *ssh_host_name(const struct ssh_host *h);
const char *ssh_host_user(const struct ssh_host *h);
/* "pinned new host key for 10.0.0.1 (ssh-ed25519 SHA256:...)" once the
 * first key of a host was pinned, else NULL. */
const char *ssh_host_hostkey_note(const struct ssh_host *h);
/* The authentication method that worked: "agent", "key", "password", ... */
const char *ssh_host_auth_method(const struct ssh_host *h);
/* The stat cache's first paths: those an earlier run asked about on h
 * (copied). The first command of the run that reads the cache sends them, so
 * its one stat(1) covers the run's checks from the start. */
void ssh_host_stat_seed(struct ssh_host *h, const char *const *paths, size_t n);
/* The paths this run's commands named as stat_path on h, once each, in the
 * order first named. */
size_t ssh_host_stat_paths(const struct ssh_host *h, const char *const **paths);
/* The stamps of the files written through SFTP on h (transfer.c), lines
 * "SHA256 SECS PATH": SFTP sets an mtime in whole seconds only, so such a
 * file is known unchanged (no hash) by its size and an mtime of exactly
 * SECS.000000000, as recorded when it was written. Seeded from earlier runs
 * (copied; malformed lines dropped); ssh_host_stamps gives them back,
 * updated, for the next run. Without them such a file is hashed once. */
void ssh_host_stamp_seed(struct ssh_host *h, const char *const *lines, size_t n);
size_t ssh_host_stamps(const struct ssh_host *h, const char *const **lines);

/* Uploads rename their file into place at once but leave the directory's
 * fsync (which makes the rename durable) for later: the next command that
 * is neither read_only nor an upload runs `sync` of every such directory
 * first, in one process (the login user's through SFTP when the session has
 * it up, sftp.c: no process), and this runs it now (the engine does at the end
 * of each play). The file's data is fsynced before its rename: a crash in
 * between leaves the old file or the new one, never a part. 0, or -1 when
 * the host is lost. */
int ssh_host_sync_dirs(struct ssh_host *h);

/* Whether the session is one the agent kept from an earlier run. */
bool ssh_host_reused(const struct ssh_host *h);
/* The agent's own main: `ezk __agent DIR NAME IDLE_S` (main.c). */
int ssh_agent_main(int argc, char **argv);
/* The deploy node's address on the connected session's TCP connection
 * (numeric, into out): the address the host sees ezk come from, so one it
 * can reach. -1 with ezk_err set when there is none the host could reach:
 * not connected, the deploy node itself, a ProxyJump or ProxyCommand (the
 * connection ends elsewhere). */
int ssh_host_local_addr(struct ssh_host *h, char *out, size_t n);

/* One command. script is sh text run by `sh -c` semantics (eval). */
struct ssh_cmd {
	const char *script;
	const char *const *env; /* "NAME=value" strings, NULL-terminated; may be NULL */
	const char *cwd;	/* NULL: the login directory */
	const void *in;		/* bytes for the command's stdin (NULL: /dev/null) */
	const char *in_path;	/* or: a local file streamed as stdin (in_len bytes) */
	size_t in_len;
	int timeout_ms; /* 0: none; else killed (TERM, KILL 2 s later) */
	bool become;	/* run as the become user (needs t.become or is root) */
	bool no_become; /* run as the login user even when the target becomes */
	/* Stream stdout here instead of collecting it in r->out (fetch). A
	 * negative return aborts the command (the session is then closed). */
	int (*out_sink)(void *ud, const void *p, size_t n);
	void *out_ud;
	/* Shell functions the script calls: lib is sh code that defines them,
	 * named lib_name. A resident shell is sent a lib once (with the first
	 * command that names it) and keeps it for the session; the functions
	 * must not exit, cd or leave state behind (they run in the resident
	 * shell itself). The deploy node (local.c) runs lib before each script. */
	const char *lib_name;
	const char *lib;
	/* The stat cache (shell.c): a resident shell keeps one stat(1) of many
	 * paths, read by ezk_sc_get PATH, so an unchanged task's check needs no
	 * process of its own. A command that may change the host drops it (in
	 * every shell of the host) before it runs; one that sets read_only
	 * changes nothing, or drops the cache itself (ezk_sc_v=) when it does.
	 * stat_path (implies read_only): the path whose stat the lib reads with
	 * ezk_sc_get; remembered for the next run's cache (ssh_host_stat_paths).
	 * A lib that calls ezk_sc_get must set stat_path: where no cache is kept
	 * (the deploy node, a command with a timeout) ezk_sc_get says "not
	 * known" and the lib runs stat(1) itself. */
	bool read_only;
	const char *stat_path;
	/* An upload's write (transfer.c): the directory syncs of earlier
	 * writes still wait (ssh_host_sync_dirs). */
	bool upload;
};

struct ssh_result {
	int status;	/* exit status (128+N: killed by signal N; 124/137: timed out) */
	bool timed_out; /* killed by its timeout */
	struct buf out, err;
	double ms; /* wall time of the round trip */
};
#define SSH_RESULT_INIT                                                                            \
	{                                                                                          \
		.status = -1, .out = BUF_INIT, .err = BUF_INIT                                     \
	}
void ssh_result_free(struct ssh_result *r);

/* Run one command: 0 when it ran (whatever its status), -1 when the host
 * is lost. Becomes when cmd->become, or when the target has become set
 * and cmd->no_become is false. */
int ssh_exec(struct ssh_host *h, const struct ssh_cmd *cmd, struct ssh_result *r);

/* Counting, for measurements (ezk's per-task summary, make bench): the
 * commands run on h so far and, once count_procs is on, the processes the
 * host started meanwhile (the last PID in the host's /proc/loadavg, read by
 * the resident shell after each command without a process of its own; all
 * of the PID namespace's processes: on a test host, those of ezk's commands;
 * -1 when the host does not show it). */
void ssh_host_count_procs(struct ssh_host *h, bool on);
void ssh_host_stats(const struct ssh_host *h, unsigned long *cmds, long *procs);

/* The floor a resident shell can reach on h, for make bench: on a channel
 * of its own, a plain `sh` reading lines `true; echo MARK`; ms[0..n-1] get
 * each round trip's time in milliseconds. */
int ssh_host_floor(struct ssh_host *h, int n, double *ms);

/* A local file (or bytes) prepared once for uploads to many hosts: its size
 * and sha256 are computed once. */
struct ssh_file {
	const char *path; /* local file, or NULL with data/len */
	const void *data;
	size_t len;
	char sha256[65];
};
/* Fill f->len and f->sha256 (reads the file once). */
int ssh_file_prepare(struct ssh_file *f);

struct ssh_upload_opts {
	int mode;	   /* -1: 0644 for a new file, unchanged for an existing one */
	const char *owner; /* NULL: unchanged / the writing user */
	const char *group;
	bool become;  /* write as the become user */
	bool mkdir;   /* create missing parent directories (0755) */
	bool dry_run; /* only tell (*changed) whether it would change */
	/* known: dest's size and mode as the caller has just read them (a
	 * read through SFTP): when the size differs from f's, the probe needs
	 * no stat of its own */
	bool known;
	unsigned long long known_size;
	int known_mode;
};
/* Upload f to dest. *changed (may be NULL) tells whether content, mode or
 * owner changed; *sent whether file data crossed the wire. */
int ssh_upload(struct ssh_host *h, const struct ssh_file *f, const char *dest,
	       const struct ssh_upload_opts *o, bool *changed, bool *sent);

/* Files through the host's SFTP server (sftp.c), no process on the host:
 * for a module whose check is a stat or a read and whose change a mkdir, a
 * chmod, a link or a rename. Only as the login user (not for a target that
 * becomes), never on the deploy node, not with EZK_SFTP=0.
 *
 * A batch of reads (LSTAT, READ, READLINK) costs a round trip for the
 * lstats, one for the opens (and readlinks), one per 32 KiB read and one
 * for the closes, whatever the number of paths. READ reads a regular file
 * (1 MiB at most; /proc/sys's files too), READ and READLINK of a symbolic
 * link give its target and no content; nothing but a regular file is
 * opened (a FIFO would hang the server). A batch with a change in it runs
 * its requests one at a time, in order, the first that fails ending it
 * (those after it: status -1); it drops the resident shells' stat caches.
 *
 * 0: done, each result says how it went; 1: no SFTP to be had, or a file
 * too big to read this way (results empty: do it with the shell; a change
 * may have been made in part, so the shell looks again); -1: the host is
 * lost. */
enum ssh_fs_op {
	SSH_FS_LSTAT,	 /* path */
	SSH_FS_READ,	 /* path */
	SSH_FS_READLINK, /* path */
	SSH_FS_MKDIR,	 /* path, mode (the server's umask applies: CHMOD after) */
	SSH_FS_CHMOD,	 /* path, mode (follows a link) */
	SSH_FS_SYMLINK,	 /* path (the link), to (its target) */
	SSH_FS_RENAME	 /* path over to, atomically (posix-rename) */
};
struct ssh_fs_req {
	enum ssh_fs_op op;
	const char *path;
	const char *to;
	unsigned mode;
};
struct ssh_fs_res {
	int status;    /* 0; else the server's code (2 no such file, 3 permission
			* denied, 4 failure, ...) or -1 (not done) */
	char *msg;     /* the server's words when status > 0 */
	char kind;     /* of the lstat: 'f' file, 'd' directory, 'l' link, 'o' other */
	unsigned mode; /* permission bits (07777) */
	unsigned long uid, gid;
	unsigned long long size;
	long long mtime; /* seconds */
	char *data;	 /* READ of a regular file: its bytes (NUL-terminated) */
	size_t len;
	char *target; /* a link's (READ, READLINK) */
};
int ssh_fs(struct ssh_host *h, const struct ssh_fs_req *q, size_t n, struct ssh_fs_res *res);
void ssh_fs_res_free(struct ssh_fs_res *res, size_t n);

/* Fetch a remote file into local_path (written atomically, mode 0600
 * unless mode >= 0). Returns 0, or -1 with the message set; *missing (may
 * be NULL) is set when the remote file does not exist (and -1 returned). */
int ssh_fetch(struct ssh_host *h, const char *remote, const char *local_path, int mode, bool become,
	      bool *missing);

/* Append s to b quoted for sh: 'it'\''s'. */
void buf_sh_quote(struct buf *b, const char *s);

#endif
