/* Unit tests of import and export on buffers, on a real SQLite mirror file:
 * import_buffer of each kind of file, good and bad, with the rows it
 * leaves and the messages it refuses with; export_patch, export_append and
 * export_check_record, and a round trip (what export writes, import reads). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "ctx.h"
#include "util.h"
#include "db.h"
#include "import.h"
#include "export.h"
#include "test.h"

static cs_ctx *ctx;
static char dbpath[4096];

/* A handle on a new mirror file at path (a mkstemp template). */
static cs_ctx *mirror_open(char *path, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	cs_ctx *c;
	int fd;
	snprintf(path, size, "%s/coordsync-unit-model-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if ((fd = mkstemp(path)) < 0 || !(c = calloc(1, sizeof *c))) {
		fprintf(stderr, "cannot set up in %s\n", path);
		exit(1);
	}
	close(fd);
	c->lockfd = -1;
	c->max_file = CTX_MAX_BLOB;
	c->query_seconds = 30;
	if (db_open(c, path, DB_CREATE) != CS_OK) {
		fprintf(stderr, "%s\n", c->err);
		exit(1);
	}
	return c;
}

static void mirror_close(cs_ctx *c, const char *path)
{
	char p[4200];
	sqlite3_close(c->db);
	free(c);
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

static int import(const char *path, const char *s)
{
	ctx->err[0] = 0;
	return import_buffer(ctx, path, s, strlen(s));
}

/* The first column of the first row of sql as text ("" for NULL or no row). */
static char got[4096];
static const char *q(const char *sql)
{
	char *t = NULL;
	got[0] = 0;
	if (db_text(ctx, &t, sql, NULL) != CS_OK)
		snprintf(got, sizeof got, "error: %s", ctx->err);
	else
		snprintf(got, sizeof got, "%s", t ? t : "");
	free(t);
	return got;
}

/* The import refuses s at path with an error, the message being want, and
 * leaves the rows (rows_sql's text) as they were. */
static void refused(const char *path, const char *s, const char *rows_sql, const char *want)
{
	char before[4096];
	int rc;
	snprintf(before, sizeof before, "%s", q(rows_sql));
	rc = import(path, s);
	CHECK(rc == CS_ERROR);
	CHECK_STR(ctx->err, want);
	CHECK_STR(q(rows_sql), before);
}

#define JOBS_ROWS "SELECT group_concat(id || '|' || ifnull(status, '-') || '|' ||" \
	" ifnull(priority, '-') || '|' || ifnull(created_at, '-') || '|' || ord, ';')" \
	" FROM (SELECT * FROM jobs ORDER BY ord)"

static void test_jobs(void)
{
	const char *p = "coordination/jobs.json";
	CHECK(import(p, "{\"jobs\": [\n"
		  "  {\"id\": \"j1\", \"status\": \"queued\", \"priority\": 2,"
		  " \"created_at\": \"2026-01-02T03:04:05Z\"},\n"
		  "  {\"id\": \"j2\", \"status\": null, \"attempts\": 0}\n"
		  "], \"version\": 1}\n") == CS_OK);
	CHECK_STR(q(JOBS_ROWS), "j1|queued|2|1767323045.0|0;j2|-|-|-|1");
	CHECK_STR(q("SELECT json FROM jobs WHERE id='j2'"),
		  "{\"id\": \"j2\", \"status\": null, \"attempts\": 0}");
	CHECK_STR(q("SELECT count(*) FROM jobs WHERE dirty"), "0");

	refused(p, "{\"jobs\": [{\"id\": \"j3\", \"priority\": \"high\"}]}", JOBS_ROWS,
		"coordination/jobs.json:1:11: job 'j3': 'priority' must be an integer or null");
	refused(p, "{\"jobs\": [{\"id\": \"j3\", \"attempts\": -1}]}", JOBS_ROWS,
		"coordination/jobs.json:1:11: job 'j3': 'attempts' must be an integer from 0 to"
		" 2^53-1, or null");
	refused(p, "{\"jobs\": [{\"id\": \"j3\", \"priority\": 1.5}]}", JOBS_ROWS,
		"coordination/jobs.json:1:11: job 'j3': 'priority' must be an integer or null");
	refused(p, "{\"jobs\": [{\"id\": \"j3\", \"created_at\": \"yesterday\"}]}", JOBS_ROWS,
		"coordination/jobs.json:1:11: job 'j3': 'created_at' must be a time (epoch"
		" seconds or ISO-8601) or null");
	refused(p, "{\"jobs\": [{\"id\": \"j3\"}, {\"id\": \"j3\"}]}", JOBS_ROWS,
		"coordination/jobs.json:1:25: duplicate job 'j3'");
	refused(p, "{\"jobs\": [{\"status\": \"queued\"}]}", JOBS_ROWS,
		"coordination/jobs.json:1:11: a job needs a string 'id'");
	refused(p, "{\"jobs\": [{\"id\": \"j3\", \"status\": \"a\", \"status\": \"b\"}]}",
		JOBS_ROWS, "coordination/jobs.json:1:11: a job has the duplicate key 'status'");
	refused(p, "{\"jobs\": [[1]]}", JOBS_ROWS,
		"coordination/jobs.json:1:11: a job must be an object");
	refused(p, "{\"jobs\": {}}", JOBS_ROWS, "coordination/jobs.json:1:10: 'jobs' must be an array");
	refused(p, "{\"version\": 1}", JOBS_ROWS, "coordination/jobs.json:1:1: missing member 'jobs'");
	refused(p, "[]", JOBS_ROWS, "coordination/jobs.json:1:1: the top level must be an object");
	refused(p, "{\"jobs\": []} x", JOBS_ROWS,
		"coordination/jobs.json:1:14: trailing text after the JSON value");
	refused(p, "{\"jobs\": [], \"jobs\": []}", JOBS_ROWS,
		"coordination/jobs.json:1:14: duplicate member 'jobs'");
	refused(p, "{\"jobs\": [{\"id\": \"j\xff\"}]}", JOBS_ROWS,
		"coordination/jobs.json:1:20: invalid UTF-8");
	refused(p, "{\"jobs\": [{\"id\": \"j\x01\"}]}", JOBS_ROWS,
		"coordination/jobs.json:1:20: control character");
	refused(p, "{\"jobs\": [{\"id\": \"j3\",}]}", JOBS_ROWS,
		"coordination/jobs.json:1:23: invalid JSON");
	CHECK(import_buffer(ctx, p, "{\"jobs\": []}\0", 13) == CS_ERROR);
	CHECK_STR(ctx->err, "coordination/jobs.json: contains a NUL byte");
	/* A good version replaces every row. */
	CHECK(import(p, "{\"jobs\": [{\"id\": \"j9\", \"max_attempts\": 1}]}") == CS_OK);
	CHECK_STR(q(JOBS_ROWS), "j9|-|-|-|0");
	CHECK_STR(q("SELECT max_attempts FROM jobs"), "1");
}

#define LOCKS_ROWS "SELECT group_concat(name || '|' || ifnull(locked_by, '-') || '|' ||" \
	" ifnull(expires_at, '-') || '|' || ifnull(fence, '-'), ';')" \
	" FROM (SELECT * FROM locks ORDER BY name)"

static void test_locks(void)
{
	const char *p = "coordination/locks.json";
	CHECK(import(p, "{\"locks\": {\"deploy\": {\"locked_by\": \"build1\", \"locked_at\": 1767323000,"
		  " \"expires_at\": \"2026-01-02T03:04:05Z\", \"fence\": 4},"
		  " \"db\": {\"locked_by\": null}}}") == CS_OK);
	CHECK_STR(q(LOCKS_ROWS), "db|-|-|-;deploy|build1|1767323045.0|4");
	CHECK_STR(q("SELECT fence FROM lock_fences WHERE name='deploy'"), "4");
	refused(p, "{\"locks\": {\"\": {\"locked_by\": \"build1\"}}}", LOCKS_ROWS,
		"coordination/locks.json:1:16: a lock needs a non-empty name");
	refused(p, "{\"locks\": {\"x\": {\"fence\": -2}}}", LOCKS_ROWS,
		"coordination/locks.json:1:17: lock 'x': 'fence' must be an integer from 0 to"
		" 2^53-1, or null");
	refused(p, "{\"locks\": {\"x\": {}, \"x\": {}}}", LOCKS_ROWS,
		"coordination/locks.json:1:26: duplicate lock 'x'");
	refused(p, "{\"locks\": []}", LOCKS_ROWS,
		"coordination/locks.json:1:11: 'locks' must be an object");
	/* A lower fence in a later version does not lower the one remembered. */
	CHECK(import(p, "{\"locks\": {\"deploy\": {\"fence\": 2}}}") == CS_OK);
	CHECK_STR(q(LOCKS_ROWS), "deploy|-|-|2");
	CHECK_STR(q("SELECT fence FROM lock_fences WHERE name='deploy'"), "4");
}

#define MSG_ROWS "SELECT group_concat(id || '|' || ifnull(from_server, '-') || '|' ||" \
	" ifnull(read, '-') || '|' || ifnull(read_by, '-') || '|' || ord, ';')" \
	" FROM (SELECT * FROM messages ORDER BY ord)"

static void test_messages(void)
{
	const char *p = "coordination/messages.json";
	CHECK(import(p, "{\"messages\": [{\"id\": \"m1\", \"from\": \"build1\", \"read\": true,"
		  " \"read_by\": [\"a\", {\"b\": 1}]}, {\"id\": \"m2\", \"read\": false}]}") == CS_OK);
	CHECK_STR(q(MSG_ROWS), "m1|build1|1|[\"a\",{\"b\":1}]|0;m2|-|0|-|1");
	refused(p, "{\"messages\": [{\"id\": \"m3\", \"read\": \"yes\"}]}", MSG_ROWS,
		"coordination/messages.json:1:15: message 'm3': 'read' must be true, false or null");
	refused(p, "{\"messages\": [{\"id\": \"m3\", \"to\": 7}]}", MSG_ROWS,
		"coordination/messages.json:1:15: message 'm3': 'to' must be a string or null");
	refused(p, "{\"messages\": [{\"id\": \"\"}]}", MSG_ROWS,
		"coordination/messages.json:1:15: a message needs a string 'id'");
}

#define SERVER_ROWS "SELECT group_concat(id || '|' || ifnull(status, '-') || '|' ||" \
	" ifnull(status_at, '-') || '|' || ifnull(heartbeat_at, '-'), ';')" \
	" FROM (SELECT * FROM servers ORDER BY id)"

static void test_servers(void)
{
	CHECK(import("build2/status.json", "\n {\"server\": \"build2\", \"status\": \"idle\","
		  " \"timestamp\": 1767323045} \n") == CS_OK);
	CHECK_STR(q(SERVER_ROWS), "build2|idle|1767323045.0|-");
	/* The record is the text without the surrounding whitespace. */
	CHECK_STR(q("SELECT status_json FROM servers"),
		  "{\"server\": \"build2\", \"status\": \"idle\", \"timestamp\": 1767323045}");
	CHECK(import("build2/heartbeat.json", "{\"timestamp\": \"2026-01-02T03:04:06Z\"}") == CS_OK);
	CHECK_STR(q(SERVER_ROWS), "build2|idle|1767323045.0|1767323046.0");
	refused("build2/status.json", "{\"status\": 5}", SERVER_ROWS,
		"build2/status.json:1:1: status 'build2': 'status' must be a string or null");
	refused("build2/heartbeat.json", "{\"timestamp\": \"soon\"}", SERVER_ROWS,
		"build2/heartbeat.json:1:1: heartbeat 'build2': 'timestamp' must be a time (epoch"
		" seconds or ISO-8601) or null");
	refused("build2/heartbeat.json", "[1]", SERVER_ROWS,
		"build2/heartbeat.json:1:1: a heartbeat must be an object");
	refused("build2/status.json", "{\"status\": \"idle\"", SERVER_ROWS,
		"build2/status.json:1:17: invalid JSON");
	/* Paths that are no coordination file. */
	CHECK(import("coordination/other.json", "{}") == CS_EINVAL);
	CHECK_STR(ctx->err, "'coordination/other.json' is not a coordination file");
	CHECK(import("a/b/status.json", "{}") == CS_EINVAL);
	CHECK(import("status.json", "{}") == CS_EINVAL);
	CHECK(import("bad id/status.json", "{}") == CS_EINVAL);
}

static void test_check_record(void)
{
	CHECK(export_check_record(ctx, "coordination/jobs.json", NULL,
				 "{\"id\": \"j1\", \"priority\": 3}") == CS_OK);
	CHECK(export_check_record(ctx, "coordination/jobs.json", "j1",
				 "{\"id\": \"j1\", \"priority\": 1.5}") == CS_EREFUSED);
	CHECK_STR(ctx->err, "refusing to write job 'j1': the fleet's importers would refuse it:"
		  " job 'j1': 'priority' must be an integer or null");
	CHECK(export_check_record(ctx, "coordination/jobs.json", "j1",
				 "{\"id\": \"j1\", \"error\": \"a\x01\"}") == CS_EREFUSED);
	CHECK_STR(ctx->err, "refusing to write job 'j1': its text would not import (a control"
		  " character at byte 24)");
	CHECK(export_check_record(ctx, "coordination/locks.json", "deploy", "{\"fence\": 1}") == CS_OK);
	CHECK(export_check_record(ctx, "coordination/locks.json", "", "{\"fence\": 1}") == CS_EREFUSED);
	CHECK(export_check_record(ctx, "build2/status.json", "build2", "{\"status\": \"up\"}") == CS_OK);
	CHECK(export_check_record(ctx, "build2/heartbeat.json", "build2", "{\"timestamp\": true}") ==
	      CS_EREFUSED);
	CHECK(export_check_record(ctx, "coordination/other.json", "x", "{}") == CS_EINVAL);
}

static void test_patch(void)
{
	const char *keys[2] = {"status", "status"};
	char *vals[2] = {"\"a\"", "\"b\""};
	char *out = NULL;
	CHECK(export_patch(ctx, "{\"id\": \"j1\"}", keys, vals, 2, &out) == CS_EINVAL);
	CHECK_STR(ctx->err, "a patch cannot set 'status' twice");
	CHECK(out == NULL);
	/* A patched record passes the export's check and imports. */
	keys[1] = "priority";
	vals[1] = "7";
	CHECK(export_patch(ctx, "{\"id\": \"j5\", \"priority\": 1, \"note\": \"\\u00e9\"}", keys, vals,
			  2, &out) == CS_OK);
	CHECK_STR(out, "{\"id\": \"j5\", \"priority\": 7, \"note\": \"\\u00e9\", \"status\": \"a\"}");
	CHECK(export_check_record(ctx, "coordination/jobs.json", "j5", out) == CS_OK);
	free(out);
	/* A value no importer reads is refused by the check. */
	vals[1] = "-1";
	keys[1] = "attempts";
	CHECK(export_patch(ctx, "{\"id\": \"j5\"}", keys, vals, 2, &out) == CS_OK);
	CHECK(export_check_record(ctx, "coordination/jobs.json", "j5", out) == CS_EREFUSED);
	free(out);
}

static void test_append(void)
{
	char *texts[2] = {"{\"id\": \"n1\", \"status\": \"queued\"}", "{\"id\": \"n2\"}"};
	const char *multi = "{\n  \"jobs\": [\n    {\"id\": \"a\"}\n  ]\n}\n";
	char *out = NULL;

	/* On the template: the result is a jobs file the importer reads. */
	CHECK(export_append(ctx, "coordination/jobs.json", NULL, 0, texts, 2, &out) == CS_OK);
	CHECK(out && import("coordination/jobs.json", out) == CS_OK);
	CHECK_STR(q(JOBS_ROWS), "n1|queued|-|-|0;n2|-|-|-|1");
	free(out);
	/* In the file's own layout, after its last record. */
	CHECK(export_append(ctx, "coordination/jobs.json", multi, strlen(multi), texts, 2, &out) ==
	      CS_OK);
	CHECK_STR(out, "{\n  \"jobs\": [\n    {\"id\": \"a\"},\n"
		  "    {\"id\": \"n1\", \"status\": \"queued\"},\n    {\"id\": \"n2\"}\n  ]\n}\n");
	CHECK(out && import("coordination/jobs.json", out) == CS_OK);
	CHECK_STR(q(JOBS_ROWS), "a|-|-|-|0;n1|queued|-|-|1;n2|-|-|-|2");
	free(out);
	/* One line stays one line; an empty list is filled. */
	CHECK(export_append(ctx, "x/messages.json", "{\"messages\": []}", 16, texts + 1, 1, &out) ==
	      CS_OK);
	CHECK_STR(out, "{\"messages\": [{\"id\": \"n2\"}]}");
	free(out);
	CHECK(export_append(ctx, "coordination/messages.json", "{\"messages\": [{\"id\": \"m\"}]}", 27,
			   texts + 1, 1, &out) == CS_OK);
	CHECK_STR(out, "{\"messages\": [{\"id\": \"m\"}, {\"id\": \"n2\"}]}");
	CHECK(out && import("coordination/messages.json", out) == CS_OK);
	CHECK_STR(q("SELECT group_concat(id, ',') FROM (SELECT id FROM messages ORDER BY ord)"), "m,n2");
	free(out);
	/* Not to a broken file, nor to locks (an object). */
	out = NULL;
	CHECK(export_append(ctx, "coordination/jobs.json", "{\"jobs\": 1}", 11, texts, 1, &out) ==
	      CS_ERROR);
	CHECK_STR(ctx->err, "coordination/jobs.json:1:10: 'jobs' must be an array");
	CHECK(out == NULL);
	CHECK(export_append(ctx, "coordination/locks.json", "{\"locks\": {}}", 13, texts, 1, &out) ==
	      CS_ERROR);
	CHECK_STR(ctx->err, "internal: cannot append to 'coordination/locks.json'");
}

static void test_add(void)
{
	CHECK(import("coordination/jobs.json", "{\"jobs\": [{\"id\": \"a\"}]}") == CS_OK);
	CHECK(export_add(ctx, "jobs", NULL, "{\"id\": \"b\", \"priority\": 5}") == CS_OK);
	CHECK_STR(q("SELECT group_concat(id || '|' || ifnull(priority, '-') || '|' || ord || '|' ||"
		    " dirty, ';') FROM (SELECT * FROM jobs ORDER BY id)"), "a|-|0|0;b|5|-1|1");
	CHECK(export_add(ctx, "jobs", NULL, "{\"id\": \"c\", \"priority\": \"x\"}") == CS_ERROR);
	CHECK_STR(ctx->err, "coordination/jobs.json:1:1: job 'c': 'priority' must be an integer or"
		  " null");
	CHECK(export_add(ctx, "jobs", NULL, "{\"id\": \"a\"}") == CS_ERROR);
	CHECK_STR(ctx->err, "coordination/jobs.json:1:1: duplicate job 'a'");
	CHECK(export_add(ctx, "locks", "web", "{\"locked_by\": \"b1\", \"fence\": 1}") == CS_OK);
	CHECK_STR(q("SELECT locked_by || '|' || dirty FROM locks WHERE name='web'"), "b1|1");
	CHECK(export_add(ctx, "servers", NULL, "{}") == CS_ERROR);
	CHECK_STR(ctx->err, "internal: no table 'servers'");
	CHECK_STR(q("SELECT count(*) FROM jobs"), "2");
}

/* Two handles import at once on two threads, large files (parsed on a
 * parser thread of each) and small ones, while a third thread parses with
 * cJSON: cJSON's allocator is process-wide (import.h). */
static char *big_jobs;

typedef struct importer {
	int rounds_ok;
	long long rows;
} importer;

static void *import_run(void *arg)
{
	importer *im = arg;
	char path[4096];
	cs_ctx *c = mirror_open(path, sizeof path);
	for (int r = 0; r < 12; r++) {
		int ok = import_buffer(c, "coordination/jobs.json", big_jobs, strlen(big_jobs)) ==
			 CS_OK &&
			 import_buffer(c, "build3/status.json", "{\"status\": \"up\"}", 16) == CS_OK;
		im->rounds_ok += ok;
		if (!ok)
			fprintf(stderr, "import: %s\n", c->err);
	}
	db_int(c, &im->rows, "SELECT count(*) + sum(priority) FROM jobs", NULL);
	mirror_close(c, path);
	return NULL;
}

static atomic_int parsing;

static void *parse_run(void *arg)
{
	int *bad = arg;
	while (parsing) {
		cJSON *v = cJSON_Parse("{\"a\": [1, 2, {\"b\": \"c\"}], \"d\": \"e\"}");
		char *s = v ? cJSON_PrintUnformatted(v) : NULL;
		*bad += !s || strcmp(s, "{\"a\":[1,2,{\"b\":\"c\"}],\"d\":\"e\"}");
		cJSON_free(s);
		cJSON_Delete(v);
	}
	return NULL;
}

static void test_concurrent(void)
{
	sbuf b = {0};
	importer im[2];
	pthread_t t[3];
	int bad = 0;
	long long want = 0;

	sb_puts(&b, "{\"jobs\": [");
	for (int i = 0; i < 3000; i++) {
		sb_printf(&b, "%s{\"id\": \"j%d\", \"priority\": %d, \"status\": \"queued\"}",
			  i ? ", " : "", i, i);
		want += i;
	}
	sb_puts(&b, "]}");
	CHECK(!b.oom);
	big_jobs = sb_detach(&b);
	want += 3000;
	memset(im, 0, sizeof im);
	parsing = 1;
	CHECK(pthread_create(&t[2], NULL, parse_run, &bad) == 0);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, import_run, &im[i]) == 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	parsing = 0;
	pthread_join(t[2], NULL);
	for (int i = 0; i < 2; i++) {
		CHECK(im[i].rounds_ok == 12);
		CHECK(im[i].rows == want);
	}
	CHECK(bad == 0);
	free(big_jobs);
}

