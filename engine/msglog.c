/* The message log and the auto-reply log, as the seed keeps them
 * (/var/log/build-messages-<server>.log, build-auto-replies-<server>.log):
 * one line per message received and per reply sent or message marked.
 * Files on this machine only, never pushed; size-bounded and rotated.
 *
 * Which messages are logged already is kept in msglog.db beside the clone's
 * state (.git/coordsync/), a file of its own: a rebuild replaces the mirror,
 * and would otherwise log every message again.  A line is written before
 * its mark is committed, so a crash in between writes it twice, never
 * loses it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ctx.h"
#include "util.h"
#include "json_int.h"
#include "db.h"
#include "handle.h"
#include "msglog.h"

/* ---- the files ---------------------------------------------------------------- */

/* The path of log `key` (log.messages or log.autoreplies) for this server:
 * the setting (a relative one under .git/coordsync/), else
 * .git/coordsync/build-NAME-SERVER.log.  *out NULL when the setting is
 * "off".  Caller frees. */
static int log_path(cs_ctx *ctx, const char *key, const char *name, char **out)
{
	char *v = cs_config_get(ctx, key);
	sbuf b = {0};

	*out = NULL;
	if (v && !strcmp(v, "off")) {
		free(v);
		return CS_OK;
	}
	if (!v || v[0] != '/')
		sb_printf(&b, "%scoordsync/", ctx->gitdir);
	if (v)
		sb_puts(&b, v);
	else
		sb_printf(&b, "build-%s-%s.log", name, ctx->server);
	free(v);
	if (!(*out = sb_detach(&b)))
		return ctx_err_oom(ctx);
	return CS_OK;
}

/* Rotate path when adding len bytes would take it over the bound
 * (log.rotate.bytes): path.N-1 becomes path.N ... path becomes path.1,
 * keeping log.rotate.keep old files (0: none; the file starts again). */
static int log_rotate(cs_ctx *ctx, const char *path, size_t len)
{
	long long max = cs_config_num(ctx, "log.rotate.bytes", 1048576);
	long long keep = cs_config_num(ctx, "log.rotate.keep", 5);
	struct stat sb;
	sbuf from = {0}, to = {0};
	int rc = CS_OK;

	if (stat(path, &sb) || sb.st_size == 0 || (long long)sb.st_size + (long long)len <= max)
		return CS_OK;
	for (long long i = keep; i >= 1 && !rc; i--) {
		from.n = to.n = 0;
		if (i > 1)
			sb_printf(&from, "%s.%lld", path, i - 1);
		else
			sb_puts(&from, path);
		sb_printf(&to, "%s.%lld", path, i);
		if (from.oom || to.oom)
			rc = ctx_err_oom(ctx);
		else if (rename(from.p, to.p) && errno != ENOENT)
			rc = ctx_err(ctx, CS_ERROR, "cannot rotate '%s': %s", from.p, strerror(errno));
	}
	if (!rc && !keep && truncate(path, 0))
		rc = ctx_err(ctx, CS_ERROR, "cannot rotate '%s': %s", path, strerror(errno));
	sb_free(&from);
	sb_free(&to);
	return rc;
}

/* Append text (whole lines) to log path, rotating it first when due. */
static int log_append(cs_ctx *ctx, const char *path, const sbuf *text)
{
	int fd, rc;
	ssize_t w = 0;

	if (!text->n)
		return CS_OK;
	if ((rc = log_rotate(ctx, path, text->n)))
		return rc;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return ctx_err(ctx, CS_ERROR, "cannot open the log '%s': %s", path, strerror(errno));
	for (size_t off = 0; off < text->n && w >= 0; off += (size_t)w)
		if ((w = write(fd, text->p + off, text->n - off)) < 0 && errno == EINTR)
			w = 0;
	rc = w < 0 ? ctx_err(ctx, CS_ERROR, "cannot write the log '%s': %s", path, strerror(errno))
		   : CS_OK;
	if (close(fd) && !rc)
		rc = ctx_err(ctx, CS_ERROR, "cannot write the log '%s': %s", path, strerror(errno));
	return rc;
}

/* ---- the line ------------------------------------------------------------------ */

/* The code point of the UTF-8 sequence at s, its length in *len; -1 and
 * *len = 1 when s does not start a valid, shortest-form sequence. */
static long utf8_at(const unsigned char *s, int *len)
{
	int n = *s < 0x80 ? 1 : (*s & 0xE0) == 0xC0 ? 2 : (*s & 0xF0) == 0xE0 ? 3 : (*s & 0xF8) == 0xF0 ? 4 : 0;
	long cp = n == 1 ? *s : n == 2 ? (*s & 0x1F) : n == 3 ? (*s & 0x0F) : (*s & 0x07);
	*len = 1;
	if (!n)
		return -1;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	*len = n;
	return cp;
}

