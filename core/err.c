/* err.c - the per-thread error message (see err.h). */
#include "err.h"

#include <stdio.h>
#include <string.h>

/* Messages longer than the buffer are cut on purpose. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define ERR_MAX 2048

static _Thread_local char err_buf[ERR_MAX];

int ezk_vfail(const char *fmt, va_list ap)
{
	vsnprintf(err_buf, sizeof err_buf, fmt, ap);
	return -1;
}

int ezk_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ezk_vfail(fmt, ap);
	va_end(ap);
	return -1;
}

int ezk_fail_at(const char *file, int line, const char *fmt, ...)
{
	char msg[ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (file && line > 0)
		snprintf(err_buf, sizeof err_buf, "%s:%d: %s", file, line, msg);
	else if (file)
		snprintf(err_buf, sizeof err_buf, "%s: %s", file, msg);
	else
		snprintf(err_buf, sizeof err_buf, "%s", msg);
	return -1;
}

int ezk_fail_prefix(const char *fmt, ...)
{
	char pre[ERR_MAX], old[ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, err_buf, sizeof old);
	snprintf(err_buf, sizeof err_buf, "%s: %s", pre, old);
	return -1;
}

const char *ezk_err_msg(void)
{
	return err_buf;
}

void ezk_err_clear(void)
{
	err_buf[0] = '\0';
}
