/* workspace.c - EZK_HOME, cluster directories, the current cluster. */
#include "workspace.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "value.h"

int cluster_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 63)
		return 0;
	if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

char *cluster_dir(const char *home, const char *name)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/clusters/%s", home, name);
	return buf_detach(&b);
}

const char *workspace_data_dir(void)
{
	static char dir[PATH_MAX + 64];
	if (dir[0])
		return dir;
	const char *env = getenv("EZK_DATA");
	if (env && *env) {
		snprintf(dir, sizeof dir, "%s", env);
		return dir;
	}
	char exe[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		char probe[PATH_MAX + 64];
		/* a build tree: ./ezk or build-san/ezk beside inventories/ */
		const char *ups[] = {"", "/.."};
		for (size_t i = 0; i < 2; i++) {
			snprintf(probe, sizeof probe, "%s%s/inventories", exe, ups[i]);
			if (dir_exists(probe)) {
				snprintf(dir, sizeof dir, "%s%s", exe, ups[i]);
				return dir;
			}
		}
		snprintf(probe, sizeof probe, "%s/../share/ezk/inventories", exe);
		if (dir_exists(probe)) {
			snprintf(dir, sizeof dir, "%s/../share/ezk", exe);
			return dir;
		}
	}
	snprintf(dir, sizeof dir, "%s/share/ezk", EZK_PREFIX);
	return dir;
}

/* Copy a template, replacing each placeholder with its value. */
static int copy_template(const char *src, const char *dst, const char *const *subst)
{
	char *data;
	size_t len;
	if (file_read(src, &data, &len) < 0)
		return -1;
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < len;) {
		int hit = 0;
		for (const char *const *s = subst; *s; s += 2) {
			size_t k = strlen(s[0]);
			if (len - i >= k && memcmp(data + i, s[0], k) == 0) {
				buf_puts(&out, s[1]);
				i += k;
				hit = 1;
				break;
			}
		}
		if (!hit)
			buf_putc(&out, data[i++]);
	}
	free(data);
	int rc = file_write_atomic(dst, out.s ? out.s : "", out.len, 0644);
	buf_free(&out);
	return rc;
}

int workspace_new(const char *home, const char *name, int aio)
{
	if (!cluster_name_ok(name))
		return ezk_fail(
		    "invalid cluster name '%s': use lower-case letters, digits and '-', "
		    "starting with a letter or digit (at most 63)",
		    name);
	char *dir = cluster_dir(home, name);
	char *clusters = path_join(home, "clusters");
	struct buf tmp = BUF_INIT;
	char *abs_home = realpath(home, NULL);
	int rc = -1;
	struct stat st;

	if (lstat(dir, &st) == 0) {
		ezk_fail("cluster '%s' already exists in %s (nothing changed)", name, dir);
		goto out;
	}
	if (mkdir_p(clusters, 0755) < 0)
		goto out;
	if (!abs_home)
		abs_home = realpath(home, NULL);
	buf_printf(&tmp, "%s/.new-%s-%ld", clusters, name, (long)getpid());
	remove_tree(tmp.s);
	if (mkdir(tmp.s, 0755) < 0) {
		ezk_fail("%s: %s", tmp.s, strerror(errno));
		goto out;
	}
	const char *data = workspace_data_dir();
	struct buf src = BUF_INIT, dst = BUF_INIT;
	const char *subst[] = {"_cluster_name_", name, "_ezk_home_", abs_home ? abs_home : home,
			       NULL};
	buf_printf(&src, "%s/inventories/%s", data, aio ? "hosts.allinone" : "hosts.multi-node");
	buf_printf(&dst, "%s/hosts", tmp.s);
	rc = copy_template(src.s, dst.s, subst);
	if (rc == 0) {
		buf_reset(&src);
		buf_reset(&dst);
		buf_printf(&src, "%s/inventories/config.yml", data);
		buf_printf(&dst, "%s/config.yml", tmp.s);
		rc = copy_template(src.s, dst.s, subst);
	}
	buf_free(&src);
	buf_free(&dst);
	if (rc == 0 && rename(tmp.s, dir) < 0)
		rc = ezk_fail("%s: %s", dir, strerror(errno));
	if (rc < 0)
		remove_tree(tmp.s);
	else
		dir_sync(clusters);
out:
	free(abs_home);
	buf_free(&tmp);
	free(clusters);
	free(dir);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct value *workspace_clusters(const char *home)
{
	struct value *list = value_list();
	char *clusters = path_join(home, "clusters");
	DIR *d = opendir(clusters);
	free(clusters);
	if (!d)
		return list;
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !cluster_name_ok(e->d_name))
			continue;
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		value_list_push(list, value_str(names[i]));
		free(names[i]);
	}
	free(names);
	return list;
}

char *workspace_current(const char *home)
{
	char *path = path_join(home, "current"), *data;
	size_t len;
	int rc = file_read(path, &data, &len);
	free(path);
	if (rc < 0) {
		ezk_err_clear();
		return NULL;
	}
	while (len && (data[len - 1] == '\n' || data[len - 1] == ' '))
		data[--len] = '\0';
	if (!cluster_name_ok(data)) {
		free(data);
		return NULL;
	}
	return data;
}

int workspace_set_current(const char *home, const char *name)
{
	char *path = path_join(home, "current");
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s\n", name);
	int rc = file_write_atomic(path, b.s, b.len, 0644);
	buf_free(&b);
	free(path);
	return rc;
}

int workspace_cluster_exists(const char *home, const char *name)
{
	if (!cluster_name_ok(name))
		return ezk_fail("invalid cluster name '%s'", name);
	char *dir = cluster_dir(home, name);
	int ok = dir_exists(dir);
	if (!ok)
		ezk_fail("no cluster '%s' in %s/clusters (make it with 'ezk new %s')", name, home,
			 name);
	free(dir);
	return ok ? 0 : -1;
}
