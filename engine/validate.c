/* Validate: coordination files checked by the importer itself on a scratch
 * mirror in memory (import_check: import_buffer's verdict and every
 * record's problem, in a transaction rolled back after each file), so that
 * validate and sync cannot disagree; the files of a working tree or of an
 * index; the pre-commit hook that runs the check. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include "ctx.h"
#include "util.h"
#include "db.h"
#include "kinds.h"
#include "import.h"
#include "handle.h"
#include "tree.h"
#include "coordsync/validate.h"

int cs_validate_open(cs_ctx **out, const char *dir, int need_repo)
{
	cs_ctx *ctx = *out = handle_new();
	int rc;
	if (!ctx)
		return CS_ERROR;
	if (dir ? git_repository_open_ext(&ctx->repo, dir, 0, NULL)
		: git_repository_open_ext(&ctx->repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL)) {
		ctx->repo = NULL;
		if (need_repo) {
			const git_error *e = git_error_last();
			return ctx_err(ctx, CS_ERROR, "not a git repository (%s): name the files to check",
				      e && e->message ? e->message : dir ? dir : ".");
		}
		git_error_clear();
	} else if (git_repository_is_bare(ctx->repo)) {
		git_repository_free(ctx->repo);
		ctx->repo = NULL;
		if (need_repo)
			return ctx_err(ctx, CS_EINVAL, "'%s' is a bare repository: it has no files to check",
				      dir ? dir : ".");
	}
	if (ctx->repo) {
		const char *wd = git_repository_workdir(ctx->repo);
		ctx->workdir = wd ? util_strdup(wd) : NULL;
		ctx->gitdir = util_strdup(git_repository_path(ctx->repo));
		if ((wd && !ctx->workdir) || !ctx->gitdir)
			return ctx_err_oom(ctx);
	}
	/* A file a sync would not read for its size is refused here too. */
	if ((rc = cs_config_int(ctx, "maxfilesize", &ctx->max_file)))
		return rc;
	if ((rc = db_open(ctx, ":memory:", DB_CREATE)))
		return rc;
	return CS_OK;
}

/* ---- checking one text ---------------------------------------------------- */

typedef struct report {
	cs_file_problem_fn fn;
	void *arg;
	int *problems;
	int stopped;
} report;

/* Report msg about name; msg may start "KINDPATH:LINE:COL: " (the
 * importer's errors), which gives the position. */
static int problem(cs_ctx *ctx, report *r, const char *name, const char *kpath, const char *msg)
{
	cs_file_problem p = {name, 1, 1, msg};
	size_t n = kpath ? strlen(kpath) : 0;
	char *copy = util_strdup(msg);
	if (!copy)
		return ctx_err_oom(ctx);
	if (n && !strncmp(copy, kpath, n) && copy[n] == ':') {
		char *e1, *e2;
		long l = strtol(copy + n + 1, &e1, 10);
		long c = *e1 == ':' ? strtol(e1 + 1, &e2, 10) : 0;
		if (*e1 == ':' && e2 > e1 + 1 && e2[0] == ':' && e2[1] == ' ' && l > 0 && c > 0) {
			p.line = (int)l;
			p.col = (int)c;
			p.message = msg + (e2 + 2 - copy);
		} else if (copy[n + 1] == ' ') {
			p.message = msg + n + 2;
		}
	}
	(*r->problems)++;
	if (r->fn && r->fn(&p, r->arg)) {
		free(copy);
		r->stopped = 1;
		return ctx_err(ctx, CS_ERROR, "the check was stopped");
	}
	free(copy);
	return CS_OK;
}

typedef struct named {
	report *r;
	const char *name, *kpath;
} named;

static int found(cs_ctx *ctx, const char *msg, void *arg)
{
	named *n = arg;
	return problem(ctx, n->r, n->name, n->kpath, msg);
}

/* Check s[0, len) as the coordination file kpath, naming it name: the
 * import's own checks (import_check), its rows rolled back. */
