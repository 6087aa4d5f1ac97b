/* Fuzz harness for the JSON importer: the input is a coordination file,
 * imported by the same code a sync runs (import_buffer: the text
 * checks, the scan, cJSON per record, the typed columns) into a real SQLite
 * mirror in a temporary file.  An input may start with a path line
 * ("coordination/locks.json\n", "build2/status.json\n", ...); otherwise it
 * is coordination/jobs.json.  Properties:
 *   - a file that fails names its path, and leaves the rows of the last
 *     good version exactly as they were;
 *   - a file that imports has a row for each record whose text is a JSON
 *     object holding the row's key, and every record can be patched the
 *     way an export patches it: the result is an object with the changed
 *     member set, a new member added, and every other member as before.
 * Each input runs in a transaction that is rolled back, so inputs do not
 * depend on each other. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctx.h"
#include "json_int.h"
#include "db.h"
#include "import.h"
#include "export.h"
#include "fuzz_mirror.h"

static const char *const paths[] = {"coordination/jobs.json", "coordination/locks.json",
				    "coordination/messages.json", "build2/status.json",
				    "build2/heartbeat.json", NULL};

/* The last good version each file starts from. */
static const char *const good[] = {
	"{\"jobs\": [{\"id\": \"g1\", \"status\": \"queued\", \"priority\": 1}]}\n",
	"{\"locks\": {\"L\": {\"locked_by\": \"build2\", \"expires_at\": 1767323045, \"fence\": 3}}}\n",
	"{\"messages\": [{\"id\": \"m1\", \"from\": \"build2\", \"to\": \"all\", \"read\": false}]}\n",
	"{\"server\": \"build2\", \"status\": \"idle\"}\n",
	"{\"server\": \"build2\", \"timestamp\": 1767323045}\n"};

/* For each path: the rows it owns, as one text to compare, and its keys. */
static const char *const rows_sql[] = {
	"SELECT group_concat(id || char(1) || json || char(1) || ifnull(status, '') || char(1) ||"
	" ifnull(priority, '') || char(1) || ifnull(created_at, '') || char(1) || ord, char(2))"
	" FROM (SELECT * FROM jobs ORDER BY ord)",
	"SELECT group_concat(name || char(1) || json || char(1) || ifnull(locked_by, '') || char(1)"
	" || ifnull(expires_at, '') || char(1) || ifnull(fence, ''), char(2))"
	" FROM (SELECT * FROM locks ORDER BY name)",
	"SELECT group_concat(id || char(1) || json || char(1) || ifnull(subject, '') || char(1) ||"
	" ifnull(read, '') || char(1) || ord, char(2)) FROM (SELECT * FROM messages ORDER BY ord)",
	"SELECT group_concat(id || char(1) || ifnull(status_json, '') || char(1) ||"
	" ifnull(status, ''), char(2)) FROM servers",
	"SELECT group_concat(id || char(1) || ifnull(heartbeat_json, '') || char(1) ||"
	" ifnull(heartbeat_at, ''), char(2)) FROM servers"};
static const char *const recs_sql[] = {
	"SELECT id, json FROM jobs", "SELECT name, json FROM locks", "SELECT id, json FROM messages",
	"SELECT id, status_json FROM servers WHERE status_json IS NOT NULL",
	"SELECT id, heartbeat_json FROM servers WHERE heartbeat_json IS NOT NULL"};
static const char *const key_member[] = {"id", NULL, "id", NULL, NULL};

static char *rows_text(int k)
{
	char *t = NULL;
	FUZZ_CHECK(db_text(ctx, &t, rows_sql[k], NULL) == CS_OK, "%s", ctx->err);
	return t;
}

