/* The clone's working tree and index: brought to a new head file by file as
 * a safe checkout, repaired after an update cut short, and the lock files
 * a killed writer left in the clone's git directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "ctx.h"
#include "util.h"
#include "fault.h"
#include "proc.h"
#include "tree.h"
#include "texts.h"
#include "worktree.h"

/* ---- left-over lock files in the clone ------------------------------------------- */

/* A lock file in the clone younger than coordsync.stalelock is removed only
 * once it stayed unchanged, and open in no process, this long: git's own
 * writers rename a closed lock into place within milliseconds (git waits
 * 100 ms for a ref lock, 1 s for packed-refs.lock), and every coordsync
 * that writes the clone takes its lock first, which the caller holds. */
#define CLONE_LOCK_WATCH_MS 2000
#define CLONE_LOCKS_MAX 64

typedef struct {
	char path[PATH_MAX];
	struct stat sb;
	int young;     /* younger than coordsync.stalelock: watched first */
	int keep;      /* open in a process, or changed or gone while watched */
} clone_lock;

/* Add path to l when it is a regular file. */
static void clone_lock_add(clone_lock *l, int *n, const char *path)
{
	if (*n >= CLONE_LOCKS_MAX || strlen(path) >= sizeof l->path || lstat(path, &l[*n].sb) ||
	    !S_ISREG(l[*n].sb.st_mode))
		return;
	memcpy(l[*n].path, path, strlen(path) + 1);
	(*n)++;
}

/* The NAME.lock files under dir, a directory of refs (no ref name ends in
 * ".lock", nor has a part starting with a dot), depth and count bounded. */
static void clone_locks_find(const char *dir, int depth, clone_lock *l, int *n)
{
	DIR *d;
	struct dirent *e;
	char path[PATH_MAX];

	if (depth > 16 || *n >= CLONE_LOCKS_MAX || !(d = opendir(dir)))
		return;
	while (*n < CLONE_LOCKS_MAX && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		struct stat sb;
		if (e->d_name[0] == '.' ||
		    snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
		    lstat(path, &sb))
			continue;
		if (S_ISDIR(sb.st_mode))
			clone_locks_find(path, depth + 1, l, n);
		else if (len > 5 && !strcmp(e->d_name + len - 5, ".lock"))
			clone_lock_add(l, n, path);
	}
	closedir(d);
}

/* Whether lock l is still the very file judged, unchanged: same inode,
 * size and modification time. */
static int clone_lock_same(const clone_lock *l, const struct stat *now)
{
	return now->st_ino == l->sb.st_ino && now->st_dev == l->sb.st_dev &&
	       now->st_size == l->sb.st_size && now->st_mtim.tv_sec == l->sb.st_mtim.tv_sec &&
	       now->st_mtim.tv_nsec == l->sb.st_mtim.tv_nsec;
}

/* Move lock l out of the way into the clone's coordsync directory, check
 * that it is the file judged (a new lock cannot be made while it exists,
 * so only a racing owner can have replaced it; that one is put back), and
 * delete it.  0 when removed. */
static int clone_lock_remove(cs_ctx *ctx, const clone_lock *l)
{
	char aside[PATH_MAX];
	struct stat moved;

	snprintf(aside, sizeof aside, "%scoordsync/stale-lock.%ld", ctx->gitdir, (long)getpid());
	if (rename(l->path, aside)) {
		ctx_notice(ctx, "cannot remove the stale lock '%s': %s", l->path, strerror(errno));
		return -1;
	}
	if (lstat(aside, &moved) || !clone_lock_same(l, &moved)) {
		if (link(aside, l->path) && errno != EEXIST)
			ctx_notice(ctx, "could not put back '%s': %s", l->path, strerror(errno));
		unlink(aside);
		return -1;
	}
	unlink(aside);
	return 0;
}

