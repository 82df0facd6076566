/*
 * vars-get - resolve named variables of one host the way ezk does, one JSON
 * line each: {"name": N, "str": str(value)} or {"name": N, "error": msg}.
 * For the differential test against Ansible (tests/cli/template-vs-ansible.sh).
 *
 * usage: vars-get HOSTS CONFIG.yml HOST NAME...
 */
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "err.h"
#include "inventory.h"
#include "value.h"

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: vars-get HOSTS CONFIG HOST NAME...\n");
		return 2;
	}
	struct cluster *c;
	if (cluster_load(argv[1], argv[2], NULL, &c) < 0) {
		fprintf(stderr, "%s\n", ezk_err_msg());
		return 2;
	}
	long h = inventory_host_find(c->inv, argv[3]);
	if (h < 0) {
		fprintf(stderr, "no host %s\n", argv[3]);
		cluster_close(c);
		return 2;
	}
	for (int i = 4; i < argc; i++) {
		struct value *v;
		struct buf b = BUF_INIT, s = BUF_INIT;
		int rc = vars_get(c, (size_t)h, argv[i], &v);
		buf_puts(&b, "{\"name\": ");
		buf_json_str(&b, argv[i], strlen(argv[i]));
		if (rc == 0) {
			value_to_str(v, &s);
			buf_puts(&b, ", \"str\": ");
			buf_json_str(&b, buf_cstr(&s), s.len);
			value_unref(v);
		} else {
			const char *m = rc > 0 ? "undefined" : ezk_err_msg();
			buf_puts(&b, ", \"error\": ");
			buf_json_str(&b, m, strlen(m));
		}
		buf_putc(&b, '}');
		puts(buf_cstr(&b));
		buf_free(&b);
		buf_free(&s);
	}
	cluster_close(c);
	return 0;
}
