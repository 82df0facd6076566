/*
 * sshtool - drive the transport (ssh/ssh.h) from test scripts and benches.
 *
 *   sshtool [conn options] ADDR ACTION [ACTION ...]
 *
 * One session for all actions, in order. Connection options:
 *   -p PORT  -u USER  -i KEY  -K KNOWN_HOSTS  -m accept-new|strict|off
 *   -t CONNECT_TIMEOUT_MS  -J JUMP  -P (password: first line of stdin)
 *   -B (become; become password: next line of stdin, if any)  -U BECOME_USER
 * Actions:
 *   exec [-T TIMEOUT_MS] [-I STDIN_FILE] [-o OUT_FILE] [-e ERR_FILE] [-b|-n]
 *        [-E NAME=VALUE]... [-C DIR] CMD
 *        prints "status=N timed_out=0|1"; output bytes go to the files given,
 *        else stdout and stderr
 *   upload [-M MODE] [-O OWNER] [-G GROUP] [-b] [-D] SRC DEST
 *        prints "changed=0|1 sent=0|1" (-D: mkdir parents)
 *   fetch [-b] SRC DEST      prints "fetched" or "missing"
 *   rtt N                    N round trips of `true`: "rtt_us median=.. min=.."
 *   floor N                  the same, alternating with a plain resident sh
 *                            (the floor): "rtt_us ... floor_us median=.. min=.."
 *   loop N CMD               run CMD N times: "loop n=N ms=.."
 * Exit: 0, 1 if the host was lost or an action failed, 2 usage.
 * Stays alive while printing; prints the auth method and any host-key note.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "ssh.h"
#include "targets.h"

static int usage(void)
{
	fprintf(stderr, "usage: sshtool [options] ADDR ACTION ...\n");
	return 2;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int write_to(const char *path, const struct buf *b, FILE *dflt)
{
	if (path) {
		/* Plain writes: the file may be /dev/null. */
		FILE *f = fopen(path, "w");
		if (!f)
			return -1;
		fwrite(b->s ? b->s : "", 1, b->len, f);
		return fclose(f);
	}
	fwrite(b->s ? b->s : "", 1, b->len, dflt);
	fflush(dflt);
	return 0;
}