static int check_text(cs_ctx *ctx, report *r, const char *name, const char *kpath, const char *s,
		      size_t len)
{
	named n = {r, name, kpath};
	int before = *r->problems, rc;
	if ((rc = db_begin(ctx)))
		return rc;
	ctx->err[0] = 0;
	rc = import_check(ctx, kpath, s, len, found, &n);
	db_rollback(ctx);
	/* A refusal is reported; anything else (out of memory, SQLite, a
	 * callback that stopped) fails the check. */
	if (r->stopped)
		return ctx_err(ctx, CS_ERROR, "the check was stopped");
	if (rc == CS_ERROR && *r->problems > before && strcmp(ctx->err, "out of memory"))
		return CS_OK;
	return rc;
}

/* Whole-file problems: as the importer of a sync words them. */
static int too_big(cs_ctx *ctx, report *r, const char *name, unsigned long long size)
{
	char msg[256];
	snprintf(msg, sizeof msg, "%llu bytes is over the %lld byte limit (coordsync.maxfilesize)",
		 size, ctx->max_file);
	return problem(ctx, r, name, NULL, msg);
}

/* The kind path (coordination/jobs.json, SERVER/status.json) file names by
 * its last two components once "." and ".." are taken out (a relative one
 * from the current directory: "jobs.json" in coordination/), into kp; 0,
 * or -1 when it names none. */
static int kind_path(const char *file, char *kp, size_t size)
{
	char cwd[4096], *slash;
	const char *from[2] = {file, NULL}, **part = NULL;
	size_t *len = NULL, n = 0, cap = 2;
	int ok;
	/* The components, of the current directory (when file is relative)
	 * and then of file, on a stack: ".." pops one. */
	if (file[0] != '/' && getcwd(cwd, sizeof cwd))
		from[0] = cwd, from[1] = file;
	for (int i = 0; i < 2 && from[i]; i++)
		for (const char *c = from[i]; *c; c++)
			cap += *c == '/';
	if (!(part = malloc(cap * sizeof *part)) || !(len = malloc(cap * sizeof *len))) {
		free(part);
		return -1;
	}
	for (int i = 0; i < 2 && from[i]; i++)
		for (const char *c = from[i]; *c;) {
			size_t m = strcspn(c, "/");
			if (m == 2 && !strncmp(c, "..", 2))
				n -= n > 0;
			else if (m && !(m == 1 && *c == '.') && n < cap)
				part[n] = c, len[n++] = m;
			c += m + (c[m] == '/');
		}
	if (n < 2 || len[n - 2] + len[n - 1] + 2 > size) {
		free(part);
		free(len);
		return -1;
	}
	snprintf(kp, size, "%.*s/%.*s", (int)len[n - 2], part[n - 2], (int)len[n - 1], part[n - 1]);
	free(part);
	free(len);
	slash = strchr(kp, '/');
	for (const kind *k = kinds_table; k->path; k++) {
		if (k->top ? !strcmp(k->path, kp) : !strcmp(slash + 1, k->path)) {
			if (k->top)
				return 0;
			*slash = 0;
			ok = cs_valid_server_id(kp);
			*slash = '/';
			return ok ? 0 : -1;
		}
	}
	return -1;
}

/* Read the file at path whole (at most max bytes) into *out (malloc'd, NUL
 * after it); 0, 1 when it is larger (*len is its size), or -1 with errno. */
static int read_file(const char *path, long long max, char **out, size_t *len)
{
	struct stat sb;
	char *p = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = -1;
	*out = NULL;
	*len = 0;
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb))
		goto done;
	if (!S_ISREG(sb.st_mode)) {
		errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
		goto done;
	}
	if ((unsigned long long)sb.st_size > (unsigned long long)max) {
		*len = (size_t)sb.st_size;
		rc = 1;
		goto done;
	}
	if (!(p = malloc((size_t)sb.st_size + 1)))
		goto done;
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, p + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto done;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	p[got] = 0;
	*out = p;
	*len = got;
	p = NULL;
	rc = 0;
done:
	free(p);
	close(fd);
	return rc;
}

