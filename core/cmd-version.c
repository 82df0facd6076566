/* cmd-version.c - `ezk version`: the version and the libraries it runs on. */
#include <stdio.h>

#include <archive.h>
#include <git2.h>
#include <libssh/libssh.h>
#include <lua.h>
#include <openssl/crypto.h>
#include <yaml.h>

#include "cmd.h"

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	extern const struct cmd cmd_version;
	(void)argv;
	(void)g;
	if (argc > 1)
		return cmd_usage(&cmd_version, "unexpected argument '%s'", argv[1]);
	int maj, min, rev;
	git_libgit2_version(&maj, &min, &rev);
	printf("ezk %s\n", EZK_VERSION);
	printf("libssh %s, libyaml %s, %s, libgit2 %d.%d.%d, %s, %s\n", ssh_version(0),
	       yaml_get_version_string(), LUA_RELEASE, maj, min, rev, archive_version_string(),
	       OpenSSL_version(OPENSSL_VERSION));
	return EZK_OK;
}

const struct cmd cmd_version = {
    .name = "version",
    .args = "",
    .summary = "print ezk's version and the versions of its libraries",
    .help = "",
    .run = run,
};