/* ---- import_check: every problem, the verdict import_buffer's ---------- */

static char listed[4096];
static int nlisted, stop_after;

static int list_problem(cs_ctx *c, const char *msg, void *arg)
{
	(void)c, (void)arg;
	snprintf(listed + strlen(listed), sizeof listed - strlen(listed), "%s%s", nlisted ? "\n" : "",
		 msg);
	return ++nlisted == stop_after;
}

/* import_check of s at path: its code; listed holds the problems. */
static int check_all(const char *path, const char *s, size_t len)
{
	listed[0] = 0;
	nlisted = 0;
	ctx->err[0] = 0;
	return import_check(ctx, path, s, len, list_problem, NULL);
}

static void test_check(void)
{
	const char *p = "coordination/jobs.json";
	const char *bad = "{\"jobs\": [\n  {\"id\": \"a\", \"priority\": \"high\"},\n  {\"id\": \"b\"},\n"
			  "  {\"id\": \"b\"},\n  {\"id\": \"c\", \"created_at\": \"soon\"},\n  {\"id\": 5}\n]}\n";
	sbuf big = {0};
	char before[4096];

	CHECK(import(p, "{\"jobs\": [{\"id\": \"keep\"}]}") == CS_OK);
	snprintf(before, sizeof before, "%s", q(JOBS_ROWS));
	CHECK(check_all(p, bad, strlen(bad)) == CS_ERROR);
	CHECK_STR(listed, "coordination/jobs.json:2:3: job 'a': 'priority' must be an integer or null\n"
			  "coordination/jobs.json:4:3: duplicate job 'b'\n"
			  "coordination/jobs.json:5:3: job 'c': 'created_at' must be a time (epoch seconds"
			  " or ISO-8601) or null\n"
			  "coordination/jobs.json:6:3: a job needs a string 'id'");
	/* The verdict and the message are import_buffer's; the rows stay. */
	CHECK_STR(ctx->err, "coordination/jobs.json:2:3: job 'a': 'priority' must be an integer or null");
	CHECK_STR(q(JOBS_ROWS), before);
	CHECK(import(p, bad) == CS_ERROR);
	CHECK_STR(ctx->err, "coordination/jobs.json:2:3: job 'a': 'priority' must be an integer or null");
	/* A file whose text fails has that one problem. */
	CHECK(check_all(p, "{\"jobs\": [{\"id\": \"a\", \"priority\": \"x\"},, ]}", 43) == CS_ERROR);
	CHECK(nlisted == 1);
	CHECK_STR(listed, "coordination/jobs.json:1:40: invalid JSON");
	CHECK(check_all(p, "{\"jobs\": []}\0", 13) == CS_ERROR);
	CHECK_STR(listed, "coordination/jobs.json: contains a NUL byte");
	/* A callback that says stop stops. */
	stop_after = 2;
	CHECK(check_all(p, bad, strlen(bad)) == CS_ERROR);
	CHECK(nlisted == 2);
	stop_after = 0;
	/* Locks, keyed by member name, and a per-server file. */
	CHECK(check_all("coordination/locks.json", "{\"locks\": {\"A\": {\"fence\": -1},"
			" \"B\": {\"locked_by\": 7}, \"C\": {}}}", 63) == CS_ERROR);
	CHECK_STR(listed, "coordination/locks.json:1:17: lock 'A': 'fence' must be an integer from 0"
			  " to 2^53-1, or null\n"
			  "coordination/locks.json:1:37: lock 'B': 'locked_by' must be a string or null");
	CHECK(check_all("build2/status.json", "{\"status\": 1}", 13) == CS_ERROR);
	CHECK(nlisted == 1);
	/* A good file: CS_OK, nothing listed, rows as import_buffer leaves them. */
	CHECK(check_all(p, "{\"jobs\": [{\"id\": \"n1\"}, {\"id\": \"n2\"}]}", 38) == CS_OK);
	CHECK(nlisted == 0);
	CHECK_STR(q("SELECT group_concat(id) FROM (SELECT id FROM jobs ORDER BY ord)"), "n1,n2");
	/* A file large enough for the import's second thread: the same first
	 * error, then the others. */
	sb_puts(&big, "{\"jobs\": [");
	for (int i = 0; i < 6000; i++)
		sb_printf(&big, "%s{\"id\": \"j%d\", \"priority\": %s}", i ? ",\n" : "\n", i % 3000,
			  i == 4000 ? "\"x\"" : "1");
	sb_puts(&big, "\n]}\n");
	CHECK(!big.oom);
	CHECK(check_all(p, big.p, big.n) == CS_ERROR);
	CHECK(nlisted == 3000);
	CHECK(!strncmp(listed, "coordination/jobs.json:4002:1: job 'j1000': 'priority' must be an"
			       " integer or null\ncoordination/jobs.json:3002:1: duplicate job 'j0'\n"
			       "coordination/jobs.json:3003:1: duplicate job 'j1'\n", 160));
	CHECK(import_buffer(ctx, p, big.p, big.n) == CS_ERROR);
	CHECK(!strncmp(listed, ctx->err, strlen(ctx->err)) && listed[strlen(ctx->err)] == '\n');
	sb_free(&big);
}

int main(void)
{
	ctx = mirror_open(dbpath, sizeof dbpath);
	test_jobs();
	test_locks();
	test_messages();
	test_servers();
	test_check_record();
	test_patch();
	test_append();
	test_add();
	test_concurrent();
	test_check();
	mirror_close(ctx, dbpath);
	return t_done();
}
