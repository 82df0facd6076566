/*
 * engine-int.h - what the engine's files share. Not an API.
 *
 * engine.c    open, close, the scheduler: steps, plays, batches, hosts
 * steps.c     roles/steps.lua: loading, selecting
 * roles.c     roles and the module library: found, compiled, defaults.yml
 * live.c      a task's result: terminal (the live view), --json, the log
 * recap.c     the recap at the end
 * journal.c   the run's log file and the journal; --resume
 * redact.c    engine_log, with every password the run knows blanked out
 * filesum.c   sha256 of deploy-node files, once per run
 * once.c      ezk.once's values
 * imgsrv.c    ezk.image_server's registry (imgsrv.h)
 * luahost.c   the Lua state of a host: the ezk.* host API
 */
#ifndef EZK_ENGINE_INT_H
#define EZK_ENGINE_INT_H

#include <lua.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "engine.h"
#include "ssh.h"

enum host_state { HOST_OK = 0, HOST_FAILED, HOST_UNREACHABLE };

/* A chunk compiled once: bytecode every host state loads. */
struct chunk {
	char *name; /* "@roles/x/main.lua" for messages */
	struct buf code;
};

struct play {
	char *hosts;
	char *pattern; /* hosts with its {{ templates }} rendered (the run's
			* -e: NODE_TO_ADD ...), or NULL when it has none */
	char **roles;
	size_t nroles;
	bool any_errors_fatal, run_once, become, become_set;
	int serial;	    /* 0: all at once */
	int serial_percent; /* serial given as "N%" */
};

struct step {
	char *id, *alias;
	char *command; /* the command that runs it (add-node), or NULL: setup */
	struct play *plays;
	size_t nplays;
	char **steps; /* a step made of others ("90 all": 01..07), by id */
	size_t nsteps;
	char *confirm;	   /* asked before it runs (destroy, restore), or NULL */
	bool only_by_name; /* steps.lua's `explicit`: never part of a range */
	bool resets;	   /* done, it makes --resume start from the first step */
};

struct role {
	char *name;   /* as steps.lua names it: "etcd" or "etcd/start" */
	char *folder; /* "etcd" */
	char *dir;
	struct chunk main;
};

struct hostrun {
	struct engine *e;
	size_t idx; /* into e->ts */
	size_t inv; /* inventory index */
	const char *name;
	struct ssh_host *ssh;
	lua_State *L;
	enum host_state state;
	int ok, changed, failed, skipped, unreachable;
	double ms;
	bool become;		 /* the current play's */
	bool said_session;	 /* the log named a kept session */
	const struct role *role; /* the current role */
	const char *step_id;
	char *msg; /* why it failed */
	bool in_play;
	bool interrupted;    /* stopped by SIGINT/SIGTERM before its next task */
	char current[160];   /* the task running now, for the live display */
	unsigned long cmds0; /* EZK_STATS: commands and host processes when */
	long procs0;	     /* the current task began */
	char *pre_err;	     /* the run's early connect failed: why (reported */
	double pre_ms;	     /* at the host's first play, as a connect then) */
	bool pre_pending;    /* its early connect has not ended (pre_lock) */
};

struct engine {
	struct cluster *c;
	struct targets *ts;
	struct engine_opts o;
	char **path; /* roles search path */
	size_t npath;
	struct step *steps;
	size_t nsteps;
	size_t *run_steps; /* indexes of the selected steps, in order */
	size_t nrun;
	struct role *roles;
	size_t nroles;
	struct chunk *lib;
	size_t nlib;
	struct hostrun *hosts; /* one per target */
	char **tags, **skip_tags;
	size_t ntags, nskip;
	int log_fd; /* O_APPEND, a write(2) per line: a kill loses nothing */
	char *log_path;
	int journal_fd;
	char run_id[48];      /* time-pid: unique per run */
	char inputs[65];      /* sha256 of what the steps run with (journal.c) */
	_Atomic int stop;     /* SIGINT or SIGTERM received: start no task */
	_Atomic int ended;    /* the run is over: the signal thread returns */
	pthread_t pre_thread; /* connects the run's hosts during its first */
	bool pre_running;     /* localhost plays (engine.c, preconnect) */
	pthread_mutex_t pre_lock;
	pthread_cond_t pre_done; /* a host's early connect ended */
	pthread_mutex_t lock;
	bool tty;
	bool stats; /* EZK_STATS=1: each task event counts commands and host processes */
	char summary[256];
	bool local_used;      /* a play ran on localhost (hosts[ts->n]) */
	int live_lines;	      /* lines of the live display on the terminal now */
	double live_drawn;    /* when it was last drawn */
	const char **secrets; /* every password the run knows, once each (redact) */
	size_t nsecrets;
	struct file_sum *sums; /* sha256 of local files, computed once per run */
	size_t nsums;
	bool sums_loaded, sums_dirty; /* the cache of earlier runs' (filesum.c) */
	char *stat_rec;		      /* the paths earlier runs' stat caches held (statcache.c) */
	char *stamp_rec;	      /* the stamps of files SFTP wrote (statcache.c) */
	pthread_mutex_t hash_lock;    /* held while a host hashes a file */
	struct once_val *onces;	      /* ezk.once: values computed once per run */
	size_t nonces;
	pthread_mutex_t once_lock; /* held (recursive) while a host computes one */
	struct {
		char *addr;
		struct imgsrv *s;
	} * imgsrvs; /* ezk.image_server's: one per address, until the run ends */
	size_t nimgsrvs;
	struct {
		char *task;
		double ms;
		const char *host;
	} slowest[5];
};