void worktree_locks_clear(cs_ctx *ctx)
{
	static const char *const top[] = {"HEAD.lock", "FETCH_HEAD.lock", "packed-refs.lock",
					  "config.lock", NULL};
	long long bound = cs_config_num(ctx, "stalelock", 30);
	struct timespec ts = {0, 50 * 1000 * 1000};
	char path[PATH_MAX], real[PATH_MAX], comm[64];
	time_t now = time(NULL);
	clone_lock *l;
	int n = 0, watch = 0;
	long pid;

	if (!ctx->gitdir || !(l = calloc(CLONE_LOCKS_MAX, sizeof *l)))
		return;
	for (int i = 0; top[i]; i++) {
		snprintf(path, sizeof path, "%s%s", ctx->gitdir, top[i]);
		clone_lock_add(l, &n, path);
	}
	snprintf(path, sizeof path, "%srefs", ctx->gitdir);
	clone_locks_find(path, 0, l, &n);
	/* A lock some process has open is its holder's, however old: a git
	 * working in the clone does not take coordsync's lock. */
	for (int i = 0; i < n; i++) {
		long long age = (long long)(now - l[i].sb.st_mtime);
		l[i].keep = 1;
		if (!realpath(l[i].path, real)) {
			continue;          /* gone already */
		} else if ((pid = proc_open_by(real)) > 0) {
			proc_name(pid, comm, sizeof comm);
			ctx_notice(ctx, "'%s' is open in process %ld (%s) on this machine; left alone:"
				  " what must write it fails until it is gone", l[i].path, pid, comm);
		} else if (pid < 0) {
			ctx_notice(ctx, "'%s' is there (%llds old) and /proc cannot be read to tell whether"
				  " a process holds it; left alone: remove it by hand once no git works in"
				  " the clone", l[i].path, age);
		} else if (bound <= 0) {
			ctx_notice(ctx, "'%s' is %llds old and open in no process on this machine;"
				  " coordsync.stalelock is 0: remove it by hand if it is stale",
				  l[i].path, age);
		} else {
			l[i].keep = 0;
			l[i].young = age < bound;
			watch |= l[i].young;
		}
	}
	/* A young one: a git between writing and renaming it changes or
	 * removes it well within the watch; a killed writer's stays as it is. */
	for (int t = 0; watch && t < CLONE_LOCK_WATCH_MS / 50; t++) {
		nanosleep(&ts, NULL);
		watch = 0;
		for (int i = 0; i < n; i++) {
			struct stat sb;
			if (l[i].keep || !l[i].young)
				continue;
			if (lstat(l[i].path, &sb) || !clone_lock_same(&l[i], &sb))
				l[i].keep = 1;     /* its writer is at work: its own */
			else
				watch = 1;
		}
	}
	for (int i = 0; i < n; i++) {
		long long age = (long long)(time(NULL) - l[i].sb.st_mtime);
		if (l[i].keep)
			continue;
		/* Opened while watched (by a reader): its holder's after all. */
		if (l[i].young && (!realpath(l[i].path, real) || proc_open_by(real) != 0))
			continue;
		if (!clone_lock_remove(ctx, &l[i]))
			ctx_notice(ctx, "removed the stale lock '%s' (%llds old, open in no process on this"
				  " machine%s), left by a coordsync or git killed while it wrote the clone",
				  l[i].path, age, l[i].young ? ", unchanged for 2 s" : "");
	}
	free(l);
}

/* ---- the working tree -------------------------------------------------------------- */

/* 1 when every component of path is a plain name: not empty, ".", ".." or
 * ".git", and free of control characters.  A tree can hold anything. */
static int plain_path(const char *path)
{
	const char *p = path;
	while (*p) {
		size_t n = strcspn(p, "/");
		if (!n || (n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2)) ||
		    (n == 4 && !strncasecmp(p, ".git", 4)))
			return 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return 0;
		p += n;
		if (*p == '/' && !*++p)
			return 0;
	}
	return p != path;
}

/* 1 when blob id is over ctx->max_file (from its header; 0 if unknown). */
static int over_limit(cs_ctx *ctx, const git_oid *id)
{
	git_object_t type;
	size_t size = 0;
	int over = !tree_object_header(ctx, id, &size, &type) &&
		   (unsigned long long)size > (unsigned long long)ctx->max_file;
	git_error_clear();
	return over;
}

