/* A daemon serving its clone's decision commands over a unix socket.
 *
 * A coordsync process pays about 10 ms before it does anything: Debian's
 * libgit2 parses the system's CA bundle on set-up, and the dynamic linker
 * loads two dozen libraries.  `coordsync daemon` pays that once.  While it
 * runs, a command such as `coordsync job claim` started in the clone hands
 * its argument vector, working directory, COORDSYNC_* environment and its
 * standard descriptors to the daemon, which runs the very same command code
 * in its own process (a fresh cs_open and cs_close, as a process would) and
 * answers with the exit status.  Output goes straight to the client's
 * descriptors.
 *
 * The exchange, on a SOCK_SEQPACKET socket at .git/coordsync/serve.sock:
 *   daemon: "ready", naming its program      the client waits SERVE_READY_MS
 *                                            for it, and runs the command
 *                                            itself without it, or when the
 *                                            program is not its own
 *   client: the request, with fds 0, 1, 2 (SCM_RIGHTS)
 *   daemon: the exit status (4 bytes); SERVE_DECLINED: run it yourself
 * Nothing is sent before "ready", so a client that gives up waiting for it
 * has asked for nothing.  Once the request is sent the client waits for the
 * status; it never runs the command a second time.
 *
 * Only the socket's owner may connect (mode 0600 in a 0755 directory, and
 * the peer's uid is checked).  Requests are served one at a time, between
 * the daemon's cycles. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "cli.h"

int cli_in_daemon;

#define SERVE_MAGIC "coordsync-serve 1"
#define SERVE_NAME "serve.sock"
#define SERVE_MAX 65536          /* bytes in a request */
#define SERVE_READY_MS 250       /* a busy daemon: the client runs the command itself */
#define SERVE_REQUEST_MS 2000    /* a client that connected but does not send */
#define SERVE_ANSWER_S 3600      /* the longest a served command may take */
#define SERVE_DECLINED (-1)

/* The program a process runs, as "ready" names it: a client whose binary is
 * not the daemon's (coordsync was upgraded, or another build is tested)
 * runs the command itself rather than have old code run it. */
typedef struct serve_ready {
	uint64_t dev, ino;
	int64_t mtime_ns, size;
} serve_ready;

/* This process's program, as the file it was started from (AT_EXECFN, which
 * is the coordsync binary under valgrind too, unlike /proc/self/exe).  The
 * first call looks, later calls repeat it: a daemon looks at start, before
 * an upgrade can replace the file. */
static int program(serve_ready *r)
{
	static serve_ready seen;
	static int state;   /* 0 not looked, 1 ok, -1 failed */
	const char *exe = (const char *)getauxval(AT_EXECFN);
	struct stat st;

	if (!state) {
		state = -1;
		if (exe ? !stat(exe, &st) : !stat("/proc/self/exe", &st)) {
			seen.dev = st.st_dev;
			seen.ino = st.st_ino;
			seen.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
			seen.size = st.st_size;
			state = 1;
		}
	}
	*r = seen;
	return state > 0 ? 0 : -1;
}

/* The socket's address for the clone whose working tree is dir. */
static int sock_addr(struct sockaddr_un *sa, const char *dir)
{
	size_t dirlen = strlen(dir);
	int n;
	while (dirlen > 1 && dir[dirlen - 1] == '/')
		dirlen--;
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof sa->sun_path, "%.*s/.git/coordsync/" SERVE_NAME,
		     (int)dirlen, dir);
	return n > 0 && (size_t)n < sizeof sa->sun_path ? 0 : -1;
}

/* Wait for fd to become readable for at most ms; 1 when it did. */
static int wait_in(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	int n;
	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	return n > 0;
}

/* One message of n bytes at buf, with room for descriptors in ctl. */
static void msg_init(struct msghdr *mh, struct iovec *iov, void *buf, size_t n, void *ctl,
		     size_t ctllen)
{
	memset(mh, 0, sizeof *mh);
	memset(ctl, 0, ctllen);
	iov->iov_base = buf;
	iov->iov_len = n;
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	mh->msg_control = ctl;
	mh->msg_controllen = ctllen;
}

/* ---- the client side ----------------------------------------------------- */

static void put(char *buf, size_t *n, const char *s)
{
	size_t len = strlen(s) + 1;
	if (*n + len <= SERVE_MAX)
		memcpy(buf + *n, s, len);
	*n += len;
}