/* Patch record text as an export does: one member changed, one added. */
static void check_patch(const char *key, const char *text)
{
	static const char *const keys[] = {"status", "fuzz_added"};
	char v1[] = "\"fuzz-\\u00e9\"", v2[] = "[1, {\"a\": null}]";
	char *const vals[] = {v1, v2};
	char *out = NULL;
	size_t err;
	cJSON *before = json_parse_span(text, 0, strlen(text), &err), *after;
	const char *status;
	int added;
	FUZZ_CHECK(before && cJSON_IsObject(before), "record '%s' is not an object: %s", key, text);
	FUZZ_CHECK(export_patch(ctx, text, keys, vals, 2, &out) == CS_OK, "patch of '%s': %s", key,
		   ctx->err);
	after = json_parse_span(out, 0, strlen(out), &err);
	FUZZ_CHECK(after && cJSON_IsObject(after), "patched '%s' does not parse: %s", key, out);
	status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(after, "status"));
	FUZZ_CHECK(status && !strcmp(status, "fuzz-\xc3\xa9"), "status not set in %s", out);
	FUZZ_CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(after, "fuzz_added")) == 2,
		   "member not added in %s", out);
	for (cJSON *m = before->child; m; m = m->next) {
		char *a, *b;
		if (!strcmp(m->string, "status") || !strcmp(m->string, "fuzz_added"))
			continue;
		/* As printed: cJSON_Compare finds 1e400 (inf) unequal to itself. */
		a = cJSON_PrintUnformatted(m);
		b = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(after, m->string));
		FUZZ_CHECK(a && b && !strcmp(a, b), "member '%s' changed by the patch: %s -> %s",
			   m->string, text, out);
		cJSON_free(a);
		cJSON_free(b);
	}
	added = !cJSON_GetObjectItemCaseSensitive(before, "status") +
		!cJSON_GetObjectItemCaseSensitive(before, "fuzz_added");
	FUZZ_CHECK(cJSON_GetArraySize(after) == cJSON_GetArraySize(before) + added,
		   "members lost or doubled: %s -> %s", text, out);
	cJSON_Delete(before);
	cJSON_Delete(after);
	free(out);
}

static void check_imported(int k)
{
	sqlite3_stmt *st = NULL;
	int n = 0;
	FUZZ_CHECK(db_prepare(ctx, &st, recs_sql[k]) == CS_OK, "%s", ctx->err);
	while (sqlite3_step(st) == SQLITE_ROW && n++ < 16) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const char *text = (const char *)sqlite3_column_text(st, 1);
		FUZZ_CHECK(key && *key && text, "a row without key or text");
		if (key_member[k]) {
			size_t err;
			cJSON *o = json_parse_span(text, 0, strlen(text), &err);
			const char *v = o ? cJSON_GetStringValue(
						cJSON_GetObjectItemCaseSensitive(o, key_member[k]))
					  : NULL;
			FUZZ_CHECK(v && !strcmp(v, key), "row '%s' holds %s", key, text);
			cJSON_Delete(o);
		}
		check_patch(key, text);
	}
	sqlite3_finalize(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t len = size;
	int k = 0, rc;
	char *before, *after;

	if (!ctx)
		setup();
	for (int i = 0; paths[i]; i++) {
		size_t n = strlen(paths[i]);
		if (size > n && !memcmp(data, paths[i], n) && data[n] == '\n') {
			k = i;
			s += n + 1;
			len -= n + 1;
			break;
		}
	}
	FUZZ_CHECK(db_begin(ctx) == CS_OK, "%s", ctx->err);
	FUZZ_CHECK(import_buffer(ctx, paths[k], good[k], strlen(good[k])) == CS_OK,
		   "the good %s: %s", paths[k], ctx->err);
	before = rows_text(k);
	rc = import_buffer(ctx, paths[k], s, len);
	if (rc) {
		after = rows_text(k);
		FUZZ_CHECK(strstr(ctx->err, paths[k]) || !strcmp(ctx->err, "out of memory"),
			   "the error does not name %s: %s", paths[k], ctx->err);
		FUZZ_CHECK(before && after && !strcmp(before, after), "%s failed (%s) but its rows changed",
			   paths[k], ctx->err);
		free(after);
	} else {
		check_imported(k);
	}
	free(before);
	db_rollback(ctx);
	return 0;
}
