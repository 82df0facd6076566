/*
 * yaml2json - print what ezk's YAML loader makes of a file, as JSON, for
 * the differential test against PyYAML (tests/cli/yaml-vs-pyyaml.sh).
 * Exit 2 with the loader's "file:line: message" when it rejects the file.
 */
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "fsutil.h"
#include "value.h"
#include "yamlio.h"

int main(int argc, char **argv)
{
	char *data;
	size_t len;
	if (argc != 2) {
		fprintf(stderr, "usage: yaml2json FILE\n");
		return 2;
	}
	if (file_read(argv[1], &data, &len) < 0) {
		fprintf(stderr, "%s\n", ezk_err_msg());
		return 2;
	}
	struct value *v = yaml_load_any(data, len, argv[1]);
	free(data);
	if (!v) {
		fprintf(stderr, "%s\n", ezk_err_msg());
		return 2;
	}
	struct buf b = BUF_INIT;
	value_to_json(v, &b, 0, 0);
	puts(buf_cstr(&b));
	buf_free(&b);
	value_unref(v);
	return 0;
}