/* Remove the regular file dir/path (path plain), unless a directory on the
 * way is not a real one (a symbolic link could lead out of the clone). */
static void remove_file(const char *dir, const char *path)
{
	sbuf p = {0};
	struct stat st;
	sb_puts(&p, dir);
	for (const char *c = path; !p.oom;) {
		size_t n = strcspn(c, "/");
		sb_put(&p, c, n);
		if (p.oom || lstat(p.p, &st))
			break;
		if (!c[n]) {
			if (S_ISREG(st.st_mode))
				unlink(p.p);
			break;
		}
		if (!S_ISDIR(st.st_mode))
			break;
		sb_putc(&p, '/');
		c += n + 1;
	}
	sb_free(&p);
}

/* 1 when the working tree's path still holds what f (absent: no such file)
 * holds, or nothing at all: its stat data matches the index entry, else its
 * bytes match the blob.  A file edited by hand is left as it is. */
static int unchanged_on_disk(cs_ctx *ctx, git_index *index, const char *full, const char *path,
			     const git_diff_file *f)
{
	const git_index_entry *ie;
	struct stat st, ix;
	git_blob *b = NULL;
	char *buf = NULL;
	FILE *in;
	int same = 0;

	/* A missing file is written again (as a checkout that recreates
	 * missing files would): a file too big to write was removed so. */
	if (lstat(full, &st))
		return errno == ENOENT;
	if (!(f->flags & GIT_DIFF_FLAG_EXISTS) || !S_ISREG(st.st_mode))
		return 0;
	/* The stat data is trusted only for a file older than the index (git's
	 * "racy" rule: a file changed in the same tick as the index was
	 * written looks unchanged). */
	ie = git_index_get_bypath(index, path, 0);
	if (ie && !git_oid_cmp(&ie->id, &f->id) && ie->file_size == (uint32_t)st.st_size &&
	    ie->mtime.seconds == (int32_t)st.st_mtim.tv_sec &&
	    ie->mtime.nanoseconds == (uint32_t)st.st_mtim.tv_nsec && ie->ino == (uint32_t)st.st_ino &&
	    !lstat(git_index_path(index), &ix) &&
	    (st.st_mtim.tv_sec < ix.st_mtim.tv_sec ||
	     (st.st_mtim.tv_sec == ix.st_mtim.tv_sec && st.st_mtim.tv_nsec < ix.st_mtim.tv_nsec)))
		return 1;
	/* Stat data says nothing (a racy or a touched file): compare bytes. */
	if (git_blob_lookup(&b, ctx->repo, &f->id) || (git_object_size_t)st.st_size != git_blob_rawsize(b) ||
	    !(buf = malloc((size_t)st.st_size + 1)) || !(in = fopen(full, "rb"))) {
		git_error_clear();
		goto done;
	}
	same = fread(buf, 1, (size_t)st.st_size, in) == (size_t)st.st_size &&
	       !memcmp(buf, git_blob_rawcontent(b), (size_t)st.st_size);
	fclose(in);
done:
	free(buf);
	git_blob_free(b);
	return same;
}

/* Point the index entry of path at f (removing it when f is absent), with
 * the stat data of the file written, or none (git then looks at the file). */
