/*
 * transfer.c - uploads and fetches over the resident shell. See ssh.h.
 *
 * An upload is two commands: a probe (clean residue, compare sha256, fix
 * mode and owner in place when only they differ) and, if the content
 * differs, the send: the bytes are the command's stdin, dd(1) writes them
 * to ".NAME.ezk-tmp.<nonce>" beside the destination and fsyncs it, the size
 * is checked, mode, owner and stamp set, the file renamed over the
 * destination, the directory fsynced. Small files written as the login
 * user go through SFTP instead (sftp.c, put_sftp below), their stamp the
 * whole-second mtime recorded on the controller (ssh_host_stamps). Nothing
 * ever writes the destination in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "ssh-int.h"

static void hex(const unsigned char *d, unsigned n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * n] = 0;
}

int ssh_file_prepare(struct ssh_file *f)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	if (f->path) {
		int fd = open(f->path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			int e = fd < 0 ? errno : EINVAL;
			if (fd >= 0)
				close(fd);
			EVP_MD_CTX_free(ctx);
			return ezk_fail("%s: %s", f->path,
					e == EINVAL ? "not a regular file" : strerror(e));
		}
		size_t cap = 1 << 20, total = 0;
		char *b = xmalloc(cap);
		ssize_t n;
		while ((n = read(fd, b, cap)) > 0) {
			EVP_DigestUpdate(ctx, b, (size_t)n);
			total += (size_t)n;
		}
		int e = errno;
		free(b);
		close(fd);
		if (n < 0) {
			EVP_MD_CTX_free(ctx);
			return ezk_fail("%s: %s", f->path, strerror(e));
		}
		f->len = total;
	} else {
		EVP_DigestUpdate(ctx, f->data ? f->data : "", f->len);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	hex(md, mdlen, f->sha256);
	return 0;
}

/* The probe of an upload: ezk_probe DEST SIZE SHA256 NS MODE OWNER GROUP
 * MKDIR DRY SECS KNOWN (MODE octal; OWNER, GROUP, MODE, MKDIR=1, DRY=1,
 * SECS and KNOWN may be ''; KNOWN "SIZE MODE": the file's, as the caller
 * just read it, so a size that differs needs no stat). It
 * removes residue of interrupted uploads, compares the size, then the
 * content (below), fixes mode and owner in place when only they differ, and
 * prints "send" (the content differs; with DRY: it would change), "fixed"
 * or "same". It runs in the resident shell itself: locals only, return,
 * never exit.
 *
 * The content is known without reading the file when its mtime says so:
 * every file an upload writes gets an mtime whose nanoseconds are NS, a
 * number taken from the content's sha256 (mtime_ns()). A file of the right
 * size whose mtime still carries them is the one ezk wrote: its stat, no
 * hash (rsync's quick check, with the content's own stamp in place of the
 * source's time), read from the shell's stat cache when it holds the file
 * (shell.c: no process of its own). Anything that writes the file sets a new mtime, whose
 * nanoseconds match NS by chance once in 10^9; a file system without
 * nanoseconds never matches. A file SFTP wrote (sftp.c: whole seconds only)
 * is known the same way by an mtime of exactly SECS.000000000, the seconds
 * recorded with this content's sha256 when it was written (ssh_host_stamps).
 * Otherwise the file is hashed, and a file found
 * the same is stamped (not under DRY), so the next run needs only its stat.
 * Whatever it changes drops the stat cache (ezk_sc_v=). */