int main(int argc, char **argv)
{
	struct ssh_conf conf = SSH_CONF_INIT;
	struct ssh_target t = {0};
	char *pw = NULL, *bpw = NULL;
	int c, want_pw = 0;
	conf.no_default_keys = getenv("SSHTOOL_DEFAULT_KEYS") == NULL;
	conf.no_agent = getenv("SSHTOOL_AGENT") == NULL;
	while ((c = getopt(argc, argv, "+p:u:i:K:m:t:J:PBU:")) != -1) {
		switch (c) {
		case 'p': t.port = atoi(optarg); break;
		case 'u': t.user = optarg; break;
		case 'i': t.key_file = optarg; break;
		case 'K': conf.known_hosts = optarg; break;
		case 'm':
			conf.hostkey = !strcmp(optarg, "strict") ? SSH_HOSTKEY_STRICT
				       : !strcmp(optarg, "off")	 ? SSH_HOSTKEY_OFF
								 : SSH_HOSTKEY_ACCEPT_NEW;
			break;
		case 't': conf.connect_timeout_ms = atoi(optarg); break;
		case 'J': conf.jump = optarg; break;
		case 'P': want_pw = 1; break;
		case 'B': t.become = true; break;
		case 'U': t.become_user = optarg; break;
		default: return usage();
		}
	}
	if (optind >= argc)
		return usage();
	if (want_pw)
		t.password = pw = secret_read("password: ");
	if (t.become)
		t.become_password = bpw = secret_read("become password: ");
	t.addr = t.name = argv[optind++];
	struct ssh_host *h = ssh_host_new(&conf, &t);
	bool count = getenv("SSHTOOL_COUNT") != NULL;
	if (count)
		ssh_host_count_procs(h, true);
	int rc = 0;
	if (ssh_host_connect(h) < 0) {
		fprintf(stderr, "sshtool: %s\n", ezk_err_msg());
		rc = 1;
		goto out;
	}
	printf("auth=%s\n", ssh_host_auth_method(h));
	if (ssh_host_hostkey_note(h))
		printf("note=%s\n", ssh_host_hostkey_note(h));
	fflush(stdout);
	while (optind < argc && rc == 0) {
		const char *act = argv[optind];
		char **av = argv + optind;
		int ac = argc - optind, o;
		optind = 0;
		if (!strcmp(act, "exec")) {
			struct ssh_cmd cmd = {0};
			const char *out = NULL, *err = NULL, *in = NULL;
			const char *env[16] = {0};
			int nenv = 0;
			while ((o = getopt(ac, av, "+T:I:o:e:bnE:C:")) != -1) {
				switch (o) {
				case 'E':
					if (nenv < 15)
						env[nenv++] = optarg;
					break;
				case 'C': cmd.cwd = optarg; break;
				case 'T': cmd.timeout_ms = atoi(optarg); break;
				case 'I': in = optarg; break;
				case 'o': out = optarg; break;
				case 'e': err = optarg; break;
				case 'b': cmd.become = true; break;
				case 'n': cmd.no_become = true; break;
				default: return usage();
				}
			}
			if (optind >= ac)
				return usage();
			cmd.script = av[optind++];
			cmd.env = env;
			char *data = NULL;
			size_t len = 0;
			if (in) {
				if (file_read(in, &data, &len) < 0) {
					fprintf(stderr, "sshtool: %s\n", ezk_err_msg());
					return 2;
				}
				cmd.in = data;
				cmd.in_len = len;
			}
			struct ssh_result r = SSH_RESULT_INIT;
			if (ssh_exec(h, &cmd, &r) < 0) {
				fprintf(stderr, "sshtool: %s\n", ezk_err_msg());
				rc = 1;
			} else {
				write_to(out, &r.out, stdout);
				write_to(err, &r.err, stderr);
				printf("status=%d timed_out=%d\n", r.status, r.timed_out);
				fflush(stdout);
			}
			free(data);
			ssh_result_free(&r);
		} else if (!strcmp(act, "upload")) {
			struct ssh_upload_opts uo = {.mode = -1};
			while ((o = getopt(ac, av, "+M:O:G:bD")) != -1) {
				switch (o) {
				case 'M': uo.mode = (int)strtol(optarg, NULL, 8); break;
				case 'O': uo.owner = optarg; break;
				case 'G': uo.group = optarg; break;
				case 'b': uo.become = true; break;
				case 'D': uo.mkdir = true; break;
				default: return usage();
				}
			}
			if (optind + 2 > ac)
				return usage();
			struct ssh_file f = {.path = av[optind]};
			bool changed, sent;
			if (ssh_file_prepare(&f) < 0 ||
			    ssh_upload(h, &f, av[optind + 1], &uo, &changed, &sent) < 0) {
				fprintf(stderr, "sshtool: %s\n", ezk_err_msg());
				rc = 1;
			} else {
				printf("changed=%d sent=%d\n", changed, sent);
			}
			optind += 2;
		} else if (!strcmp(act, "fetch")) {
			bool become = false, missing = false;
			while ((o = getopt(ac, av, "+b")) != -1)
				become = o == 'b';
			if (optind + 2 > ac)
				return usage();
			if (ssh_fetch(h, av[optind], av[optind + 1], -1, become, &missing) < 0) {
				if (missing) {
					printf("missing\n");
				} else {
					fprintf(stderr, "sshtool: %s\n", ezk_err_msg());
					rc = 1;
				}
			} else {
				printf("fetched\n");
			}
			optind += 2;
		} else if (!strcmp(act, "rtt") || !strcmp(act, "loop")) {
			bool loop = !strcmp(act, "loop");
			if (ac < (loop ? 3 : 2))
				return usage();
			int n = atoi(av[1]);
			const char *script = loop ? av[2] : "true";
			double *v = xcalloc((size_t)(n > 0 ? n : 1), sizeof *v), t0 = now_ms();
			for (int i = 0; i < n && rc == 0; i++) {
				struct ssh_cmd cmd = {.script = script};
				struct ssh_result r = SSH_RESULT_INIT;
				double s = now_ms();
				if (ssh_exec(h, &cmd, &r) < 0 || r.status != 0) {
					fprintf(stderr, "sshtool: %s\n",
						r.status ? buf_cstr(&r.err) : ezk_err_msg());
					rc = 1;
				}
				v[i] = now_ms() - s;
				ssh_result_free(&r);
			}
			double total = now_ms() - t0;
			qsort(v, (size_t)n, sizeof *v, cmp_d);
			if (loop)
				printf("loop n=%d ms=%.1f\n", n, total);
			else
				printf("rtt_us median=%.0f min=%.0f\n", v[n / 2] * 1000,
				       v[0] * 1000);
			free(v);
			optind = loop ? 3 : 2;
		} else if (!strcmp(act, "floor")) {
			/* N round trips of `true` through ezk's framing and as many of
			 * a plain resident sh (ssh_host_floor), in alternating blocks
			 * of 50, so both see the same load */
			if (ac < 2)
				return usage();
			int n = atoi(av[1]);
			if (n < 1)
				n = 1;
			double *v = xcalloc((size_t)n, sizeof *v),
			       *f = xcalloc((size_t)n, sizeof *f);
			for (int i = 0; i < n && rc == 0; i += 50) {
				int k = n - i < 50 ? n - i : 50;
				if (ssh_host_floor(h, k, f + i) < 0) {
					fprintf(stderr, "sshtool: %s\n", ezk_err_msg());
					rc = 1;
				}
				for (int j = 0; j < k && rc == 0; j++) {
					struct ssh_cmd cmd = {.script = "true"};
					struct ssh_result r = SSH_RESULT_INIT;
					double s = now_ms();
					if (ssh_exec(h, &cmd, &r) < 0 || r.status != 0) {
						fprintf(stderr, "sshtool: %s\n", ezk_err_msg());
						rc = 1;
					}
					v[i + j] = now_ms() - s;
					ssh_result_free(&r);
				}
			}
			qsort(v, (size_t)n, sizeof *v, cmp_d);
			qsort(f, (size_t)n, sizeof *f, cmp_d);
			printf("rtt_us median=%.0f min=%.0f floor_us median=%.0f min=%.0f\n",
			       v[n / 2] * 1000, v[0] * 1000, f[n / 2] * 1000, f[0] * 1000);
			free(v);
			free(f);
			optind = 2;
		} else {
			return usage();
		}
		fflush(stdout);
		argv = av;
		argc = ac;
	}
	if (count) {
		unsigned long cmds;
		long procs;
		ssh_host_stats(h, &cmds, &procs);
		printf("cmds=%lu procs=%ld\n", cmds, procs);
	}
out:
	ssh_host_free(h);
	if (pw)
		free(pw);
	if (bpw)
		free(bpw);
	return rc;
}