static int index_put(cs_ctx *ctx, git_index *index, const char *path, const git_diff_file *f,
		     const struct stat *st)
{
	git_index_entry ie;

	if (!(f->flags & GIT_DIFF_FLAG_EXISTS)) {
		if (git_index_remove_bypath(index, path))
			return ctx_err_git(ctx, "cannot update the index");
		return CS_OK;
	}
	memset(&ie, 0, sizeof ie);
	ie.path = path;
	ie.mode = f->mode;
	git_oid_cpy(&ie.id, &f->id);
	if (st) {
		ie.file_size = (uint32_t)st->st_size;
		ie.ctime.seconds = (int32_t)st->st_ctim.tv_sec;
		ie.ctime.nanoseconds = (uint32_t)st->st_ctim.tv_nsec;
		ie.mtime.seconds = (int32_t)st->st_mtim.tv_sec;
		ie.mtime.nanoseconds = (uint32_t)st->st_mtim.tv_nsec;
		ie.dev = (uint32_t)st->st_dev;
		ie.ino = (uint32_t)st->st_ino;
		ie.uid = (uint32_t)st->st_uid;
		ie.gid = (uint32_t)st->st_gid;
	}
	if (git_index_add(index, &ie))
		return ctx_err_git(ctx, "cannot update the index");
	return CS_OK;
}

/* Write blob id to the working tree's path (through a temporary file and a
 * rename) and record it in the index with the new file's stat data. */
