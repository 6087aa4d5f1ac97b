/* What git's own push does for a local remote that coordsync's push (transport.c,
 * push_local) must do too: give what it writes the permissions of the
 * remote's core.sharedRepository, and run the remote's receive hooks
 * (pre-receive, update, post-receive, post-update).  libgit2 1.5 does
 * neither: it honours core.sharedRepository only in git_repository_init,
 * and runs no hooks. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ctx.h"
#include "util.h"
#include "proc.h"
#include "net.h"
#include "shared.h"

extern char **environ;

/* ---- core.sharedRepository ------------------------------------------------------ */

/* git's values of the setting (its git_config_perm): 0 "umask" (nothing
 * to do), GX_SHARED_GROUP (0660, "group", "true", 1), GX_SHARED_ALL (0664,
 * "all", "world", "everybody", 2), or -MODE for an octal mode such as 0640
 * ("exactly these", others never get write). */
#define GX_SHARED_GROUP 0660
#define GX_SHARED_ALL 0664

int shared_mode(git_repository *r)
{
	git_config *cfg = NULL;
	git_buf v = {0};
	char *end = NULL;
	long n;
	int b, mode = 0;

	if (git_repository_config_snapshot(&cfg, r) ||
	    git_config_get_string_buf(&v, cfg, "core.sharedrepository"))
		goto done;
	if (!strcasecmp(v.ptr, "umask"))
		mode = 0;
	else if (!strcasecmp(v.ptr, "group"))
		mode = GX_SHARED_GROUP;
	else if (!strcasecmp(v.ptr, "all") || !strcasecmp(v.ptr, "world") ||
		 !strcasecmp(v.ptr, "everybody"))
		mode = GX_SHARED_ALL;
	else {
		n = strtol(v.ptr, &end, 8);
		if (end == v.ptr || *end)     /* not a number: a boolean */
			mode = !git_config_parse_bool(&b, v.ptr) && b ? GX_SHARED_GROUP : 0;
		else if (n == 1)
			mode = GX_SHARED_GROUP;
		else if (n == 2)
			mode = GX_SHARED_ALL;
		else if (n != 0 && (n & 0600) == 0600)   /* git refuses a mode without u+rw */
			mode = -(int)(n & 0666);
	}
done:
	git_buf_dispose(&v);
	git_config_free(cfg);
	git_error_clear();
	return mode;
}

int shared_fix(int shared, const char *path)
{
	struct stat sb;
	int mode, tweak;

	if (!shared)
		return 0;
	if (lstat(path, &sb))
		return errno == ENOENT ? 0 : -1;
	/* Only what this process's user owns: what it wrote (another member's
	 * files are theirs to set, and chmod would fail anyway). */
	if (sb.st_uid != geteuid() || S_ISLNK(sb.st_mode))
		return 0;
	/* git's calc_shared_perm and adjust_shared_perm. */
	mode = (int)(sb.st_mode & 07777);
	tweak = shared < 0 ? -shared : shared;
	if (!(mode & S_IWUSR))
		tweak &= ~0222;
	if (mode & S_IXUSR)
		tweak |= (tweak & 0444) >> 2;
	mode = shared < 0 ? (mode & ~0777) | tweak : mode | tweak;
	if (S_ISDIR(sb.st_mode)) {
		mode |= (mode & 0444) >> 2;
		if (mode & 060)
			mode |= S_ISGID;
	}
	if (mode != (int)(sb.st_mode & 07777) && chmod(path, (mode_t)mode))
		return -1;
	return 0;
}

/* ---- receive hooks -------------------------------------------------------------- */

void shared_hooks_dir(git_repository *r, char *out, size_t n)
{
	git_config *cfg = NULL;
	git_buf dir = {0};
	const char *gitdir = git_repository_path(r);

	if (!git_repository_config_snapshot(&cfg, r))
		git_config_get_string_buf(&dir, cfg, "core.hookspath");
	git_error_clear();
	if (!dir.ptr || !*dir.ptr)
		snprintf(out, n, "%shooks", gitdir);
	else if (dir.ptr[0] == '/')
		snprintf(out, n, "%s", dir.ptr);
	else
		snprintf(out, n, "%s%s", gitdir, dir.ptr);
	git_buf_dispose(&dir);
	git_config_free(cfg);
}

