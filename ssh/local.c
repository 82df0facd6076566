/*
 * local.c - the deploy node itself as a host (plays on "localhost"): the
 * same ssh_exec() contract, run by /bin/sh here instead of over SSH, so
 * uploads, fetches and every module work unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "ssh-int.h"

struct ssh_host *ssh_host_new_local(const struct ssh_conf *conf, const char *name)
{
	struct ssh_target t = {.name = name, .addr = "localhost"};
	struct ssh_host *h = ssh_host_new(conf, &t);
	h->local = true;
	return h;
}

/* Build argv: sh -c SCRIPT, under sudo when becoming another user. */
int local_exec(struct ssh_host *h, const struct ssh_cmd *cmd, struct ssh_result *r)
{
	double t0 = clock_ms();
	int in[2] = {-1, -1}, out[2], err[2];
	buf_reset(&r->out);
	buf_reset(&r->err);
	r->status = -1;
	r->timed_out = false;
	int src = -1;
	if (cmd->in_path && !cmd->in) {
		src = open(cmd->in_path, O_RDONLY | O_CLOEXEC);
		if (src < 0)
			return ezk_fail("%s: %s", cmd->in_path, strerror(errno));
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    ((cmd->in || src >= 0) && pipe2(in, O_CLOEXEC) < 0)) {
		if (src >= 0)
			close(src);
		return ezk_fail("pipe: %s", strerror(errno));
	}
	bool become = cmd->become && geteuid() != 0;
	/* a new sh each time: the lib's functions first (made before fork:
	 * no malloc in the child of a threaded process) */
	char *script = (char *)cmd->script, *joined = NULL;
	if (cmd->lib) {
		/* no stat cache here: the lib runs stat(1) itself */
		const char *stub = cmd->stat_path ? SC_STUB : "";
		size_t tl = strlen(stub), ll = strlen(cmd->lib), sl = strlen(cmd->script);
		script = joined = xmalloc(tl + ll + sl + 2);
		memcpy(script, stub, tl);
		memcpy(script + tl, cmd->lib, ll);
		script[tl + ll] = '\n';
		memcpy(script + tl + ll + 1, cmd->script, sl + 1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		free(joined);
		return ezk_fail("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		setpgid(0, 0);
		int devnull = open("/dev/null", O_RDONLY);
		dup2(in[0] >= 0 ? in[0] : devnull, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		if (cmd->cwd && chdir(cmd->cwd) < 0)
			_exit(1);
		for (const char *const *e = cmd->env; e && *e; e++)
			putenv((char *)*e);
		if (become)
			execl("/usr/bin/sudo", "sudo", "-n", "-u", h->become_user, "--", "/bin/sh",
			      "-c", script, (char *)NULL);
		else
			execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	free(joined);
	close(out[1]);
	close(err[1]);
	if (in[0] >= 0)
		close(in[0]);
	const char *data = cmd->in;
	size_t left = cmd->in || src >= 0 ? cmd->in_len : 0;
	char fbuf[65536];
	size_t fhave = 0, foff = 0;
	if (in[1] >= 0 && left == 0) {
		close(in[1]);
		in[1] = -1;
	}
	if (in[1] >= 0)
		fcntl(in[1], F_SETFL, O_NONBLOCK);
	double deadline = cmd->timeout_ms > 0 ? t0 + cmd->timeout_ms : 0, killed_at = 0;
	bool out_open = true, err_open = true;
	while (out_open || err_open) {
		struct pollfd p[3] = {{.fd = out_open ? out[0] : -1, .events = POLLIN},
				      {.fd = err_open ? err[0] : -1, .events = POLLIN},
				      {.fd = in[1], .events = POLLOUT}};
		int wait = 200;
		if (poll(p, 3, wait) < 0 && errno != EINTR)
			break;
		char tmp[65536];
		for (int k = 0; k < 2; k++) {
			if (p[k].fd >= 0 && (p[k].revents & (POLLIN | POLLHUP))) {
				ssize_t n = read(p[k].fd, tmp, sizeof tmp);
				if (n > 0) {
					if (k == 0 && cmd->out_sink) {
						if (cmd->out_sink(cmd->out_ud, tmp, (size_t)n) < 0)
							kill(-pid, SIGKILL);
					} else {
						buf_put(k ? &r->err : &r->out, tmp, (size_t)n);
					}
				} else if (n == 0 || errno != EINTR) {
					*(k ? &err_open : &out_open) = false;
				}
			}
		}
		if (in[1] >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
			const char *chunk;
			size_t avail;
			if (data) {
				chunk = data;
				avail = left;
			} else {
				if (foff == fhave) {
					ssize_t n = read(src, fbuf,
							 left < sizeof fbuf ? left : sizeof fbuf);
					fhave = n > 0 ? (size_t)n : 0;
					foff = 0;
				}
				chunk = fbuf + foff;
				avail = fhave - foff;
			}
			ssize_t w = avail ? write(in[1], chunk, avail) : -1;
			if (w > 0) {
				left -= (size_t)w;
				if (data)
					data += w;
				else
					foff += (size_t)w;
			}
			if (left == 0 || (w < 0 && errno != EAGAIN) || avail == 0) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (deadline && clock_ms() > deadline) {
			if (!killed_at) {
				kill(-pid, SIGTERM);
				killed_at = clock_ms();
				r->timed_out = true;
			} else if (clock_ms() > killed_at + 2000) {
				kill(-pid, SIGKILL);
			}
		}
	}
	if (in[1] >= 0)
		close(in[1]);
	if (src >= 0)
		close(src);
	close(out[0]);
	close(err[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (r->timed_out)
		r->status = 124;
	r->ms = clock_ms() - t0;
	return 0;
}