static const char PROBE[] =
    /* "send MODE OWN" for a file there: its mode, and OWN 1 when a file
     * this shell makes gets its owner and group (the writer's, not a
     * setgid directory's group), so the send needs no chmod or chown to
     * keep them */
    "ezk_send_how() {\n"
    "  if [ -O \"$2\" ] && [ -G \"$2\" ] && ! [ -g \"$3\" ]; then echo \"send $1 1\"\n"
    "  else echo \"send $1 0\"; fi\n"
    "}\n"
    "ezk_probe() {\n"
    "  local d=\"$1\" n=\"$2\" sum=\"$3\" ns=\"$4\" m=\"$5\" o=\"$6\" g=\"$7\" mk=\"$8\" "
    "dry=\"$9\" st=\"${10}\"\n"
    "  local dir b t h c fix\n"
    "  case $d in */*) dir=${d%/*} ;; *) dir=. ;; esac; [ -n \"$dir\" ] || dir=/\n"
    "  b=${d##*/}\n"
    "  if [ -z \"$dry\" ]; then\n"
    "    for t in \"$dir/.$b\".ezk-tmp.*; do\n"
    "      [ -e \"$t\" ] && { ezk_sc_v=; rm -f -- \"$dir/.$b\".ezk-tmp.* 2>/dev/null; }; break\n"
    "    done\n"
    "  fi\n"
    "  [ -d \"$d\" ] && { echo \"$d is a directory\" >&2; return 3; }\n"
    "  if [ -n \"$dry\" ]; then [ -d \"$dir\" ] || { echo send; return 0; }\n"
    "  elif [ -n \"$mk\" ]; then [ -d \"$dir\" ] || { ezk_sc_v=; mkdir -p -- \"$dir\"; } || return "
    "1\n"
    "  else [ -d \"$dir\" ] || { echo \"no such directory: $dir\" >&2; return 3; }\n"
    "  fi\n"
    /* a symbolic link at dest is refused: nothing is read, hashed, chmod'ed
     * or written through it (roles/lib/README.md, "Symbolic links") */
    "  if [ -L \"$d\" ]; then\n"
    "    echo \"$d is a symbolic link (to $(readlink -- \"$d\")): ezk neither reads nor writes "
    "through a link; remove it, or manage the file it points to\" >&2; return 3\n"
    "  fi\n"
    "  [ -f \"$d\" ] || { echo send; return 0; }\n"
    "  case ${11} in ?*\" \"?*) [ \"${11%% *}\" = \"$n\" ] ||\n"
    "    { ezk_send_how \"${11#* }\" \"$d\" \"$dir\"; return 0; } ;; esac\n"
    /* size, mode, owner, group, mtime (s), mtime (date, time.ns, zone):
     * from the stat cache (shell.c) when it holds them */
    "  if ezk_sc_get \"$d\" && [ \"$ezk_sk\" = file ]; then set -- $ezk_sv\n"
    "  else set -- $(stat -c '%s %a %U %u %G %g %Y %y' -- \"$d\") || return 1; fi\n"
    "  [ \"$1\" = \"$n\" ] || { ezk_send_how \"$2\" \"$d\" \"$dir\"; return 0; }\n"
    "  if [ \"${9#*.}\" != \"$ns\" ] &&\n"
    "    ! { [ -n \"$st\" ] && [ \"$7\" = \"$st\" ] && [ \"${9#*.}\" = 000000000 ]; }; then\n"
    /* openssl hashes big files faster; sha256sum starts 3x faster */
    "    if [ \"$n\" -ge 1048576 ] && command -v openssl >/dev/null 2>&1; then\n"
    "      h=$(openssl dgst -sha256 -r < \"$d\") || return 1\n"
    "    else h=$(sha256sum < \"$d\") || return 1; fi\n"
    "    [ \"${h%% *}\" = \"$sum\" ] || { ezk_send_how \"$2\" \"$d\" \"$dir\"; return 0; }\n"
    "    [ -n \"$dry\" ] || { ezk_sc_v=; touch -m -d \"@$7.$ns\" -- \"$d\" 2>/dev/null; }\n"
    "  fi\n"
    "  c=; fix=; [ -n \"$dry\" ] && fix=true\n"
    "  if [ -n \"$m\" ] && [ \"$2\" != \"$m\" ]; then $fix chmod \"$m\" \"$d\" || return 1; c=1; "
    "fi\n"
    "  if [ -n \"$o\" ] && [ \"$3\" != \"$o\" ] && [ \"$4\" != \"$o\" ]; then\n"
    "    $fix chown \"$o\" \"$d\" || return 1; c=1\n"
    "  fi\n"
    "  if [ -n \"$g\" ] && [ \"$5\" != \"$g\" ] && [ \"$6\" != \"$g\" ]; then\n"
    "    $fix chgrp \"$g\" \"$d\" || return 1; c=1\n"
    "  fi\n"
    "  if [ -n \"$c\" ]; then ezk_sc_v=; echo fixed; else echo same; fi\n"
    "}\n";