/* " key=value": remote text is data, so a value is written bare only when
 * it is printable ASCII without '"' or a space (an id, a server, a type,
 * JSON text without spaces) and quote is 0; else in double quotes, escaped
 * as the command line escapes text (cli/format.c): \" \\ \n \r \t; other
 * C0 controls, DEL and bytes that are not UTF-8 as \xNN; C1 controls and
 * the characters that move lines or reorder text as \uXXXX. */
static void put_kv(sbuf *b, const char *key, const char *v, int quote)
{
	const unsigned char *s = (const unsigned char *)(v ? v : "");
	int bare = !quote && *s && *s != '"', len;
	for (const unsigned char *p = s; bare && *p; p++)
		bare = *p > 0x20 && *p < 0x7f;
	sb_printf(b, " %s=", key);
	if (bare) {
		sb_puts(b, (const char *)s);
		return;
	}
	sb_putc(b, '"');
	for (const unsigned char *p = s; *p; p += len) {
		long cp = utf8_at(p, &len);
		if (cp == '"' || cp == '\\')
			sb_printf(b, "\\%c", (int)cp);
		else if (cp == '\n')
			sb_puts(b, "\\n");
		else if (cp == '\r')
			sb_puts(b, "\\r");
		else if (cp == '\t')
			sb_puts(b, "\\t");
		else if (cp < 0 || cp < 0x20 || cp == 0x7f)
			sb_printf(b, "\\x%02X", *p);
		else if ((cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == 0x200E ||
			 cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
			 (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF)
			sb_printf(b, "\\u%04lX", cp);
		else
			sb_put(b, (const char *)p, (size_t)len);
	}
	sb_putc(b, '"');
}

static void put_now(sbuf *b, const char *what)
{
	char iso[32];
	util_time_iso(util_now(), iso);
	sb_printf(b, "%s %s", iso, what);
}

/* ---- messages received ------------------------------------------------------- */

static int received(cs_ctx *ctx, const char *path, sbuf *out)
{
	sqlite3_stmt *st = NULL;
	char *blob = NULL, *seen = NULL, key[96];
	int rc;

	/* Nothing changed in messages.json since the last pass: nothing new. */
	snprintf(key, sizeof key, "seen:%s", ctx->server);
	if ((rc = db_text(ctx, &blob, "SELECT blob FROM files WHERE path=:a", "coordination/messages.json")))
		return rc;
	if (!blob)
		return CS_OK;
	if ((rc = db_text(ctx, &seen, "SELECT v FROM msglog.meta WHERE k=:a", key)))
		goto done;
	if (seen && !strcmp(seen, blob))
		goto done;
	/* The first pass for a server: what it has read already was received
	 * before the log existed, and is taken as logged without a line. */
	if (!seen && (rc = DB_RUN(ctx, "INSERT OR IGNORE INTO msglog.logged(server, id)"
				       " SELECT :s, m.id FROM messages m WHERE (m.to_server = :s OR"
				       " (m.to_server = 'all' AND m.from_server IS NOT :s)) AND NOT EXISTS"
				       " (SELECT 1 FROM message_unread u WHERE u.id = m.id AND u.server ="
				       "  coalesce((SELECT id FROM message_servers WHERE id = :s), ''))",
				  DB_TEXT(":s", ctx->server))) < 0)
		goto done;
	/* fields: the typed ones (msg send --set), as msg_inbox shows them */
	if ((rc = db_prepare(ctx, &st, "SELECT m.id, m.from_server, m.to_server, m.type, m.subject,"
			     " m.body, m.timestamp, (SELECT json_group_object(j.key, j.value) FROM"
			     " json_each(m.json) AS j WHERE j.key NOT IN ('id', 'from', 'to', 'type',"
			     " 'subject', 'body', 'timestamp', 'read', 'read_by', 'in_reply_to'))"
			     " FROM messages m WHERE (m.to_server = :s OR (m.to_server = 'all' AND"
			     " m.from_server IS NOT :s)) AND NOT EXISTS (SELECT 1 FROM msglog.logged l"
			     " WHERE l.server = :s AND l.id = m.id) ORDER BY m.timestamp, m.ord")) ||
	    (rc = db_bind_text(ctx, st, ":s", ctx->server)))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		const char *fields = (const char *)sqlite3_column_text(st, 7);
		char iso[32];
		put_now(out, "received");
		put_kv(out, "id", (const char *)sqlite3_column_text(st, 0), 0);
		put_kv(out, "from", (const char *)sqlite3_column_text(st, 1), 0);
		put_kv(out, "to", (const char *)sqlite3_column_text(st, 2), 0);
		put_kv(out, "type", (const char *)sqlite3_column_text(st, 3), 0);
		if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
			util_time_iso(sqlite3_column_double(st, 6), iso);
			put_kv(out, "sent", iso, 0);
		}
		put_kv(out, "subject", (const char *)sqlite3_column_text(st, 4), 1);
		if (sqlite3_column_type(st, 5) != SQLITE_NULL)
			put_kv(out, "body", (const char *)sqlite3_column_text(st, 5), 1);
		if (fields && strcmp(fields, "{}"))
			put_kv(out, "fields", fields, 0);
		sb_putc(out, '\n');
	}
	if (rc != SQLITE_DONE)
		goto done;
	sqlite3_finalize(st);
	st = NULL;
	if (out->oom) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if ((rc = log_append(ctx, path, out)))
		goto done;
	rc = DB_RUN(ctx, "INSERT OR IGNORE INTO msglog.logged(server, id) SELECT :s, m.id FROM"
			 " messages m WHERE m.to_server = :s OR (m.to_server = 'all' AND"
			 " m.from_server IS NOT :s)", DB_TEXT(":s", ctx->server));
	if (rc >= 0)
		rc = DB_RUN(ctx, "INSERT OR REPLACE INTO msglog.meta(k, v) VALUES(:k, :v)",
			    DB_TEXT(":k", key), DB_TEXT(":v", blob));
	rc = rc < 0 ? rc : CS_OK;
done:
	sqlite3_finalize(st);
	free(blob);
	free(seen);
	return rc;
}

