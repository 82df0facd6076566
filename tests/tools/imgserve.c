/*
 * imgserve - core/imgsrv.c alone, for tests/cli/image-server.sh.
 *
 * usage: imgserve ADDR ARCHIVE...
 *   adds each archive (a refused one: "refused MESSAGE" on stdout), then
 *   prints "port N" and serves until its stdin ends; then "served N" (the
 *   requests answered 200 or 206) and exits 0. Exit 1 when it cannot listen.
 */
#include <stdio.h>
#include <unistd.h>

#include "err.h"
#include "imgsrv.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: imgserve ADDR ARCHIVE...\n");
		return 2;
	}
	struct imgsrv *s = imgsrv_start(argv[1]);
	if (!s) {
		fprintf(stderr, "%s\n", ezk_err_msg());
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		int rc = imgsrv_add(s, argv[i]);
		if (rc < 0)
			printf("refused %s\n", ezk_err_msg());
		else if (rc == 1)
			printf("again %s\n", argv[i]);
	}
	printf("port %d\n", imgsrv_port(s));
	fflush(stdout);
	char b[256];
	while (read(0, b, sizeof b) > 0)
		;
	printf("served %lu\n", imgsrv_served(s));
	imgsrv_stop(s);
	return 0;
}