/* The write of an upload: ezk_send DEST TAG UMASK LEN CHMOD REF OWNER GROUP
 * STAMP SYNC, its content on stdin. dd(1) writes the bytes to a temporary
 * file beside DEST and fsyncs it (one process for what cat, wc and sync
 * did), its count checked, under UMASK (in dd's own subshell: the resident
 * shell's umask stays); then CHMOD (octal, '': the umask said it), REF=1:
 * DEST's owner and group copied, OWNER/GROUP, STAMP the mtime (SECS.NS, the
 * probe's quick check; without it the next probe hashes the file), and
 * the rename into place. The data is on disk already; the mode, owner,
 * stamp and the rename are the journal's, made durable in order by the
 * directory's fsync: SYNC=1 now (the deploy node), else it waits for the
 * next command that could use the file (ssh_host_sync_dirs: one sync for a
 * run of uploads). The resident shell runs it itself: locals and return. */
static const char SEND[] =
    "ezk_send_fail() { rm -f -- \"$1\"; [ -z \"$2\" ] || echo \"$2\" >&2; return 1; }\n"
    "ezk_send() {\n"
    "  local d=\"$1\" dir b t n\n"
    "  case $d in */*) dir=${d%/*} ;; *) dir=. ;; esac; [ -n \"$dir\" ] || dir=/\n"
    "  b=${d##*/}; t=\"$dir/.$b.ezk-tmp.$2\"\n"
    "  n=$(umask \"$3\"; LC_ALL=C dd of=\"$t\" bs=65536 conv=fsync 2>&1) ||\n"
    "    { ezk_send_fail \"$t\" \"$n\"; return; }\n"
    "  case $n in *\"records out\n$4 byte\"*) ;; *) ezk_send_fail \"$t\" 'short write'; "
    "return ;; esac\n"
    "  [ -z \"$5\" ] || chmod \"$5\" \"$t\" || { ezk_send_fail \"$t\"; return; }\n"
    "  [ -z \"$6\" ] || [ ! -f \"$d\" ] || chown --reference=\"$d\" \"$t\" 2>/dev/null\n"
    "  [ -z \"$7\" ] || chown \"$7\" \"$t\" || { ezk_send_fail \"$t\"; return; }\n"
    "  [ -z \"$8\" ] || chgrp \"$8\" \"$t\" || { ezk_send_fail \"$t\"; return; }\n"
    "  touch -m -d \"@$9\" -- \"$t\" 2>/dev/null\n"
    "  mv -f -- \"$t\" \"$d\" || { ezk_send_fail \"$t\"; return; }\n"
    "  [ -z \"${10}\" ] || sync -- \"$dir\" 2>/dev/null\n"
    "  return 0\n"
    "}\n";

/* The nanoseconds of the mtime an upload gives its file: the first 32 bits
 * of the content's sha256, modulo 10^9 (see PROBE). */
static unsigned long mtime_ns(const struct ssh_file *f)
{
	char h[9];
	memcpy(h, f->sha256, 8);
	h[8] = 0;
	return strtoul(h, NULL, 16) % 1000000000UL;
}