/* Check the file at fspath, the coordination file kpath, named name. */
static int check_path(cs_ctx *ctx, report *r, const char *fspath, const char *name,
		      const char *kpath)
{
	struct stat sb;
	char *s = NULL, msg[600];
	size_t len;
	int rc;
	if (!lstat(fspath, &sb) && S_ISLNK(sb.st_mode)) {
		/* A sync refuses a symbolic link in the tree. */
		return problem(ctx, r, name, NULL, "not a file (a symbolic link)");
	}
	rc = read_file(fspath, ctx->max_file, &s, &len);
	if (rc == 1)
		return too_big(ctx, r, name, len);
	if (rc < 0) {
		int e = errno;
		if (e == ENOMEM)
			return ctx_err_oom(ctx);
		if (e == EISDIR)
			return problem(ctx, r, name, NULL, "not a file (a directory)");
		snprintf(msg, sizeof msg, "cannot read: %s", strerror(e));
		return problem(ctx, r, name, NULL, msg);
	}
	rc = check_text(ctx, r, name, kpath, s, len);
	free(s);
	return rc;
}

int cs_validate_file(cs_ctx *ctx, const char *file, int *problems, cs_file_problem_fn fn, void *arg)
{
	report r = {fn, arg, problems, 0};
	char kp[300];
	if (kind_path(file, kp, sizeof kp))
		return problem(ctx, &r, file, NULL,
			       "not a coordination file (name it as coordsync reads it:"
			       " coordination/jobs.json, locks.json, messages.json,"
			       " SERVER/status.json or SERVER/heartbeat.json)");
	return check_path(ctx, &r, file, file, kp);
}

