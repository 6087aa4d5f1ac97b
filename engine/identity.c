/* Who this clone is: its instance id, one per clone, written into its
 * server's heartbeat.json so that two clones using one server id show up
 * (health's `duplicate` check; see docs/RELIABILITY.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "ctx.h"
#include "util.h"
#include "db.h"
#include "identity.h"

/* The file is "UUID INODE\n": the inode it was written at.  A copy of the
 * clone (cp -r, an image of the machine) has the file at another inode,
 * and takes a new id instead of sharing the original's. */
static int read_instance(const char *path, char out[37])
{
	char buf[128];
	unsigned long long ino = 0;
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	out[0] = 0;
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	if (n <= 0 || fstat(fd, &sb)) {
		close(fd);
		return -1;
	}
	close(fd);
	buf[n] = 0;
	if (n < 38 || buf[36] != ' ' || sscanf(buf + 37, "%llu", &ino) != 1 ||
	    ino != (unsigned long long)sb.st_ino)
		return -1;
	memcpy(out, buf, 36);
	out[36] = 0;
	for (int i = 0; i < 36; i++)
		if (!strchr("0123456789abcdef-", out[i]))
			return out[0] = 0, -1;
	return 0;
}

static int write_instance(cs_ctx *ctx, const char *path, char out[37])
{
	char tmp[4200], line[80], *id = util_uuid();
	struct stat sb;
	int fd = -1, rc = CS_OK, len;

	if (!id)
		return ctx_err_oom(ctx);
	if (snprintf(tmp, sizeof tmp, "%.4096s.%ld.tmp", path, (long)getpid()) >= (int)sizeof tmp) {
		free(id);
		return ctx_err(ctx, CS_ERROR, "path too long: '%s'", path);
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 || fstat(fd, &sb)) {
		rc = ctx_err(ctx, CS_ERROR, "cannot write '%s': %s", tmp, strerror(errno));
		goto done;
	}
	len = snprintf(line, sizeof line, "%s %llu\n", id, (unsigned long long)sb.st_ino);
	if (write(fd, line, (size_t)len) != len || fsync(fd))
		rc = ctx_err(ctx, CS_ERROR, "cannot write '%s': %s", tmp, strerror(errno));
	else if (link(tmp, path))     /* never replaces an id another process made */
		rc = errno == EEXIST ? CS_OK : ctx_err(ctx, CS_ERROR, "cannot create '%s': %s", path,
						       strerror(errno));
done:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(id);
	if (!rc && read_instance(path, out))
		rc = ctx_err(ctx, CS_ERROR, "cannot read the instance id in '%s'", path);
	return rc;
}

int identity_instance(cs_ctx *ctx, char out[37], int create)
{
	char path[4096];
	int rc;

	out[0] = 0;
	if (snprintf(path, sizeof path, "%scoordsync/instance", ctx->gitdir) >= (int)sizeof path)
		return ctx_err(ctx, CS_ERROR, "path too long: '%s'", ctx->gitdir);
	if (!read_instance(path, out) || !create)
		return CS_OK;
	/* None, or a copy's (its inode differs), or damaged: a new id.  A
	 * copy's file is removed first; link() then creates it or finds the
	 * one a concurrent process just made. */
	if (!access(path, F_OK) && unlink(path) && errno != ENOENT)
		return ctx_err(ctx, CS_ERROR, "cannot replace '%s': %s", path, strerror(errno));
	if ((rc = write_instance(ctx, path, out)))
		return rc;
	return CS_OK;
}

int identity_note_instances(cs_ctx *ctx)
{
	static const char sql[] =
		"INSERT INTO heartbeat_instances(server, instance, changed_at)"
		" SELECT id, json_extract(heartbeat_json, '$.instance'), NULL FROM servers"
		" WHERE json_valid(heartbeat_json)"
		" AND json_type(heartbeat_json, '$.instance') = 'text'"
		" ON CONFLICT(server) DO UPDATE SET instance = excluded.instance,"
		" previous = heartbeat_instances.instance, changes = changes + 1, changed_at = :now,"
		" flipped_at = CASE WHEN excluded.instance = heartbeat_instances.previous THEN :now"
		"   ELSE flipped_at END,"
		" foreign_at = CASE WHEN heartbeat_instances.server = :me AND"
		"   heartbeat_instances.instance = :mine THEN :now ELSE foreign_at END"
		" WHERE heartbeat_instances.instance IS NOT excluded.instance";
	sqlite3_stmt *st = NULL;
	char mine[37];
	int rc;

	if ((rc = identity_instance(ctx, mine, 0)))
		return rc;
	if (!(rc = db_prepare(ctx, &st, sql)) && !(rc = db_bind_real(ctx, st, ":now", util_now())) &&
	    !(rc = ctx->server ? db_bind_text(ctx, st, ":me", ctx->server)
			       : db_bind_null(ctx, st, ":me")) &&
	    !(rc = mine[0] ? db_bind_text(ctx, st, ":mine", mine) : db_bind_null(ctx, st, ":mine")))
		rc = db_step(ctx, st) == SQLITE_DONE ? CS_OK : CS_ERROR;
	sqlite3_finalize(st);
	return rc;
}