static int put_worktree_file(cs_ctx *ctx, git_index *index, char *full, const char *path,
			     const git_diff_file *f)
{
	git_blob *b = NULL;
	struct stat st;
	const char *data;
	char tmp[4200];
	size_t len;
	FILE *out;
	int rc = CS_OK, bad;

	if (!(data = texts_blob_text(ctx, &f->id, &len))) {
		if (git_blob_lookup(&b, ctx->repo, &f->id))
			return ctx_err_git(ctx, path);
		data = git_blob_rawcontent(b);
		len = (size_t)git_blob_rawsize(b);
	}
	for (char *slash = strchr(full + strlen(ctx->workdir), '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = 0;
		if (mkdir(full, 0755) && errno != EEXIST)
			rc = ctx_err(ctx, CS_ERROR, "cannot create %s: %s", full, strerror(errno));
		*slash = '/';
		if (rc)
			goto done;
	}
	snprintf(tmp, sizeof tmp, "%s.coordsync-%ld", full, (long)getpid());
	if (!(out = fopen(tmp, "wb"))) {
		rc = ctx_err(ctx, CS_ERROR, "cannot write %s: %s", tmp, strerror(errno));
		goto done;
	}
	bad = (fwrite(data, 1, len, out) != len) | fclose(out) ||
	      chmod(tmp, f->mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
	if (!bad) {
		FAULT_AT("checkout-tmp");
		bad = util_replace_file(tmp, full) || lstat(full, &st);
	}
	if (bad) {
		rc = ctx_err(ctx, CS_ERROR, "cannot write %s: %s", full, strerror(errno));
		unlink(tmp);
		goto done;
	}
	FAULT_AT("checkout-file");
	rc = index_put(ctx, index, path, f, &st);
done:
	git_blob_free(b);
	return rc;
}

static int plain_file(const git_diff_file *f)
{
	return !(f->flags & GIT_DIFF_FLAG_EXISTS) || f->mode == GIT_FILEMODE_BLOB ||
	       f->mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

/* 1 when every directory on path's way in dir is a real directory or not
 * there yet: never follow a symbolic link out of the clone. */
static int real_dirs(const char *dir, const char *path)
{
	char p[4096];
	struct stat st;
	for (const char *c = strchr(path, '/'); c; c = strchr(c + 1, '/')) {
		snprintf(p, sizeof p, "%s%.*s", dir, (int)(c - path), path);
		if (lstat(p, &st))
			return errno == ENOENT;
		if (!S_ISDIR(st.st_mode))
			return 0;
	}
	return 1;
}

/* ---- self-repair of the working tree and the index --------------------------------- */
/* Before the working-tree update writes anything it lists, in the journal
 * gitdir/coordsync/checkout, every path of its diff with the blob the path
 * had and the one it gets ("-": absent), one "OLD NEW PATH" line each (a
 * plain path holds no newline).  The journal goes once the local branch is
 * moved.  A journal found at the next update means that one was cut short:
 * a file holding either blob (or missing, or one of our temporary files)
 * is coordsync's own write and is brought back to the local branch (HEAD),
 * from where the update goes on as usual; any other content is a hand
 * edit and is kept. */

static char *journal_path(cs_ctx *ctx)
{
	sbuf p = {0};
	sb_puts(&p, ctx->gitdir);
	sb_puts(&p, "coordsync/checkout");
	return sb_detach(&p);
}

int worktree_pending(cs_ctx *ctx)
{
	char *p = journal_path(ctx);
	int there = p && !access(p, F_OK);
	free(p);
	return there;
}

/* Write the journal of diff: 1 in *wrote when it listed anything.  With
 * *wrote already set (a repair ran, its index not written yet) the lines
 * are appended: the repaired paths stay listed until the branch moves. */
static int journal_write(cs_ctx *ctx, git_diff *diff, int *wrote)
{
	sbuf b = {0};
	char *path = NULL;
	char oh[GIT_OID_HEXSZ + 1], nh[GIT_OID_HEXSZ + 1];
	int fd = -1, rc = CS_OK;

	for (size_t k = 0, n = git_diff_num_deltas(diff); k < n; k++) {
		const git_diff_delta *d = git_diff_get_delta(diff, k);
		if (!plain_path(d->new_file.path))
			continue;
		git_oid_tostr(oh, sizeof oh, &d->old_file.id);
		git_oid_tostr(nh, sizeof nh, &d->new_file.id);
		sb_printf(&b, "%s %s %s\n", d->old_file.flags & GIT_DIFF_FLAG_EXISTS ? oh : "-",
			  d->new_file.flags & GIT_DIFF_FLAG_EXISTS ? nh : "-", d->new_file.path);
	}
	if (!b.n && !b.oom)
		goto done;
	if (b.oom || !(path = journal_path(ctx))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (*wrote ? O_APPEND : O_TRUNC),
		       0644)) < 0 ||
	    write(fd, b.p, b.n) != (ssize_t)b.n) {
		rc = ctx_err(ctx, CS_ERROR, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	*wrote = 1;
done:
	if (fd >= 0)
		close(fd);
	free(path);
	sb_free(&b);
	return rc;
}

static void journal_remove(cs_ctx *ctx)
{
	char *p = journal_path(ctx);
	if (p)
		unlink(p);
	free(p);
}

/* 1 when the regular file full holds exactly the bytes of blob id. */
static int holds_blob(cs_ctx *ctx, const char *full, const git_oid *id)
{
	git_object_t type;
	struct stat st;
	size_t size = 0;
	char *buf = NULL;
	git_blob *b = NULL;
	FILE *in = NULL;
	int same = 0;

	if (lstat(full, &st) || !S_ISREG(st.st_mode) || tree_object_header(ctx, id, &size, &type) ||
	    (size_t)st.st_size != size || git_blob_lookup(&b, ctx->repo, id) ||
	    !(buf = malloc(size + 1)) || !(in = fopen(full, "rb")))
		goto done;
	same = fread(buf, 1, size, in) == size && !memcmp(buf, git_blob_rawcontent(b), size);
done:
	git_error_clear();
	if (in)
		fclose(in);
	free(buf);
	git_blob_free(b);
	return same;
}

/* Remove dir/NAME.coordsync-* (the temporary files put_worktree_file makes
 * for full = dir/NAME): a killed write leaves one behind. */
static void remove_temps(const char *full)
{
	const char *slash = strrchr(full, '/');
	char dir[4096], name[4096];
	struct dirent *e;
	struct stat st;
	size_t n;
	DIR *d;

	if (!slash || (size_t)(slash - full) >= sizeof dir)
		return;
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - full), full);
	n = (size_t)snprintf(name, sizeof name, "%s.coordsync-", slash + 1);
	if (n >= sizeof name || !(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		char p[8400];
		if (strncmp(e->d_name, name, n))
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (!lstat(p, &st) && S_ISREG(st.st_mode))
			unlink(p);
	}
	closedir(d);
}

/* Bring back every path of the journal that holds coordsync's own write to
 * what head (the local branch's tree, NULL for none) has, in the working
 * tree and in index (not written here); hand edits stay, with the index
 * at head.  The journal itself goes with the local branch's move. */
static int checkout_repair(cs_ctx *ctx, git_index *index, git_tree *head)
{
	char *jp = journal_path(ctx), *text = NULL;
	int rc = CS_OK, fixed = 0, kept = 0;
	struct stat st;
	FILE *in = NULL;

	if (!jp)
		return ctx_err_oom(ctx);
	if (!(in = fopen(jp, "rb"))) {
		if (errno != ENOENT)
			rc = ctx_err(ctx, CS_ERROR, "cannot read '%s': %s", jp, strerror(errno));
		goto done;
	}
	/* A journal lists the files of one update: a few lines. */
	if (fstat(fileno(in), &st) || st.st_size > (1 << 24) ||
	    !(text = calloc(1, (size_t)st.st_size + 1)) ||
	    fread(text, 1, (size_t)st.st_size, in) != (size_t)st.st_size) {
		rc = ctx_err(ctx, CS_ERROR, "cannot read '%s'", jp);
		goto done;
	}
	for (char *line = text, *nl; !rc && (nl = strchr(line, '\n')); line = nl + 1) {
		git_oid ids[2];
		int has[2];
		char full[4096];
		const char *path;
		git_tree_entry *e = NULL;
		git_diff_file f;
		int ours;

		*nl = 0;   /* a line cut short by the kill has no newline: skipped */
		for (int i = 0; i < 2; i++) {
			has[i] = line[0] != '-';
			if (has[i] ? git_oid_fromstrn(&ids[i], line, GIT_OID_HEXSZ) ||
					     line[GIT_OID_HEXSZ] != ' '
				   : line[1] != ' ')
				break;
			line += has[i] ? GIT_OID_HEXSZ + 1 : 2;
			if (i == 1)
				goto parsed;
		}
		git_error_clear();
		continue;
parsed:
		path = line;
		if (!plain_path(path) || !real_dirs(ctx->workdir, path) ||
		    (size_t)snprintf(full, sizeof full, "%s%s", ctx->workdir, path) >= sizeof full)
			continue;
		remove_temps(full);
		ours = lstat(full, &st) ? errno == ENOENT
					: (has[0] && holds_blob(ctx, full, &ids[0])) ||
					  (has[1] && holds_blob(ctx, full, &ids[1]));
		memset(&f, 0, sizeof f);
		if (head && !git_tree_entry_bypath(&e, head, path)) {
			git_oid_cpy(&f.id, git_tree_entry_id(e));
			f.mode = git_tree_entry_filemode(e);
			f.flags = GIT_DIFF_FLAG_EXISTS;
			f.path = path;
		}
		git_tree_entry_free(e);
		git_error_clear();
		if (!plain_file(&f)) {
			kept++;    /* not ours to write: left as it is */
		} else if (!ours) {
			kept++;    /* a hand edit: the index shows it against HEAD */
			rc = index_put(ctx, index, path, &f, NULL);
		} else if ((f.flags & GIT_DIFF_FLAG_EXISTS) && !over_limit(ctx, &f.id)) {
			fixed++;
			rc = put_worktree_file(ctx, index, full, path, &f);
		} else {
			fixed++;
			if (unlink(full) && errno != ENOENT)
				rc = ctx_err(ctx, CS_ERROR, "cannot remove %s: %s", full, strerror(errno));
			else
				rc = index_put(ctx, index, path, &f, NULL);
		}
	}
	if (!rc)
		ctx_notice(ctx, "repaired a working-tree update that was cut short: %d file%s of"
			  " coordsync's brought back to HEAD, %d hand edit%s kept", fixed,
			  fixed == 1 ? "" : "s", kept, kept == 1 ? "" : "s");
done:
	if (in)
		fclose(in);
	free(text);
	free(jp);
	return rc;
}

/* An update cut short while libgit2 wrote the index leaves index.lock, and
 * every later index write fails on it.  With the journal there (the update
 * was cut short), a lock made no earlier than the journal and open in no
 * process on this machine (libgit2 and git keep it open while they hold
 * it) is that update's, and is removed; any other is left to its owner. */
static void index_lock_clear(cs_ctx *ctx)
{
	char lock[PATH_MAX], real[PATH_MAX], *jp = journal_path(ctx);
	struct stat ls, js;

	snprintf(lock, sizeof lock, "%sindex.lock", ctx->gitdir);
	if (jp && !lstat(lock, &ls) && S_ISREG(ls.st_mode) && !stat(jp, &js) &&
	    (ls.st_mtim.tv_sec > js.st_mtim.tv_sec ||
	     (ls.st_mtim.tv_sec == js.st_mtim.tv_sec && ls.st_mtim.tv_nsec >= js.st_mtim.tv_nsec)) &&
	    realpath(lock, real) && proc_open_by(real) == 0 && !unlink(lock))
		ctx_notice(ctx, "removed '%s', left by a working-tree update that was cut short", lock);
	free(jp);
}

/* The clone's index, read; one that cannot be read (damaged, cut short) is
 * set aside as gitdir/index.damaged and rebuilt from head (NULL: empty),
 * without stat data, so that git compares every file again and shows hand
 * edits as modifications. */
static int index_open(cs_ctx *ctx, git_index **out, git_tree *head)
{
	const git_error *e;
	char why[512], *path = NULL, *aside = NULL;
	sbuf a = {0}, b = {0};
	int rc = CS_OK;

	if (!git_repository_index(out, ctx->repo) && !git_index_read(*out, 0))
		return CS_OK;
	e = git_error_last();
	snprintf(why, sizeof why, "%s", e && e->message ? e->message : "cannot be read");
	git_error_clear();
	sb_puts(&a, ctx->gitdir);
	sb_puts(&a, "index");
	sb_puts(&b, ctx->gitdir);
	sb_puts(&b, "index.damaged");
	if (!(path = sb_detach(&a)) || !(aside = sb_detach(&b))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if (rename(path, aside) && errno != ENOENT) {
		rc = ctx_err(ctx, CS_ERROR, "cannot set aside the damaged index '%s': %s", path,
			    strerror(errno));
		goto done;
	}
	if ((!*out && git_repository_index(out, ctx->repo)) || git_index_read(*out, 1) ||
	    (head && git_index_read_tree(*out, head))) {
		rc = ctx_err_git(ctx, "cannot rebuild the index");
		goto done;
	}
	ctx_notice(ctx, "the index '%s' was damaged (%s): set aside as '%s' and rebuilt from HEAD",
		  path, why, aside);
done:
	sb_free(&a);
	sb_free(&b);
	free(path);
	free(aside);
	return rc;
}

/* Bring the working tree and the index from tree `from` to tree `to`, file
 * by file, leaving alone every file that no longer holds what `from` has:
 * what a safe checkout promises, without hashing every file again (libgit2's
 * checkout re-hashes a file the size of jobs.json on every decision). */
static int worktree_update(cs_ctx *ctx, git_tree *from, git_tree *to, int *journaled)
{
	git_diff *diff = NULL;
	git_index *index = NULL;
	char full[4096];
	int rc = CS_OK;

	if ((rc = index_open(ctx, &index, from)))
		goto done;
	if (worktree_pending(ctx)) {
		*journaled = 1;
		index_lock_clear(ctx);
		if ((rc = checkout_repair(ctx, index, from)))
			goto done;
	}
	if (git_diff_tree_to_tree(&diff, ctx->repo, from, to, NULL)) {
		rc = ctx_err_git(ctx, "cannot compare trees");
		goto done;
	}
	if ((rc = journal_write(ctx, diff, journaled)))
		goto done;
	FAULT_AT("checkout-journal");
	/* Removals first: a file that becomes a directory, or the reverse,
	 * needs its old self gone before its new self is written. */
	for (size_t k = 0, n = git_diff_num_deltas(diff); k < 2 * n && !rc; k++) {
		const git_diff_delta *d = git_diff_get_delta(diff, k % n);
		const char *path = d->new_file.path;
		if ((d->status == GIT_DELTA_DELETED) != (k < n))
			continue;
		/* Links and submodules are not ours; nor is a path with "..",
		 * ".git" or control characters in it (a tree can hold anything),
		 * nor one whose directories are not real ones. */
		if (!plain_file(&d->old_file) || !plain_file(&d->new_file) || !plain_path(path) ||
		    !real_dirs(ctx->workdir, path))
			continue;
		snprintf(full, sizeof full, "%s%s", ctx->workdir, path);
		if ((d->new_file.flags & GIT_DIFF_FLAG_EXISTS) && over_limit(ctx, &d->new_file.id)) {
			/* Not written (it would be read whole): the old copy goes,
			 * and the next version that fits is written again. */
			if (unchanged_on_disk(ctx, index, full, path, &d->old_file))
				remove_file(ctx->workdir, path);
			rc = index_put(ctx, index, path, &d->new_file, NULL);
			continue;
		}
		if (!unchanged_on_disk(ctx, index, full, path, &d->old_file)) {
			/* Keep the file; the index follows the tree, with no stat
			 * data, so git status shows the edit against the new head. */
			rc = index_put(ctx, index, path, &d->new_file, NULL);
			continue;
		}
		if (d->status != GIT_DELTA_DELETED) {
			rc = put_worktree_file(ctx, index, full, path, &d->new_file);
		} else if (unlink(full) && errno != ENOENT) {
			rc = ctx_err(ctx, CS_ERROR, "cannot remove %s: %s", full, strerror(errno));
		} else if (!(rc = index_put(ctx, index, path, &d->new_file, NULL))) {
			char *slash = strrchr(full, '/');
			if (slash && slash > full + strlen(ctx->workdir)) {
				*slash = 0;
				rmdir(full);   /* when empty */
			}
		}
	}
	if (!rc)
		FAULT_AT("checkout-index");
	if (!rc && git_index_write(index))
		rc = ctx_err_git(ctx, "cannot write the index");
done:
	git_diff_free(diff);
	git_index_free(index);
	return rc;
}

/* Whether HEAD already names branch ref name: then setting it again would
 * only lock, rewrite and log HEAD, on every decision. */
static int head_names(git_repository *repo, const char *name)
{
	git_reference *h = NULL;
	int same = !git_reference_lookup(&h, repo, "HEAD") &&
		   git_reference_type(h) == GIT_REFERENCE_SYMBOLIC &&
		   !strcmp(git_reference_symbolic_target(h), name);
	git_reference_free(h);
	git_error_clear();
	return same;
}

int worktree_move(cs_ctx *ctx, const git_oid *head)
{
	git_reference *ref = NULL;
	git_commit *old = NULL, *c = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_oid oldid;
	char name[256];
	int rc = CS_OK, journaled = 0;

	snprintf(name, sizeof name, "refs/heads/%s", ctx->branch);
	if (git_commit_lookup(&c, ctx->repo, head) || git_commit_tree(&tree, c)) {
		rc = ctx_err_git(ctx, "cannot read commit");
		goto done;
	}
	/* From the local branch's tree; with none yet, from nothing. */
	if (!git_reference_name_to_id(&oldid, ctx->repo, name) &&
	    !git_commit_lookup(&old, ctx->repo, &oldid))
		git_commit_tree(&base, old);
	git_error_clear();
	if ((rc = worktree_update(ctx, base, tree, &journaled)))
		goto done;
	FAULT_AT("checkout-ref");
	if (git_reference_create(&ref, ctx->repo, name, head, 1, "coordsync: sync") ||
	    (!head_names(ctx->repo, name) && git_repository_set_head(ctx->repo, name)))
		rc = ctx_err_git(ctx, "cannot update local branch");
	else if (journaled)
		journal_remove(ctx);
done:
	git_tree_free(base);
	git_tree_free(tree);
	git_commit_free(old);
	git_commit_free(c);
	git_reference_free(ref);
	return rc;
}
