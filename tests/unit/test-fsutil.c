/*
 * test-fsutil.c - atomic writes, and the guard that keeps them from
 * replacing what is not a regular file (a rename once turned /dev/null
 * into a regular file).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "tap.h"

int main(void)
{
	char dir[] = "/tmp/ezk-test-fsutil.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char *f = path_join(dir, "f");
	ok(file_write_atomic(f, "one", 3, 0640) == 0, "write a new file");
	struct stat st;
	ok(stat(f, &st) == 0 && (st.st_mode & 07777) == 0640 && st.st_size == 3, "mode and size");
	ok(file_write_atomic(f, "two!", 4, 0600) == 0, "replace it");
	char *data = NULL;
	size_t len = 0;
	ok(file_read(f, &data, &len) == 0 && len == 4 && !memcmp(data, "two!", 4), "new content");
	free(data);
	ok(file_write_atomic("/dev/null", "x", 1, 0644) < 0, "refuses to replace /dev/null");
	ok(strstr(ezk_err_msg(), "not a regular file") != NULL, "... saying why");
	struct stat dn;
	ok(stat("/dev/null", &dn) == 0 && S_ISCHR(dn.st_mode), "/dev/null is still a device");
	ok(file_write_atomic(dir, "x", 1, 0644) < 0, "refuses to replace a directory");
	ok(file_replaceable(f) == 0, "a regular file is replaceable");
	unlink(f);
	ok(file_replaceable(f) == 0, "a missing file is replaceable");
	free(f);
	rmdir(dir);
	return tap_done();
}
