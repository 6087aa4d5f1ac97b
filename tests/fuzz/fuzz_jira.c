/* Fuzz harness for what a Jira server sends (as hostile as a peer): the
 * input is a search answer ({"issues": [...], ...}), an array of issues or
 * one issue, as JSON text, and each issue goes through the code a sync runs
 * on it (jirasync_issue: jirasync_row_make, the sprint and name lists, the
 * times, the comparison with the mirror's row, jira_history) into a real
 * SQLite mirror in a temporary file.  Properties:
 *   - an issue is either refused, naming the search, and leaves no row, or
 *     it has its row under its key, raw as Jira's text, labels and
 *     fixVersions valid JSON arrays;
 *   - syncing the same issue again, its raw text forgotten so that every
 *     field is compared, records no change in jira_history.
 * The rows are deleted before each input, so inputs do not depend on each
 * other. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctx.h"
#include "db.h"
#include "jirasync.h"
#include "fuzz_mirror.h"

#define MAX_ISSUES 64

static long long history_rows(void)
{
	long long n = -1;
	FUZZ_CHECK(db_int(ctx, &n, "SELECT count(*) FROM jira_history", NULL) == CS_OK, "%s",
		   ctx->err);
	return n;
}

/* The row of key as the properties need it. */
static void check_row(const char *key, const cJSON *issue)
{
	sqlite3_stmt *st = NULL;
	char *raw = cJSON_PrintUnformatted(issue);
	FUZZ_CHECK(raw, "out of memory");
	FUZZ_CHECK(db_prepare(ctx, &st, "SELECT raw, json_valid(labels) AND json_type(labels) ="
					 " 'array', json_valid(fix_versions) AND"
					 " json_type(fix_versions) = 'array', project"
					 " FROM jira_issues WHERE key = :k") == CS_OK &&
			   db_bind_text(ctx, st, ":k", key) == CS_OK,
		   "%s", ctx->err);
	FUZZ_CHECK(db_step(ctx, st) == SQLITE_ROW, "issue '%s' synced but has no row", key);
	FUZZ_CHECK(!strcmp((const char *)sqlite3_column_text(st, 0), raw), "raw of '%s' is not"
		   " Jira's text: %s", key, raw);
	FUZZ_CHECK(sqlite3_column_int(st, 1) == 1, "labels of '%s' are not a JSON array", key);
	FUZZ_CHECK(sqlite3_column_int(st, 2) == 1, "fix_versions of '%s' are not a JSON array", key);
	FUZZ_CHECK(!strcmp((const char *)sqlite3_column_text(st, 3), "FUZZ"), "project of '%s'",
		   key);
	sqlite3_finalize(st);
	cJSON_free(raw);
}

static void sync_one(const cJSON *issue, jirasync_arg *a)
{
	const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(issue, "key"));
	long long before = history_rows(), after;
	int rc, fields;

	ctx->err[0] = 0;
	rc = jirasync_issue(ctx, issue, a);
	if (rc) {
		FUZZ_CHECK(strstr(ctx->err, "jira search") || !strcmp(ctx->err, "out of memory"),
			   "refused without naming the search: %s", ctx->err);
		FUZZ_CHECK(history_rows() == before, "a refused issue wrote history: %s", ctx->err);
		return;
	}
	FUZZ_CHECK(key && *key, "an issue without a key was taken");
	check_row(key, issue);
	/* Again, every field compared: nothing changed. */
	FUZZ_CHECK(DB_RUN(ctx, "UPDATE jira_issues SET raw = '' WHERE key = :k", DB_TEXT(":k", key))
			   == 1, "%s", ctx->err);
	after = history_rows();
	fields = a->st->fields;
	FUZZ_CHECK(jirasync_issue(ctx, issue, a) == CS_OK, "the same issue again: %s", ctx->err);
	FUZZ_CHECK(history_rows() == after && a->st->fields == fields,
		   "the same issue '%s' again recorded changes", key);
	check_row(key, issue);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const jirasync_fields cf = {"customfield_10014", "customfield_10020"};
	cs_jira_sync_stats st = {0};
	jirasync_arg a = {&cf, "FUZZ", "http://127.0.0.1:1", &st, NAN, 1767323045.0};
	cJSON *doc;
	const cJSON *issues, *it;
	int n = 0;

	if (!ctx)
		setup();
	FUZZ_CHECK(db_run_binds(ctx, "DELETE FROM jira_issues", NULL, 0) >= 0 &&
			   db_run_binds(ctx, "DELETE FROM jira_history", NULL, 0) >= 0,
		   "%s", ctx->err);
	if (!(doc = cJSON_ParseWithLength((const char *)data, size)))
		return 0;
	issues = cJSON_GetObjectItemCaseSensitive(doc, "issues");
	if (!cJSON_IsArray(issues))
		issues = cJSON_IsArray(doc) ? doc : NULL;
	if (issues) {
		cJSON_ArrayForEach(it, issues)
			if (n++ < MAX_ISSUES)
				sync_one(it, &a);
	} else {
		sync_one(doc, &a);
	}
	cJSON_Delete(doc);
	return 0;
}
