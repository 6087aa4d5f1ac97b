/* Time bounds on coordsync's network: every connection libgit2 opens to a
 * remote, on every transport, gets a connect, a stall and a total bound.
 *
 * libgit2 1.5 has none of its own (GIT_OPT_SET_SERVER_TIMEOUT came in
 * 1.7): a remote that accepts a connection and then says nothing holds a
 * fetch or a push, and the clone's lock with it, for ever.  So coordsync
 * supplies libgit2's plain socket stream (git_stream_register with
 * GIT_STREAM_STANDARD), on which every network transport of 1.5 runs:
 *   git://            the stream itself;
 *   http://, https:// libgit2's http client opens it through
 *                     git_socket_stream_new, which asks the registry, and
 *                     mbedTLS wraps it for TLS;
 *   ssh://            libssh2 is handed the stream's descriptor, which
 *                     libgit2's ssh transport reads at the place it has in
 *                     its own git_socket_stream: net_stream keeps that
 *                     layout.  libssh2 reads and writes the descriptor
 *                     itself, which is why progress is the kernel's count.
 *
 * The bounds, for one remote operation at a time (net_begin ..
 * net_end; coordsync does its git work on one thread):
 *   connect  each connection's connect(), non-blocking and polled;
 *   stall    no byte received from the remote, nor any of ours
 *            acknowledged by it, on any of the operation's connections
 *            (TCP_INFO's tcpi_bytes_received and tcpi_bytes_acked, plus
 *            the stream's own counts);
 *   total    the whole operation, connections and work between them.
 * A watchdog thread runs during an operation only.  It looks every 100 ms
 * and ends a stalled or overlong operation by shutting its sockets down:
 * whatever blocks on them (a recv in libgit2 or mbedTLS, libssh2's poll)
 * returns at once, libgit2 fails the operation, and net_end names the
 * bound that fired in place of libgit2's "early EOF".  Name resolution is
 * not bounded here: getaddrinfo follows the resolver's own timeouts
 * (resolv.conf, 5 s per try by default). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/tcp.h>
#include <git2/sys/stream.h>
#include "ctx.h"
#include "util.h"
#include "net.h"

#define NET_SLOTS 16            /* connections of one operation at once */
#define NET_TICK_MS 100         /* the watchdog's look */

enum { NET_NONE, NET_CONNECT, NET_STALL, NET_TOTAL };

/* libgit2's git_socket_stream (the same from 1.5 to 1.8), whose layout the
 * first four members keep: its ssh transport reads the descriptor `s` from
 * any plain stream.  Another libgit2 needs that checked again. */
#if LIBGIT2_VER_MAJOR != 1 || LIBGIT2_VER_MINOR < 5 || LIBGIT2_VER_MINOR > 8
#error "net.c: check libgit2's git_socket_stream layout (src/libgit2/streams/socket.h)"
#endif
typedef struct net_stream {
	git_stream parent;
	char *host;
	char *port;
	int s;
	unsigned long long moved;   /* bytes through read and write */
} net_stream;

typedef struct net_slot {
	net_stream *st;             /* NULL: free */
	unsigned long long seen;    /* progress count at the last look */
} net_slot;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int armed;                  /* an operation is under way */
	int stop;                   /* net_end: the watchdog leaves */
	int fired;                  /* NET_*: the bound that ended it */
	int connecting;             /* connects under way (their own bound) */
	double start, last;         /* monotonic: begin, last progress */
	long long connect_s, stall_s, total_s;
	net_slot slot[NET_SLOTS];
} net = {.mu = PTHREAD_MUTEX_INITIALIZER, .connect_s = 10, .stall_s = 15, .total_s = 30};
/* net.cv is set up by net_begin, on the monotonic clock, and destroyed
 * by net_end. */

static pthread_t net_thread;

/* ---- settings ---------------------------------------------------------------- */

/* coordsync.timeout.NAME into *out: a duration from one second to a day
 * (config.c's table).  CS_EINVAL naming the key and the value otherwise. */
static int bound_get(cs_ctx *ctx, const char *name, long long *out)
{
	char key[64];
	snprintf(key, sizeof key, "timeout.%s", name);
	return cs_config_int(ctx, key, out);
}

int net_bound(cs_ctx *ctx, const char *name, long long *out)
{
	return bound_get(ctx, name, out);
}

/* ---- the stream ------------------------------------------------------------- */

/* Add st to the operation's connections; -1 when all slots are taken. */
static int slot_add(net_stream *st)
{
	int rc = -1;
	pthread_mutex_lock(&net.mu);
	for (int i = 0; i < NET_SLOTS && rc; i++)
		if (!net.slot[i].st) {
			net.slot[i].st = st;
			net.slot[i].seen = 0;
			rc = 0;
		}
	net.last = util_mono();          /* a connection made is progress */
	pthread_mutex_unlock(&net.mu);
	return rc;
}

/* Take st out, so that the watchdog no longer touches its descriptor. */
static void slot_drop(net_stream *st)
{
	pthread_mutex_lock(&net.mu);
	for (int i = 0; i < NET_SLOTS; i++)
		if (net.slot[i].st == st)
			net.slot[i].st = NULL;
	pthread_mutex_unlock(&net.mu);
}