struct file_sum {
	char *path;
	long long size, mtime_ns;
	uintmax_t dev, ino;
	bool used; /* by this run */
	char sha256[65];
};

struct once_val {
	char *key;
	char *val;
	size_t len;
};

/* The hosts of the run: the targets, and the deploy node once a play ran
 * on localhost (e->hosts[ts->n]). */
size_t engine_nruns(const struct engine *e);

/* steps.c: load roles/steps.lua; select e->o.steps into e->run_steps.
 * -1 with the message set. */
int steps_load(struct engine *e);
int steps_select(struct engine *e);

/* roles.c: a file or folder on the roles path (malloc'd), or NULL; a role
 * as steps.lua names it ("etcd", "etcd/start"), loaded once; the module
 * library (every .lua in roles/lib, task.lua first). */
char *roles_find(struct engine *e, const char *rel, bool dir);
struct role *role_find(struct engine *e, const char *name);
int role_load(struct engine *e, const char *name);
int lib_load(struct engine *e);
void chunk_free(struct chunk *c);

/* redact.c: the passwords of the run (once, at open); blank them in b */
void secrets_collect(struct engine *e);
void redact(struct engine *e, struct buf *b);

/* live.c: the live view is on (a terminal, no --json, no -v); clear it
 * (caller holds e->lock); the role a host runs now, for its lines */
bool live_on(const struct engine *e);
void live_clear(struct engine *e);
const char *host_role(struct hostrun *h);

/* journal.c: open the run's log and the journal (and make the run's id and
 * inputs hash); a line of the log or journal, one write(2); a step begins;
 * a step's outcome per host and as a whole ("done", "incomplete",
 * "interrupted"); --resume: the index in e->run_steps to start at, and why
 * there (static text) */
int journal_open(struct engine *e);
void journal_write(int fd, const char *s, size_t n);
void journal_step_start(struct engine *e, const struct step *s);
void journal_step(struct engine *e, const struct step *s, const char *outcome);
size_t journal_resume(struct engine *e, const char **why);

/* recap.c */
void recap_print(struct engine *e, double total_ms);

/* ezk.once: a copy (malloc'd, NUL-terminated; *len its length) of the value
 * stored under key this run, or NULL if none yet. engine_once_put stores
 * one unless another host stored it first, and returns a copy of what is
 * stored. Both thread-safe. */
char *engine_once_get(struct engine *e, const char *key, size_t *len);
char *engine_once_put(struct engine *e, const char *key, const char *val, size_t len,
		      size_t *out_len);

/* f->path's size and sha256, hashed once per run whatever the number of
 * hosts, and not again on later runs while the file's path, inode, size and
 * mtime stay (thread-safe); -1 with the message set. engine_sums_save
 * writes what a run hashed to the cluster's cache (at the end of the run). */
int engine_file_prepare(struct engine *e, struct ssh_file *f);
void engine_sums_save(struct engine *e);
/* statcache.c: the paths each host's stat cache starts with, from earlier
 * runs (load once, at open), given to a host's session (seed, at connect),
 * and this run's kept for the next (save, at close; frees the record). */
void engine_stat_load(struct engine *e);
void engine_stat_seed(const struct engine *e, struct ssh_host *h);
void engine_stat_save(struct engine *e);

/* luahost.c */
lua_State *luahost_new(struct hostrun *h);
/* Run chunk in h's state; 0, or -1 with the Lua error in h->msg. */
int luahost_run_role(struct hostrun *h, const struct role *r);
/* Line for the run's log, secrets redacted; thread-safe. */
void engine_log(struct engine *e, const char *host, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* A task finished (called from Lua through ezk._task). */
void engine_task(struct hostrun *h, const char *task, const char *module, const char *status,
		 const char *msg, const char *diff, double ms);
bool engine_tag_selected(struct engine *e, const char *const *tags, size_t n);
/* A task starts (ezk._begin): the live display shows it. */
void engine_task_begin(struct hostrun *h, const char *task);

#endif
