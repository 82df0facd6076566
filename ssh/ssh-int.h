/*
 * ssh-int.h - what session.c, shell.c and transfer.c share. Not for users
 * of the transport: they see ssh.h only.
 */
#ifndef EZK_SSH_INT_H
#define EZK_SSH_INT_H

#include <libssh/libssh.h>

#include "ssh.h"

/* One resident remote sh, on its own channel. */
struct ssh_shell {
	ssh_channel ch;
	bool up;
	char **libs; /* the lib_names whose code this shell has defined */
	size_t nlibs;
	bool sc_lib;   /* the stat cache's functions are defined (shell.c) */
	bool sc_dirty; /* a command since may have changed the host: drop it */
};

struct ssh_host {
	const struct ssh_conf *conf;
	char *name, *addr, *user, *key_file, *jump, *proxy_command, *become_user;
	char *password, *become_password; /* secrets: wiped on free */
	int port;
	bool become;

	ssh_session s;
	struct ssh_shell sh[2]; /* [0] login user, [1] become user */
	char nonce[33];		/* per session, random */
	unsigned long seq;	/* commands sent, makes each marker unique */
	char *hostkey_note;
	const char *auth;
	bool local; /* the deploy node itself (local.c) */

	/* ssh_host_stats(): commands run; with count_procs, processes the host
	 * started (the last PID of its PID namespace, from /proc/loadavg, read after each command)
	 */
	bool count_procs;
	unsigned long n_cmds;
	long n_procs;
	long last_pid; /* -1: not read yet */
	int ping_ms;   /* shell_ping's bound on a command's wait (0: none) */

	/* kept by the cluster's agent (agent.c): commands go there */
	/* the stat cache (client side): the seed, whether each shell kind
	 * (login, become) was sent it this run, the paths asked this run */
	char **sc_seed, **sc_paths;
	size_t n_sc_seed, n_sc_paths;
	bool sc_seeded[2];
	/* directories whose fsync waits (ssh_host_sync_dirs), by the shell
	 * kind (login, become) that wrote into them */
	char **sync_dirs[2];
	size_t n_sync_dirs[2];
	/* SFTP (sftp.c): its channel, opened on first use; whether it is up,
	 * not tried yet or not to be had this session; the last request id */
	ssh_channel sftp;
	int sftp_state;
	uint32_t sftp_id;
	char **stamps; /* "SHA256 SECS PATH" (ssh_host_stamp_seed) */
	size_t n_stamps;
	int agent_fd; /* -1: not */
	char *agent_addr;
	bool agent_reused;
};

/* session.c: whether known_hosts still holds the connected session's host
 * key (or checking is off): a kept session is reused only then; otherwise
 * a new connection checks, pins or refuses the key the host has now. */
bool session_key_known(struct ssh_host *h);

/* agent.c */
/* 0 attached; -1 the host cannot be reached (message set); 1 no agent to
 * be had (connect directly). */
int agent_attach(struct ssh_host *h);
int agent_exec(struct ssh_host *h, const struct ssh_cmd *cmd, struct ssh_result *r);
void agent_close(struct ssh_host *h);

int agent_sync(struct ssh_host *h, char *const *dirs, size_t n);
int agent_fs(struct ssh_host *h, const struct ssh_fs_req *q, size_t n, struct ssh_fs_res *res);
int agent_put(struct ssh_host *h, const char *tmp, const char *dest, const void *data, size_t len,
	      unsigned mode, long long mtime, struct buf *err);

/* sftp.c */
enum { SFTP_UNTRIED, SFTP_UP, SFTP_NONE };
/* Write len bytes to tmp (new, mode 0600), fsync it, give it mode and the
 * mtime (whole seconds), rename it over dest: 0 done; 1 no SFTP here (the shell must do it; at most
 * a temporary file was left, residue the next probe removes); 2 failed (the server's message in
 * err, the temporary file removed). */
int sftp_put(struct ssh_host *h, const char *tmp, const char *dest, const void *data, size_t len,
	     unsigned mode, long long mtime, struct buf *err);
/* fsync the directories (their renames durable) through SFTP when it is up
 * already: 0 done (a directory that cannot be opened is passed over, as
 * `sync` would), 1 not (the shell must). */
int sftp_sync(struct ssh_host *h, char *const *dirs, size_t n);
void sftp_close(struct ssh_host *h);
/* ssh_fs (ssh.h) on this process's own session */
int sftp_fs(struct ssh_host *h, const struct ssh_fs_req *q, size_t n, struct ssh_fs_res *res);
/* Not when EZK_SFTP=0 (asked by the run, not by a kept agent). */
bool sftp_wanted(void);

/* local.c */
int local_exec(struct ssh_host *h, const struct ssh_cmd *cmd, struct ssh_result *r);

/* shell.c */
int shell_start(struct ssh_host *h, int which);
void shell_close(struct ssh_shell *sh);
/* Which shell a command for `become` runs in (0/1), starting it if needed. */
int shell_for(struct ssh_host *h, bool become, struct ssh_shell **out);
/* Run a prepared line (already framed by frame_line) and data on a shell. */
int shell_run(struct ssh_host *h, struct ssh_shell *sh, const struct ssh_cmd *cmd,
	      struct ssh_result *r);
/* `:` in the login user's shell, waiting at most ms for it: 0 the session
 * answers, -1 it is lost (and closed). */
int shell_ping(struct ssh_host *h, int ms);
/* Whether a script may run in the resident shell itself, without a
 * subshell (shell.c says which). */
bool runs_inline(const char *script);
/* The stat cache where none is kept (the deploy node, a command with a
 * timeout): ezk_sc_get never knows (shell.c). */
#define SC_STUB "ezk_sc_get() { return 1; }\n"
/* Free h's stamps (transfer.c; session.c: ssh_host_free). */
void stamps_free(struct ssh_host *h);
/* Free h's stat cache paths and waiting syncs (session.c: ssh_host_free). */
void sc_free(struct ssh_host *h);
/* A directory to fsync before the next command that may use what was
 * written there (transfer.c; ssh.h: ssh_host_sync_dirs). */
void sync_later(struct ssh_host *h, bool become, const char *dir);
/* The host is lost: close everything, keep the message. */
int host_lost(struct ssh_host *h, const char *what);
/* ssh_channel_open_session without the delayed-ACK stall (session.c):
 * SSH_OK or SSH_ERROR. */
int open_channel(struct ssh_host *h, ssh_channel ch);

/* Fill n bytes of random hex (n even), NUL-terminated. */
void random_hex(char *out, size_t n);

#endif