/* Wait for the non-blocking connect of fd until deadline: 0 connected,
 * ETIMEDOUT, or the connect's errno. */
static int connect_wait(int fd, double deadline)
{
	struct pollfd p = {fd, POLLOUT, 0};
	socklen_t len = sizeof(int);
	int n, err = 0;

	for (;;) {
		double left = deadline - util_mono();
		if (left <= 0)
			return ETIMEDOUT;
		n = poll(&p, 1, (int)(left * 1000) + 1);
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			return errno;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
	return err;
}

static int ns_connect(git_stream *stream)
{
	net_stream *st = (net_stream *)stream;
	struct addrinfo hints, *res = NULL;
	double now, deadline, total_end;
	int e, err = 0, fd = -1, bound, fired = NET_NONE;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(st->host, st->port, &hints, &res))) {
		git_error_set(GIT_ERROR_NET, "cannot resolve '%s': %s", st->host, gai_strerror(e));
		return -1;
	}
	pthread_mutex_lock(&net.mu);
	now = util_mono();
	deadline = now + (double)net.connect_s;
	total_end = net.armed ? net.start + (double)net.total_s : deadline;
	bound = total_end < deadline ? NET_TOTAL : NET_CONNECT;
	if (total_end < deadline)
		deadline = total_end;
	fired = net.fired;
	net.connecting++;
	pthread_mutex_unlock(&net.mu);
	for (struct addrinfo *p = res; p && !fired; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, p->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (!connect(fd, p->ai_addr, p->ai_addrlen))
			err = 0;
		else if ((err = errno) == EINPROGRESS)
			err = connect_wait(fd, deadline);
		if (!err)
			break;
		close(fd);
		fd = -1;
		if (err == ETIMEDOUT && util_mono() >= deadline)
			fired = bound;
	}
	freeaddrinfo(res);
	pthread_mutex_lock(&net.mu);
	net.connecting--;
	if (fired && net.armed && !net.fired)
		net.fired = fired;
	pthread_mutex_unlock(&net.mu);
	if (fd < 0) {
		/* libgit2's own wording, which scripts may know */
		git_error_set(GIT_ERROR_NET, "failed to connect to %s: %s", st->host,
			      fired ? "timed out" : strerror(err ? err : ECONNREFUSED));
		return -1;
	}
	/* Blocking from here: the watchdog's shutdown ends a wait. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) || slot_add(st)) {
		close(fd);
		git_error_set(GIT_ERROR_NET, "cannot connect to %s port %s: too many connections",
			      st->host, st->port);
		return -1;
	}
	st->s = fd;
	return 0;
}

static ssize_t ns_read(git_stream *stream, void *data, size_t len)
{
	net_stream *st = (net_stream *)stream;
	ssize_t n;

	do
		n = recv(st->s, data, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		git_error_set(GIT_ERROR_NET, "error receiving socket data: %s", strerror(errno));
	else
		__atomic_add_fetch(&st->moved, (unsigned long long)n, __ATOMIC_RELAXED);
	return n;
}

/* libgit2 writes in full itself (git_stream__write_full); flags are 0. */
static ssize_t ns_write(git_stream *stream, const char *data, size_t len, int flags)
{
	net_stream *st = (net_stream *)stream;
	ssize_t n;

	(void)flags;
	do
		n = send(st->s, data, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		git_error_set(GIT_ERROR_NET, "error sending data: %s", strerror(errno));
	else
		__atomic_add_fetch(&st->moved, (unsigned long long)n, __ATOMIC_RELAXED);
	return n;
}

static int ns_close(git_stream *stream)
{
	net_stream *st = (net_stream *)stream;

	if (st->s < 0)
		return 0;
	slot_drop(st);
	close(st->s);
	st->s = -1;
	return 0;
}

static void ns_free(git_stream *stream)
{
	net_stream *st = (net_stream *)stream;

	if (!st)
		return;
	ns_close(stream);
	free(st->host);
	free(st->port);
	free(st);
}

static int ns_new(git_stream **out, const char *host, const char *port)
{
	net_stream *st = calloc(1, sizeof *st);

	*out = NULL;
	if (!st || !(st->host = strdup(host)) || !(st->port = strdup(port))) {
		if (st)
			free(st->host);
		free(st);
		git_error_set_oom();
		return -1;
	}
	st->s = -1;
	st->parent.version = GIT_STREAM_VERSION;
	st->parent.connect = ns_connect;
	st->parent.read = ns_read;
	st->parent.write = ns_write;
	st->parent.close = ns_close;
	st->parent.free = ns_free;
	*out = &st->parent;
	return 0;
}

void net_register(void)
{
	static git_stream_registration reg = {GIT_STREAM_VERSION, ns_new, NULL};
	if (git_stream_register(GIT_STREAM_STANDARD, &reg))
		git_error_clear();      /* libgit2's own stream then: unbounded */
}

/* ---- the watchdog --------------------------------------------------------------- */

/* Bytes that moved on st so far: the kernel's count when it gives one. */
static unsigned long long progress(net_stream *st)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	unsigned long long n = __atomic_load_n(&st->moved, __ATOMIC_RELAXED);

	memset(&ti, 0, sizeof ti);
	if (!getsockopt(st->s, IPPROTO_TCP, TCP_INFO, &ti, &len) &&
	    len >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
		n += ti.tcpi_bytes_received + ti.tcpi_bytes_acked;
	return n;
}

static void *watch(void *arg)
{
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&net.mu);
	while (!net.stop) {
		double now = util_mono();
		int open = 0;
		for (int i = 0; i < NET_SLOTS; i++) {
			unsigned long long n;
			if (!net.slot[i].st)
				continue;
			open++;
			if ((n = progress(net.slot[i].st)) != net.slot[i].seen) {
				net.slot[i].seen = n;
				net.last = now;
			}
		}
		/* Without a connection it is local work (a local-path remote,
		 * libgit2 between two requests): nothing to bound.  A connect
		 * has a bound of its own. */
		if (!open || net.connecting)
			net.last = now;
		if (open && !net.fired && now - net.start >= (double)net.total_s)
			net.fired = NET_TOTAL;
		else if (open && !net.fired && now - net.last >= (double)net.stall_s)
			net.fired = NET_STALL;
		if (net.fired)
			for (int i = 0; i < NET_SLOTS; i++)
				if (net.slot[i].st)
					shutdown(net.slot[i].st->s, SHUT_RDWR);
		clock_gettime(CLOCK_MONOTONIC, &ts);   /* a wall clock step does not stop it */
		ts.tv_nsec += NET_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (!net.stop)
			pthread_cond_timedwait(&net.cv, &net.mu, &ts);
	}
	pthread_mutex_unlock(&net.mu);
	return NULL;
}