int cli_forward(const cli *c, int argc, char **argv)
{
	extern char **environ;
	const char *dir = c->dir ? c->dir : ".";
	struct sockaddr_un sa;
	char *buf, cwd[4096], num[16];
	size_t n = 0;
	int fd, fds[3] = {0, 1, 2}, nenv = 0;
	int32_t word;
	serve_ready mine, theirs;
	union {
		char b[CMSG_SPACE(sizeof fds)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;

	/* The fault hook kills the process it runs in: never the daemon. */
	if (getenv("COORDSYNC_NO_DAEMON") || getenv("COORDSYNC_FAULT"))
		return SERVE_DECLINED;
	if (sock_addr(&sa, dir) || !getcwd(cwd, sizeof cwd))
		return SERVE_DECLINED;
	if (program(&mine) || (fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return SERVE_DECLINED;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) || !wait_in(fd, SERVE_READY_MS) ||
	    recv(fd, &theirs, sizeof theirs, 0) != (ssize_t)sizeof theirs ||
	    memcmp(&mine, &theirs, sizeof mine) || !(buf = malloc(SERVE_MAX))) {
		close(fd);
		return SERVE_DECLINED;
	}

	/* magic, cwd, the COORDSYNC_* environment and SSH_AUTH_SOCK (count,
	 * then NAME=VALUE each), argv (count, then each). */
	put(buf, &n, SERVE_MAGIC);
	put(buf, &n, cwd);
	for (char **e = environ; *e; e++)
		nenv += !strncmp(*e, "COORDSYNC_", 10) || !strncmp(*e, "SSH_AUTH_SOCK=", 14);
	snprintf(num, sizeof num, "%d", nenv);
	put(buf, &n, num);
	for (char **e = environ; *e; e++)
		if (!strncmp(*e, "COORDSYNC_", 10) || !strncmp(*e, "SSH_AUTH_SOCK=", 14))
			put(buf, &n, *e);
	snprintf(num, sizeof num, "%d", argc);
	put(buf, &n, num);
	for (int i = 0; i < argc; i++)
		put(buf, &n, argv[i]);
	if (n > SERVE_MAX) {
		free(buf);
		close(fd);
		return SERVE_DECLINED;   /* nothing sent yet: run it here */
	}

	msg_init(&mh, &iov, buf, n, ctl.b, sizeof ctl.b);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(cm), fds, sizeof fds);
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)n) {
		free(buf);
		close(fd);
		return SERVE_DECLINED;   /* not delivered: nothing ran */
	}
	free(buf);
	if (!wait_in(fd, SERVE_ANSWER_S * 1000) || recv(fd, &word, sizeof word, 0) != (ssize_t)sizeof word) {
		close(fd);
		return cli_error(EXIT_ERR, "error", "the daemon serving this clone gave no answer; the"
				 " command may or may not have run (see `coordsync lock list`, `job list`)");
	}
	close(fd);
	return word == SERVE_DECLINED ? SERVE_DECLINED : (int)word;
}

/* ---- the daemon side ----------------------------------------------------- */

static int serving_fd = -1;   /* the caller's socket while its command runs */