/* Attach msglog.db (made when missing) as "msglog", in a transaction. */
static int marks_open(cs_ctx *ctx)
{
	char *path = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	if (!(path = handle_join(ctx->gitdir, "coordsync/msglog.db")))
		return ctx_err_oom(ctx);
	if (!(rc = db_prepare(ctx, &st, "ATTACH :a AS msglog")) && !(rc = db_bind_text(ctx, st, ":a", path)))
		rc = db_step(ctx, st) == SQLITE_DONE ? CS_OK : CS_ERROR;
	sqlite3_finalize(st);
	free(path);
	if (rc)
		return rc;
	if ((rc = db_exec(ctx, "CREATE TABLE IF NOT EXISTS msglog.logged(server TEXT NOT NULL,"
			       " id TEXT NOT NULL, PRIMARY KEY(server, id)) WITHOUT ROWID;"
			       " CREATE TABLE IF NOT EXISTS msglog.meta(k TEXT PRIMARY KEY, v TEXT)")) ||
	    (rc = db_begin(ctx)))
		db_exec(ctx, "DETACH msglog");
	return rc;
}

int msglog_received(cs_ctx *ctx)
{
	char *path = NULL;
	sbuf out = {0};
	int rc;

	if (!ctx->server || !ctx->db || !ctx->gitdir)
		return CS_OK;
	if ((rc = log_path(ctx, "log.messages", "messages", &path)) || !path)
		return rc;
	if (!(rc = marks_open(ctx))) {
		if (!(rc = received(ctx, path, &out)))
			rc = db_commit(ctx);
		else
			db_rollback(ctx);
		db_exec(ctx, "DETACH msglog");
	}
	sb_free(&out);
	free(path);
	return rc;
}

void msglog_notice(cs_ctx *ctx, int rc)
{
	if (rc)
		ctx_notice(ctx, "message log: %s", ctx->err);
}

/* ---- auto-replies --------------------------------------------------------------- */

int msglog_autoreply(cs_ctx *ctx, const struct cJSON *done)
{
	char *path = NULL;
	sbuf out = {0};
	const cJSON *e;
	int rc;

	if (!ctx->server || !cJSON_GetArraySize(done))
		return CS_OK;
	if ((rc = log_path(ctx, "log.autoreplies", "auto-replies", &path)) || !path)
		return rc;
	cJSON_ArrayForEach(e, done) {
		const char *rid = cJSON_GetStringValue(cJSON_GetArrayItem(e, 5));
		put_now(&out, cJSON_GetStringValue(cJSON_GetArrayItem(e, 0)));
		put_kv(&out, "id", cJSON_GetStringValue(cJSON_GetArrayItem(e, 1)), 0);
		put_kv(&out, "from", cJSON_GetStringValue(cJSON_GetArrayItem(e, 2)), 0);
		put_kv(&out, "type", cJSON_GetStringValue(cJSON_GetArrayItem(e, 3)), 0);
		put_kv(&out, "subject", cJSON_GetStringValue(cJSON_GetArrayItem(e, 4)), 1);
		if (rid)
			put_kv(&out, "reply", rid, 0);
		sb_putc(&out, '\n');
	}
	rc = out.oom ? ctx_err_oom(ctx) : log_append(ctx, path, &out);
	sb_free(&out);
	free(path);
	return rc;
}