int net_begin(cs_ctx *ctx, const char *step)
{
	long long c, s, t;
	int rc;

	if (ctx->net_down)
		return ctx_err(ctx, CS_ERROR, "%s skipped: the remote timed out earlier in this"
			      " command: %s", step, ctx->net_down_msg);
	if ((rc = bound_get(ctx, "connect", &c)) || (rc = bound_get(ctx, "stall", &s)) ||
	    (rc = bound_get(ctx, "total", &t)))
		return rc;
	{
		pthread_condattr_t ca;
		if ((rc = pthread_condattr_init(&ca)) ||
		    (rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) ||
		    (rc = pthread_cond_init(&net.cv, &ca)))
			return ctx_err(ctx, CS_ERROR, "%s: cannot start the network watchdog: %s", step,
				      strerror(rc));
		pthread_condattr_destroy(&ca);
	}
	pthread_mutex_lock(&net.mu);
	net.connect_s = c;
	net.stall_s = s;
	net.total_s = t;
	net.start = net.last = util_mono();
	net.fired = NET_NONE;
	net.stop = 0;
	net.armed = 1;
	pthread_mutex_unlock(&net.mu);
	if ((rc = pthread_create(&net_thread, NULL, watch, NULL))) {
		net.armed = 0;
		pthread_cond_destroy(&net.cv);
		return ctx_err(ctx, CS_ERROR, "%s: cannot start the network watchdog: %s", step,
			      strerror(rc));
	}
	return CS_OK;
}

int net_end(cs_ctx *ctx, const char *step, const char *url, int failed)
{
	long long c, s, t;
	int fired;

	pthread_mutex_lock(&net.mu);
	net.stop = 1;
	pthread_cond_signal(&net.cv);
	pthread_mutex_unlock(&net.mu);
	pthread_join(net_thread, NULL);
	pthread_cond_destroy(&net.cv);
	pthread_mutex_lock(&net.mu);
	fired = net.fired;
	net.armed = 0;
	net.fired = NET_NONE;
	c = net.connect_s;
	s = net.stall_s;
	t = net.total_s;
	pthread_mutex_unlock(&net.mu);
	if (!failed || !fired)
		return CS_OK;
	if (fired == NET_CONNECT)
		ctx_err(ctx, CS_ERROR, "connect timed out: remote '%s' (%s): no connection within"
		       " %llds (coordsync.timeout.connect)", url, step, c);
	else if (fired == NET_STALL)
		ctx_err(ctx, CS_ERROR, "%s timed out: remote '%s': nothing received for %llds"
		       " (coordsync.timeout.stall)%s", step, url, s,
		       strcmp(step, "push") ? "" : "; the push may have reached the remote: the next"
		       " sync tells");
	else
		ctx_err(ctx, CS_ERROR, "%s timed out: remote '%s': not done after %llds"
		       " (coordsync.timeout.total)%s", step, url, t,
		       strcmp(step, "push") ? "" : "; the push may have reached the remote: the next"
		       " sync tells");
	ctx->net_down = 1;
	{
		size_t n = strnlen(ctx->err, sizeof ctx->net_down_msg - 1);
		memcpy(ctx->net_down_msg, ctx->err, n);
		ctx->net_down_msg[n] = 0;
	}
	return CS_ERROR;
}
