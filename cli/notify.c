/* systemd's notification protocol for `coordsync daemon` under
 * Type=notify, written out (no libsystemd): one datagram per message to
 * the unix socket $NOTIFY_SOCKET names ('@' first: the abstract
 * namespace), READY=1, STATUS=..., WATCHDOG=1 and STOPPING=1.  Without
 * $NOTIFY_SOCKET every call does nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "cli.h"

static struct sockaddr_un addr;
static socklen_t addrlen;        /* 0: not notifying */
static double watchdog_every;    /* seconds between pings; 0: no watchdog */
static double last_ping;

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void cli_notify_init(void)
{
	const char *s = getenv("NOTIFY_SOCKET"), *us = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	size_t n;
	char *end;

	addrlen = 0;
	watchdog_every = 0;
	if (!s || (s[0] != '/' && s[0] != '@') || (n = strlen(s)) < 2 || n > sizeof addr.sun_path)
		return;
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, s, n);
	if (s[0] == '@')
		addr.sun_path[0] = 0;    /* abstract: the name is n bytes, no NUL */
	else if (n == sizeof addr.sun_path)
		return;                  /* a path needs its NUL */
	addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (s[0] == '/'));
	/* The watchdog is ours when no WATCHDOG_PID names another process. */
	if (us && *us && (!pid || !*pid || strtol(pid, NULL, 10) == (long)getpid())) {
		long long usec = strtoll(us, &end, 10);
		if (!*end && usec > 0)
			watchdog_every = usec / 1e6 / 4;   /* well within half of it */
	}
}

void cli_notify(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int fd, n;
	if (!addrlen)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof msg)
		n = sizeof msg - 1;
	/* Best effort, as sd_notify: a manager that is gone is no error here. */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	if (sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&addr, addrlen) < 0) {
		/* nothing to do */
	}
	close(fd);
}

void cli_watchdog(void)
{
	double t;
	if (!addrlen || !watchdog_every || (t = now_mono()) - last_ping < watchdog_every)
		return;
	last_ping = t;
	cli_notify("WATCHDOG=1");
}

int cli_watchdog_wake_ms(int ms)
{
	/* Twice per ping interval: a ping is never late by more than half. */
	if (addrlen && watchdog_every && watchdog_every * 500 < ms)
		return watchdog_every * 500 < 1 ? 1 : (int)(watchdog_every * 500);
	return ms;
}