/* The deploy node's own files (plays on localhost): the probe's quick check
 * in C, no shell started: a regular file (not a link) of the right size
 * whose mtime carries the content's stamp, with the mode asked for and no
 * owner or group asked for, is the same. Anything else goes the shell's way
 * (residue, links, hashing, fixes and their messages). */
static bool local_same(const struct ssh_host *h, const struct ssh_file *f, const char *dest,
		       const struct ssh_upload_opts *o)
{
	if (!h->local || o->owner || o->group || (o->become && geteuid() != 0))
		return false;
	struct stat st;
	if (lstat(dest, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != f->len ||
	    (unsigned long)st.st_mtim.tv_nsec != mtime_ns(f))
		return false;
	return o->mode < 0 || (st.st_mode & 07777) == (mode_t)o->mode;
}

/* A file of at most 64 KiB, read whole when it still is the one prepared
 * (its size and sha256); NULL otherwise: it is streamed from its path. */
static char *read_small(const struct ssh_file *f)
{
	if (f->len > 65536)
		return NULL;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *b = xmalloc(f->len + 1);
	ssize_t n = read(fd, b, f->len + 1);
	close(fd);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char sum[65];
	if (n != (ssize_t)f->len || !EVP_Digest(b, f->len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32) {
		free(b);
		return NULL;
	}
	hex(md, mdlen, sum);
	if (strcmp(sum, f->sha256) != 0) {
		free(b);
		return NULL;
	}
	b[f->len] = 0;
	return b;
}

static bool safe_word(const char *s)
{
	for (; *s; s++)
		if (!(*s == '_' || *s == '-' || *s == '.' || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/* ---- the stamps of files SFTP wrote (ssh.h: ssh_host_stamp_seed) ---- */

#define STAMPS_MAX 4096 /* a host's, the oldest dropped first */

/* "SHA256 SECS /PATH" with no newline */
static bool stamp_ok(const char *l)
{
	size_t i = 0;
	for (; i < 64; i++)
		if (!((l[i] >= '0' && l[i] <= '9') || (l[i] >= 'a' && l[i] <= 'f')))
			return false;
	if (l[i++] != ' ' || !(l[i] >= '0' && l[i] <= '9'))
		return false;
	while (l[i] >= '0' && l[i] <= '9')
		i++;
	return l[i] == ' ' && l[i + 1] == '/' && !strchr(l + i, '\n');
}

static size_t stamp_find(const struct ssh_host *h, const char *path)
{
	for (size_t i = 0; i < h->n_stamps; i++) {
		const char *p = strchr(h->stamps[i] + 65, ' ') + 1;
		if (strcmp(p, path) == 0)
			return i;
	}
	return (size_t)-1;
}

static void stamp_drop(struct ssh_host *h, const char *path)
{
	size_t i = stamp_find(h, path);
	if (i == (size_t)-1)
		return;
	free(h->stamps[i]);
	memmove(h->stamps + i, h->stamps + i + 1, (h->n_stamps - i - 1) * sizeof *h->stamps);
	h->n_stamps--;
}

static void stamp_add(struct ssh_host *h, char *line)
{
	if (h->n_stamps == STAMPS_MAX) {
		free(h->stamps[0]);
		memmove(h->stamps, h->stamps + 1, (h->n_stamps - 1) * sizeof *h->stamps);
		h->n_stamps--;
	}
	h->stamps = xrealloc(h->stamps, (h->n_stamps + 1) * sizeof *h->stamps);
	h->stamps[h->n_stamps++] = line;
}

static void stamp_set(struct ssh_host *h, const char *path, const char *sha, long long secs)
{
	stamp_drop(h, path);
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s %lld %s", sha, secs, path);
	if (stamp_ok(b.s))
		stamp_add(h, buf_detach(&b));
	buf_free(&b);
}

/* The recorded seconds ("SECS PATH") of path's stamp when it is of sha. */
static const char *stamp_secs(const struct ssh_host *h, const char *path, const char *sha)
{
	size_t i = stamp_find(h, path);
	if (i == (size_t)-1 || strncmp(h->stamps[i], sha, 64) != 0)
		return NULL;
	return h->stamps[i] + 65;
}

void ssh_host_stamp_seed(struct ssh_host *h, const char *const *lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (stamp_ok(lines[i]) &&
		    stamp_find(h, strchr(lines[i] + 65, ' ') + 1) == (size_t)-1)
			stamp_add(h, xstrdup(lines[i]));
}

size_t ssh_host_stamps(const struct ssh_host *h, const char *const **lines)
{
	*lines = (const char *const *)h->stamps;
	return h->n_stamps;
}

void stamps_free(struct ssh_host *h)
{
	for (size_t i = 0; i < h->n_stamps; i++)
		free(h->stamps[i]);
	free(h->stamps);
	h->stamps = NULL;
	h->n_stamps = 0;
}

/* dest's directory fsynced before the next command that may use it */
static void sync_dir_later(struct ssh_host *h, bool become, const char *dest)
{
	char *dir = xstrdup(dest), *sl = strrchr(dir, '/');
	sl[sl == dir ? 1 : 0] = 0;
	sync_later(h, become, dir);
	free(dir);
}

/* The content (f's bytes in memory) written through SFTP (sftp.c), by the
 * agent when it holds the session, its stamp recorded (ssh_host_stamps):
 * 0 done, 1 no SFTP (write it the shell's way), -1 failed (message set;
 * the host lost when ssh_host_connected says so). */
static int put_sftp(struct ssh_host *h, const struct ssh_file *f, const char *dest,
		    const char *data, const char *tag, int mode)
{
	const char *sl = strrchr(dest, '/');
	struct buf tmp = BUF_INIT, err = BUF_INIT;
	buf_put(&tmp, dest, (size_t)(sl - dest) + 1);
	buf_printf(&tmp, ".%s.ezk-tmp.%s", sl + 1, tag);
	long long secs = (long long)time(NULL);
	int rc = h->agent_fd >= 0
		     ? agent_put(h, buf_cstr(&tmp), dest, data, f->len, (unsigned)mode, secs, &err)
		     : sftp_put(h, buf_cstr(&tmp), dest, data, f->len, (unsigned)mode, secs, &err);
	buf_free(&tmp);
	if (h->agent_fd >= 0 && rc >= 0) /* (the agent's own is the one used) */
		h->sftp_state = rc == 1 ? SFTP_NONE : SFTP_UP;
	if (rc == 2)
		rc = ezk_fail("%s: cannot write %s: %s", h->name, dest, buf_cstr(&err));
	buf_free(&err);
	if (rc != 0)
		return rc;
	h->n_cmds += 3; /* open; write, fsync, mode, close; rename */
	stamp_set(h, dest, f->sha256, secs);
	sync_dir_later(h, false, dest);
	return 0;
}

int ssh_upload(struct ssh_host *h, const struct ssh_file *f, const char *dest,
	       const struct ssh_upload_opts *o, bool *changed, bool *sent)
{
	static const struct ssh_upload_opts none = {.mode = -1};
	if (!o)
		o = &none;
	if (changed)
		*changed = false;
	if (sent)
		*sent = false;
	if (!dest || dest[0] != '/' || dest[strlen(dest) - 1] == '/')
		return ezk_fail("%s: upload destination must be an absolute file path: %s", h->name,
				dest ? dest : "(none)");
	if ((o->owner && !safe_word(o->owner)) || (o->group && !safe_word(o->group)))
		return ezk_fail("%s: bad owner or group for %s", h->name, dest);

	if (local_same(h, f, dest, o))
		return 0;

	/* the probe: a call of PROBE, defined once per resident shell, which
	 * the shell runs itself (no subshell: a process less per upload) */
	struct buf s = BUF_INIT;
	buf_puts(&s, "ezk_probe ");
	buf_sh_quote(&s, dest);
	buf_printf(&s, " %zu %s %09lu '", f->len, f->sha256, mtime_ns(f));
	if (o->mode >= 0)
		buf_printf(&s, "%o", (unsigned)o->mode);
	const char *secs = stamp_secs(h, dest, f->sha256);
	buf_printf(&s, "' '%s' '%s' '%s' '%s' '%.*s'", o->owner ? o->owner : "",
		   o->group ? o->group : "", o->mkdir ? "1" : "", o->dry_run ? "1" : "",
		   secs ? (int)strspn(secs, "0123456789") : 0, secs ? secs : "");
	if (o->known && o->known_mode >= 0 && o->known_mode <= 07777)
		buf_printf(&s, " '%llu %o'", o->known_size, (unsigned)o->known_mode);
	struct ssh_cmd cmd = {.script = buf_cstr(&s),
			      .become = o->become,
			      .no_become = !o->become,
			      .lib_name = "ezk_probe",
			      .lib = PROBE,
			      .stat_path = dest};
	struct ssh_result r = SSH_RESULT_INIT;
	int rc = ssh_exec(h, &cmd, &r);
	buf_free(&s);
	if (rc < 0)
		goto out;
	if (r.status != 0) {
		rc = ezk_fail("%s: cannot write %s: %s", h->name, dest,
			      r.err.len ? buf_cstr(&r.err) : "probe failed");
		goto out;
	}
	if (strncmp(buf_cstr(&r.out), "same", 4) == 0)
		goto out;
	if (strncmp(buf_cstr(&r.out), "fixed", 5) == 0) {
		if (changed)
			*changed = true;
		goto out;
	}
	if (o->dry_run) { /* "send": it would change */
		if (changed)
			*changed = true;
		goto out;
	}

	/* The content differs: send it (SEND). The file is made with its mode
	 * by a umask when one can say it (no x or special bits), else
	 * chmod'ed. */
	char tag[17];
	random_hex(tag, 16);
	/* the file there (the probe's "send MODE OWN"): its mode, and whether
	 * a new file gets its owner anyway; -1: none there */
	int old_mode = -1, same_owner = 0;
	{
		const char *w = buf_cstr(&r.out);
		char *e = NULL;
		long m = strncmp(w, "send ", 5) == 0 ? strtol(w + 5, &e, 8) : -1;
		if (m >= 0 && m <= 07777 && e && e > w + 5 && *e == ' ') {
			old_mode = (int)m;
			same_owner = e[1] == '1';
		}
	}
	/* the mode the file gets: the one asked for, else the old file's,
	 * else 0644; by a umask when one can say it (no x or special bits) */
	int mode = o->mode >= 0 ? o->mode : old_mode >= 0 ? old_mode : 0644;
	bool by_umask = (mode & ~0666) == 0;
	/* owner and group: those asked for; else the old file's, copied only
	 * when the new file would not get them anyway */
	bool ref = (!o->owner || !o->group) && old_mode >= 0 && !same_owner;
	/* a small file written as the login user, owned as a new file is
	 * anyway: through SFTP, no process on the host (a file of the deploy
	 * node 64 KiB at most; content given in memory, whatever its size) */
	char *small = f->path ? read_small(f) : NULL;
	if (!h->local && !o->become && !ref && !o->owner && !o->group && (small || !f->path) &&
	    sftp_wanted()) {
		rc = put_sftp(h, f, dest, small ? small : f->data ? f->data : "", tag, mode);
		if (rc != 1) {
			free(small);
			if (rc == 0) {
				if (sent)
					*sent = true;
				if (changed)
					*changed = true;
			}
			goto out;
		}
	}
	s = (struct buf)BUF_INIT;
	buf_puts(&s, "ezk_send ");
	buf_sh_quote(&s, dest);
	buf_printf(&s, " %s %03o %zu '", tag, by_umask ? (unsigned)(0777 & ~mode) : 077u, f->len);
	if (!by_umask)
		buf_printf(&s, "%o", (unsigned)mode);
	buf_printf(&s, "' '%s' '%s' '%s' %lld.%09lu '%s'", ref ? "1" : "", o->owner ? o->owner : "",
		   o->group ? o->group : "", (long long)time(NULL), mtime_ns(f),
		   h->local ? "1" : "");
	/* a small file goes from memory: as a here-document when it is text
	 * (shell.c), with no head and cat to carry it */
	struct ssh_cmd send = {.script = buf_cstr(&s),
			       .lib_name = "ezk_send",
			       .lib = SEND,
			       .become = o->become,
			       .no_become = !o->become,
			       .in = small     ? small
				     : f->path ? NULL
					       : (f->data ? f->data : ""),
			       .in_path = small ? NULL : f->path,
			       .in_len = f->len,
			       .upload = true};
	rc = ssh_exec(h, &send, &r);
	free(small);
	buf_free(&s);
	if (rc < 0)
		goto out;
	if (sent)
		*sent = true;
	if (r.status != 0) {
		rc = ezk_fail("%s: cannot write %s: %s", h->name, dest,
			      r.err.len ? buf_cstr(&r.err) : "failed");
		goto out;
	}
	if (changed)
		*changed = true;
	stamp_drop(h, dest); /* stamped by the shell's touch */
	if (!h->local)
		sync_dir_later(h, o->become, dest);
out:
	ssh_result_free(&r);
	return rc;
}

struct sink {
	int fd;
	int err;
};

static int to_fd(void *ud, const void *p, size_t n)
{
	struct sink *k = ud;
	const char *c = p;
	while (n) {
		ssize_t w = write(k->fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			k->err = errno;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int ssh_fetch(struct ssh_host *h, const char *remote, const char *local_path, int mode, bool become,
	      bool *missing)
{
	if (missing)
		*missing = false;
	if (file_replaceable(local_path) < 0)
		return -1;
	char *tmp = xmalloc(strlen(local_path) + 32);
	char tag[9];
	random_hex(tag, 8);
	sprintf(tmp, "%s.ezk-tmp.%s", local_path, tag);
	struct sink k = {.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				    (mode_t)(mode >= 0 ? mode : 0600))};
	if (k.fd < 0) {
		int e = errno;
		free(tmp);
		return ezk_fail("%s: %s", local_path, strerror(e));
	}
	struct buf s = BUF_INIT;
	buf_puts(&s, "f=");
	buf_sh_quote(&s, remote);
	buf_puts(&s,
		 "; [ -f \"$f\" ] || { echo \"no such file: $f\" >&2; exit 3; }; cat -- \"$f\"");
	struct ssh_cmd cmd = {.script = buf_cstr(&s),
			      .become = become,
			      .no_become = !become,
			      .out_sink = to_fd,
			      .out_ud = &k};
	struct ssh_result r = SSH_RESULT_INIT;
	int rc = ssh_exec(h, &cmd, &r);
	buf_free(&s);
	if (rc == 0 && k.err)
		rc = ezk_fail("%s: %s", local_path, strerror(k.err));
	else if (rc == 0 && r.status != 0) {
		if (missing && r.status == 3)
			*missing = true;
		rc = ezk_fail("%s: cannot fetch %s: %s", h->name, remote,
			      r.err.len ? buf_cstr(&r.err) : "failed");
	}
	if (rc == 0 && (fchmod(k.fd, (mode_t)(mode >= 0 ? mode : 0600)) < 0 || fsync(k.fd) < 0))
		rc = ezk_fail("%s: %s", local_path, strerror(errno));
	close(k.fd);
	if (rc == 0 && rename(tmp, local_path) < 0)
		rc = ezk_fail("%s: %s", local_path, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	ssh_result_free(&r);
	return rc;
}