/* ---- a working tree, an index ------------------------------------------------ */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The working tree's files. */
static int tree_files(cs_ctx *ctx, report *r, int *checked)
{
	char **names = NULL;
	size_t nnames = 0;
	char fs[4096], kp[300];
	struct stat sb;
	DIR *d;
	struct dirent *de;
	int rc = CS_OK;
	for (const kind *k = kinds_table; k->path && !rc; k++) {
		if (!k->top)
			continue;
		snprintf(fs, sizeof fs, "%s%s", ctx->workdir, k->path);
		if (lstat(fs, &sb))
			continue;
		(*checked)++;
		rc = check_path(ctx, r, fs, k->path, k->path);
	}
	if (rc)
		return rc;
	if (!(d = opendir(ctx->workdir)))
		return ctx_err(ctx, CS_ERROR, "cannot read '%s': %s", ctx->workdir, strerror(errno));
	/* Server directories in name order, as a tree lists them. */
	while ((de = readdir(d))) {
		char **more;
		if (!cs_valid_server_id(de->d_name))
			continue;
		snprintf(fs, sizeof fs, "%s%s", ctx->workdir, de->d_name);
		if (lstat(fs, &sb) || !S_ISDIR(sb.st_mode))
			continue;
		if (!(more = realloc(names, (nnames + 1) * sizeof *names)) ||
		    !(more[nnames] = util_strdup(de->d_name))) {
			names = more ? more : names;
			rc = ctx_err_oom(ctx);
			break;
		}
		names = more;
		nnames++;
	}
	closedir(d);
	if (!rc && nnames)
		qsort(names, nnames, sizeof *names, name_cmp);
	for (size_t i = 0; i < nnames && !rc; i++)
		for (const kind *k = kinds_table; k->path && !rc; k++) {
			if (k->top)
				continue;
			snprintf(kp, sizeof kp, "%s/%s", names[i], k->path);
			snprintf(fs, sizeof fs, "%s%s", ctx->workdir, kp);
			if (lstat(fs, &sb))
				continue;
			(*checked)++;
			rc = check_path(ctx, r, fs, kp, kp);
		}
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* The kind path p is, or NULL (kp holds a per-server one). */
static const char *index_kind(const char *p)
{
	const char *slash = strchr(p, '/');
	char server[65];
	if (!slash || strchr(slash + 1, '/'))
		return NULL;
	for (const kind *k = kinds_table; k->path; k++)
		if (k->top ? !strcmp(k->path, p) : !strcmp(slash + 1, k->path)) {
			if (k->top)
				return p;
			if ((size_t)(slash - p) >= sizeof server)
				return NULL;
			snprintf(server, sizeof server, "%.*s", (int)(slash - p), p);
			return cs_valid_server_id(server) ? p : NULL;
		}
	return NULL;
}

/* The index's files: those a commit would hold. */
static int index_files(cs_ctx *ctx, report *r, int *checked)
{
	git_index *ix = NULL;
	int rc = CS_OK;
	if (git_repository_index(&ix, ctx->repo) || git_index_read(ix, 0))
		rc = ctx_err_git(ctx, "cannot read the index");
	for (size_t i = 0, n = rc ? 0 : git_index_entrycount(ix); i < n && !rc; i++) {
		const git_index_entry *e = git_index_get_byindex(ix, i);
		git_blob *blob = NULL;
		size_t size;
		git_object_t type;
		if (!e || !index_kind(e->path))
			continue;
		if (GIT_INDEX_ENTRY_STAGE(e) != 0) {
			(*checked)++;
			rc = problem(ctx, r, e->path, NULL, "unmerged: resolve the conflict first");
			continue;
		}
		(*checked)++;
		if (e->mode == GIT_FILEMODE_LINK || e->mode == GIT_FILEMODE_COMMIT) {
			rc = problem(ctx, r, e->path, NULL, e->mode == GIT_FILEMODE_LINK
					? "not a file (a symbolic link)" : "not a file (a submodule)");
			continue;
		}
		if (tree_object_header(ctx, &e->id, &size, &type)) {
			rc = ctx_err_git(ctx, e->path);
			break;
		}
		if ((unsigned long long)size > (unsigned long long)ctx->max_file) {
			rc = too_big(ctx, r, e->path, size);
			continue;
		}
		if (git_blob_lookup(&blob, ctx->repo, &e->id)) {
			rc = ctx_err_git(ctx, e->path);
			break;
		}
		rc = check_text(ctx, r, e->path, e->path, git_blob_rawcontent(blob),
				(size_t)git_blob_rawsize(blob));
		git_blob_free(blob);
	}
	git_index_free(ix);
	return rc;
}

int cs_validate_tree(cs_ctx *ctx, int staged, int *checked, int *problems, cs_file_problem_fn fn,
		     void *arg)
{
	report r = {fn, arg, problems, 0};
	int n = 0, rc;
	if (!ctx->repo)
		return ctx_err(ctx, CS_EINVAL, "not in a git work tree: name the files to check");
	if (!staged && !ctx->workdir)
		return ctx_err(ctx, CS_EINVAL, "the repository has no working tree");
	rc = staged ? index_files(ctx, &r, &n) : tree_files(ctx, &r, &n);
	if (checked)
		*checked = n;
	return rc;
}

/* ---- the pre-commit hook ----------------------------------------------------- */

/* The hook's text for program exe, malloc'd; NULL when out of memory. */
static char *hook_text(const char *exe)
{
	sbuf b = {0};
	sb_puts(&b, "#!/bin/sh\n"
		    "# Installed by `coordsync validate --install-hook`: check the staged\n"
		    "# coordination files as a sync would import them, before each commit\n"
		    "# (`git commit --no-verify` skips it).\n"
		    "cs='");
	for (const char *c = exe; *c; c++)
		if (*c == '\'')
			sb_puts(&b, "'\\''");
		else
			sb_put(&b, c, 1);
	sb_puts(&b, "'\n[ -x \"$cs\" ] || cs=coordsync\nexec \"$cs\" validate --staged\n");
	if (b.oom) {
		sb_free(&b);
		return NULL;
	}
	return sb_detach(&b);
}

/* The hooks directory: core.hooksPath (relative to the working tree), or
 * the repository's own; malloc'd with a trailing '/'. */
static char *hooks_dir(cs_ctx *ctx)
{
	git_config *cfg = NULL;
	git_buf buf = {0};
	char *dir = NULL;
	if (!git_repository_config_snapshot(&cfg, ctx->repo) &&
	    !git_config_get_path(&buf, cfg, "core.hooksPath") && buf.ptr && *buf.ptr) {
		size_t n = strlen(buf.ptr);
		const char *sep = buf.ptr[n - 1] == '/' ? "" : "/";
		if (buf.ptr[0] == '/' || !ctx->workdir) {
			dir = malloc(n + 2);
			if (dir)
				snprintf(dir, n + 2, "%s%s", buf.ptr, sep);
		} else {
			size_t m = strlen(ctx->workdir) + n + 2;
			if ((dir = malloc(m)))
				snprintf(dir, m, "%s%s%s", ctx->workdir, buf.ptr, sep);
		}
	} else {
		git_buf_dispose(&buf);
		if (!git_repository_item_path(&buf, ctx->repo, GIT_REPOSITORY_ITEM_HOOKS)) {
			size_t n = strlen(buf.ptr) + 2;
			if ((dir = malloc(n)))
				snprintf(dir, n, "%s%s", buf.ptr,
					 n > 2 && buf.ptr[n - 3] == '/' ? "" : "/");
		}
	}
	git_error_clear();
	git_buf_dispose(&buf);
	git_config_free(cfg);
	return dir;
}

int cs_validate_hook_install(cs_ctx *ctx, const char *exe, int force, char **path, int *what)
{
	char *dir = NULL, *hook = NULL, *tmp = NULL, *orig = NULL, *text = NULL, *have = NULL;
	size_t len = 0, n;
	int rc = CS_OK, fd = -1, r, exists;

	*path = NULL;
	*what = CS_HOOK_INSTALLED;
	if (!ctx->repo)
		return ctx_err(ctx, CS_EINVAL, "not in a git repository");
	if (!(dir = hooks_dir(ctx)) || !(hook = handle_join(dir, "pre-commit")) ||
	    !(tmp = handle_join(hook, ".coordsync-tmp")) || !(orig = handle_join(hook, ".orig")) ||
	    !(text = hook_text(exe))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	*path = util_strdup(hook);
	if (mkdir(dir, 0755) && errno != EEXIST) {
		rc = ctx_err(ctx, CS_ERROR, "cannot create '%s': %s", dir, strerror(errno));
		goto done;
	}
	r = read_file(hook, 1 << 20, &have, &len);
	exists = !(r < 0 && errno == ENOENT);
	if (r == 0 && len == strlen(text) && !memcmp(have, text, len)) {
		*what = CS_HOOK_SAME;
		goto done;
	}
	if (exists && !force) {
		rc = ctx_err(ctx, CS_ERROR, "'%s' exists and is another hook; --force replaces it"
			    " (keeping it as pre-commit.orig)", hook);
		goto done;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755)) < 0) {
		rc = ctx_err(ctx, CS_ERROR, "cannot create '%s': %s", tmp, strerror(errno));
		goto done;
	}
	n = strlen(text);
	if (write(fd, text, n) != (ssize_t)n || fchmod(fd, 0755) || fsync(fd)) {
		rc = ctx_err(ctx, CS_ERROR, "cannot write '%s': %s", tmp, strerror(errno));
		goto done;
	}
	close(fd);
	fd = -1;
	if (exists) {
		if (rename(hook, orig)) {
			rc = ctx_err(ctx, CS_ERROR, "cannot keep the old hook as '%s': %s", orig,
				    strerror(errno));
			goto done;
		}
		*what = CS_HOOK_REPLACED;
	}
	if (rename(tmp, hook)) {
		rc = ctx_err(ctx, CS_ERROR, "cannot install '%s': %s", hook, strerror(errno));
		goto done;
	}
done:
	if (fd >= 0)
		close(fd);
	if (rc && tmp)
		unlink(tmp);
	free(dir);
	free(hook);
	free(tmp);
	free(orig);
	free(text);
	free(have);
	return rc;
}