/* dir/name (malloc'd) when it is executable, else NULL (git ignores a
 * hook that is not). */
static char *hook_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *path = malloc(n);

	if (path) {
		snprintf(path, n, "%s/%s", dir, name);
		if (access(path, X_OK)) {
			free(path);
			path = NULL;
		}
	}
	return path;
}

/* The environment of a hook: ours, with GIT_DIR=. and without the
 * variables that would point git elsewhere.  NULL when out of memory. */
static char **hook_env(void)
{
	static const char *const drop[] = {"GIT_DIR=", "GIT_WORK_TREE=", "GIT_INDEX_FILE=",
					   "GIT_OBJECT_DIRECTORY=",
					   "GIT_ALTERNATE_OBJECT_DIRECTORIES=", "GIT_NAMESPACE=",
					   NULL};
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	if (!(env = calloc(n + 2, sizeof *env)))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int skip = 0;
		for (const char *const *d = drop; *d && !skip; d++)
			skip = !strncmp(environ[i], *d, strlen(*d));
		if (!skip)
			env[k++] = environ[i];
	}
	env[k++] = (char *)"GIT_DIR=.";
	env[k] = NULL;
	return env;
}

int shared_hook_run(cs_ctx *ctx, git_repository *r, const char *dir, const char *name,
		const char *input, const char *const *args, sbuf *out, int *status)
{
	char *path = hook_path(dir, name), **env = NULL;
	const char *argv[8];
	int in[2] = {-1, -1}, o[2] = {-1, -1}, rc = CS_OK, ws = 0, na = 0, killed = 0;
	pid_t pid = -1;
	long long bound;
	double end;

	*status = -1;
	out->n = 0;
	if (out->p)
		out->p[0] = 0;
	if (!path)
		return CS_OK;
	if ((rc = net_bound(ctx, "total", &bound)))
		goto done;
	argv[na++] = path;
	for (int i = 0; args && args[i] && na < 7; i++)
		argv[na++] = args[i];
	argv[na] = NULL;
	if (!(env = hook_env())) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if (pipe2(in, O_CLOEXEC) || pipe2(o, O_CLOEXEC) || (pid = fork()) < 0) {
		rc = ctx_err(ctx, CS_ERROR, "cannot run the remote's %s hook '%s': %s", name, path,
			    strerror(errno));
		goto done;
	}
	if (!pid) {
		/* The child: only async-signal-safe calls from here. */
		setpgid(0, 0);
		if (dup2(in[0], 0) < 0 || dup2(o[1], 1) < 0 || dup2(o[1], 2) < 0 ||
		    chdir(git_repository_path(r)))
			_exit(127);
		execve(path, (char *const *)argv, env);
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	in[0] = o[1] = -1;
	/* The input is one line per ref: within a pipe's buffer, so this never
	 * blocks; a hook that exits without reading it is no error. */
	if (input && *input && write(in[1], input, strlen(input)) < 0 && errno != EPIPE)
		rc = ctx_err(ctx, CS_ERROR, "cannot write to the remote's %s hook: %s", name,
			    strerror(errno));
	close(in[1]);
	in[1] = -1;
	/* Its output until it closes it, within the bound. */
	end = util_mono() + (double)bound;
	for (;;) {
		struct pollfd p = {o[0], POLLIN, 0};
		char buf[4096];
		double left = end - util_mono();
		ssize_t n;
		if (left <= 0) {
			killed = 1;
			break;
		}
		if (poll(&p, 1, (int)(left * 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!p.revents)
			continue;
		if ((n = read(o[0], buf, sizeof buf)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out->n < 4096)
			sb_put(out, buf, (size_t)n);
	}
	killed = proc_reap(pid, killed ? 0 : end, &ws);
	if (killed)
		rc = ctx_err(ctx, CS_ERROR, "the remote's %s hook '%s' did not finish within %llds"
			    " (coordsync.timeout.total); killed", name, path, bound);
	else if (!rc)
		*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
done:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (o[i] >= 0)
			close(o[i]);
	}
	free(env);
	free(path);
	return rc;
}