int cli_caller_gone(void *arg)
{
	char b;
	ssize_t n;
	(void)arg;
	if (serving_fd < 0)
		return 0;
	/* The caller sends nothing after its request: readable means its end
	 * is closed (0 bytes) or broken. */
	do
		n = recv(serving_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

int cli_serve_listen(const char *workdir, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	serve_ready me;
	mode_t old;
	int fd, rc;

	if (sock_addr(&sa, workdir)) {
		snprintf(err, errlen, "the clone's path is too long for a unix socket");
		return -1;
	}
	if (program(&me)) {
		snprintf(err, errlen, "cannot tell which program this is: %s", strerror(errno));
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* A socket file left by a daemon that was killed: remove it, unless a
	 * live daemon still answers on it. */
	if (!connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		close(fd);
		snprintf(err, errlen, "another daemon serves this clone");
		return -1;
	}
	if (errno == ECONNREFUSED)
		unlink(sa.sun_path);
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc || listen(fd, 16)) {
		snprintf(err, errlen, "%s: %s", sa.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void cli_serve_close(int fd, const char *workdir)
{
	struct sockaddr_un sa;
	if (fd < 0)
		return;
	close(fd);
	if (!sock_addr(&sa, workdir))
		unlink(sa.sun_path);
}

/* The next NUL-terminated string of the request at *at, or NULL. */
static const char *next(const char *buf, size_t n, size_t *at)
{
	const char *s = buf + *at, *end;
	if (*at >= n || !(end = memchr(s, 0, n - *at)))
		return NULL;
	*at = (size_t)(end - buf) + 1;
	return s;
}

static int count(const char *s, int max)
{
	char *end;
	long v = s ? strtol(s, &end, 10) : -1;
	return s && *s && !*end && v >= 0 && v <= max ? (int)v : -1;
}

/* Run argv as the client would have, on the client's descriptors, in its
 * directory, with its COORDSYNC_* environment instead of ours: the exit
 * status, or SERVE_DECLINED when nothing ran. */
static int run_as_client(const char *cwd, int nenv, const char **env, int argc, char **argv,
			 const int fds[3], int (*dispatch)(int, char **))
{
	extern char **environ;
	char *mine[64];
	int nmine = 0, saved[3], here, rc;

	/* A directory the daemon cannot enter: the client runs it there. */
	if ((here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return SERVE_DECLINED;
	if (chdir(cwd)) {
		close(here);
		return SERVE_DECLINED;
	}
	/* Our COORDSYNC_* settings step aside for the request's. */
	for (char **e = environ; *e && nmine < 64;)
		if (!strncmp(*e, "COORDSYNC_", 10) || !strncmp(*e, "SSH_AUTH_SOCK=", 14)) {
			if (!(mine[nmine] = strdup(*e)))
				break;
			mine[nmine][strcspn(mine[nmine], "=")] = 0;
			unsetenv(mine[nmine++]);
		} else {
			e++;
		}
	/* The request's strings stay in its buffer until they are unset. */
	for (int i = 0; i < nenv; i++)
		putenv((char *)env[i]);

	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 3; i++) {
		saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
		dup2(fds[i], i);
	}
	rc = dispatch(argc, argv);
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 3; i++) {
		if (saved[i] >= 0) {
			dup2(saved[i], i);
			close(saved[i]);
		}
	}
	clearerr(stdout);

	for (int i = 0; i < nenv; i++) {
		char *name = strndup(env[i], strcspn(env[i], "="));
		if (name)
			unsetenv(name);
		free(name);
	}
	for (int i = 0; i < nmine; i++) {
		setenv(mine[i], mine[i] + strlen(mine[i]) + 1, 1);
		free(mine[i]);
	}
	if (fchdir(here))
		rc = rc ? rc : EXIT_ERR;
	close(here);
	return rc;
}

int cli_serve_one(int lfd, int (*dispatch)(int, char **))
{
	struct ucred cred;
	socklen_t clen = sizeof cred;
	int32_t word = 0;
	serve_ready me;
	int cfd, fds[3] = {-1, -1, -1}, nfds = 0, argc = 0, nenv, ran = 0;
	char *buf = NULL, **argv = NULL;
	const char **env = NULL;
	const char *cwd;
	const cli_cmd *cmd;
	union {
		char b[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	struct timeval tv = {SERVE_REQUEST_MS / 1000, (SERVE_REQUEST_MS % 1000) * 1000};
	struct iovec iov;
	struct msghdr mh;
	ssize_t n;
	size_t at = 0;

	if ((cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return 0;
	/* Another user's process gets no "ready" and runs its command itself. */
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || cred.uid != geteuid() ||
	    program(&me) || send(cfd, &me, sizeof me, MSG_NOSIGNAL) != (ssize_t)sizeof me)
		goto out;
	/* From here on every failure declines: nothing has run. */
	word = SERVE_DECLINED;
	if (setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) || !(buf = malloc(SERVE_MAX)))
		goto answer;
	msg_init(&mh, &iov, buf, SERVE_MAX, ctl.b, sizeof ctl.b);
	n = recvmsg(cfd, &mh, MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int got[8];
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(got, CMSG_DATA(cm), k * sizeof(int));
			for (size_t i = 0; i < k; i++) {
				if (nfds < 3)
					fds[nfds++] = got[i];
				else
					close(got[i]);
			}
		}
	if (n <= 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds != 3)
		goto answer;

	/* Anything unexpected (another version of coordsync, say) is declined,
	 * and the client runs the command itself. */
	{
		const char *magic = next(buf, (size_t)n, &at);
		cwd = next(buf, (size_t)n, &at);
		nenv = count(next(buf, (size_t)n, &at), 64);
		if (!magic || strcmp(magic, SERVE_MAGIC) || !cwd || nenv < 0 ||
		    !(env = calloc((size_t)nenv + 1, sizeof *env)))
			goto answer;
		for (int i = 0; i < nenv; i++)
			if (!(env[i] = next(buf, (size_t)n, &at)) || !strchr(env[i], '=') ||
			    (strncmp(env[i], "COORDSYNC_", 10) && strncmp(env[i], "SSH_AUTH_SOCK=", 14)))
				goto answer;
		argc = count(next(buf, (size_t)n, &at), 4 * CLI_MAXARG);
		if (argc < 2 || !(argv = calloc((size_t)argc + 1, sizeof *argv)))
			goto answer;
		for (int i = 0; i < argc; i++)
			if (!(argv[i] = (char *)next(buf, (size_t)n, &at)))
				goto answer;
		if (at != (size_t)n || !(cmd = cli_find(argc, argv)) || !(cmd->flags & CLI_SERVED))
			goto answer;
	}
	serving_fd = cfd;
	word = run_as_client(cwd, nenv, env, argc, argv, fds, dispatch);
	ran = word != SERVE_DECLINED;
	if (ran && cli_caller_gone(NULL))
		fprintf(stderr, "coordsync: daemon: the caller of `%s` went away before its answer"
				" (exit %d)\n", cmd->name, (int)word);
	serving_fd = -1;
answer:
	send(cfd, &word, sizeof word, MSG_NOSIGNAL);
out:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	free(argv);
	free(env);
	free(buf);
	close(cfd);
	return ran;
}
