/* Unit tests of the mirror through the engine's API, against a real bare
 * repository that the test writes to with libgit2 (playing another server). */
#include <stdlib.h>
#include <unistd.h>
#include "db.h"
#include "tree.h"
#include "test.h"

static char dir[256], remote[300];

/* Commit `data` at `path` on the remote's main, as another server would. */
static void remote_put(const char *path, const char *data)
{
	cs_ctx fake;
	git_repository *r = NULL;
	git_commit *head = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_oid blob, tid, cid, hid;
	int have;

	memset(&fake, 0, sizeof fake);
	CHECK(git_repository_open_bare(&r, remote) == 0);
	fake.repo = r;
	have = !git_reference_name_to_id(&hid, r, "refs/heads/main");
	if (have) {
		CHECK(git_commit_lookup(&head, r, &hid) == 0);
		CHECK(git_commit_tree(&tree, head) == 0);
	}
	CHECK(git_blob_create_from_buffer(&blob, r, data, strlen(data)) == 0);
	CHECK(tree_put(&fake, tree, path, &blob, &tid) == 0);
	git_tree_free(tree);
	CHECK(git_tree_lookup(&tree, r, &tid) == 0);
	CHECK(git_signature_now(&sig, "other", "other@example.invalid") == 0);
	CHECK(git_commit_create(&cid, r, "refs/heads/main", sig, sig, NULL, "other server", tree,
				have ? 1 : 0, (const git_commit **)&head) == 0);
	git_signature_free(sig);
	git_tree_free(tree);
	git_commit_free(head);
	git_repository_free(r);
}

static long long scalar(cs_ctx *ctx, const char *sql)
{
	long long v = -1;
	CHECK(db_int(ctx, &v, sql, NULL) == 0);
	return v;
}

static cs_ctx *clone_as(const char *server, const char *sub)
{
	char path[400];
	cs_opts o = {NULL, server, NULL};
	cs_ctx *ctx = NULL;
	cs_sync_stats st;
	snprintf(path, sizeof path, "%s/%s", dir, sub);
	CHECK(cs_clone(&ctx, remote, path, &o) == 0);
	CHECK(cs_sync(ctx, &st) == 0);
	return ctx;
}

static void test_import(cs_ctx *a)
{
	cs_sync_stats st;
	remote_put("coordination/jobs.json",
		   "{\n  \"jobs\": [\n"
		   "    {\"id\": \"iso\", \"status\": \"queued\", \"priority\": 2, \"created_at\": \"2026-01-02T03:04:05Z\"},\n"
		   "    {\"id\": \"num\", \"status\": \"queued\", \"priority\": 1, \"created_at\": 1767323045.5},\n"
		   "    {\"id\": \"old\", \"status\": \"queued\", \"priority\": 1, \"created_at\": 1000, \"x\": [1]}\n"
		   "  ]\n}\n");
	CHECK(cs_sync(a, &st) == 0);
	CHECK(st.files_imported == 1);
	CHECK(scalar(a, "SELECT count(*) FROM jobs") == 3);
	CHECK(scalar(a, "SELECT created_at FROM jobs WHERE id='iso'") == 1767323045);
	CHECK(scalar(a, "SELECT created_at * 2 FROM jobs WHERE id='num'") == 3534646091);
	CHECK(scalar(a, "SELECT json_extract(json, '$.x[0]') FROM jobs WHERE id='old'") == 1);

	/* Incremental: only the changed file is read. */
	remote_put("coordination/messages.json",
		   "{\"messages\": [{\"id\": \"m1\", \"from\": \"build9\", \"to\": \"all\", \"type\": \"info\","
		   " \"subject\": \"hi\", \"body\": null, \"timestamp\": 5, \"read\": false}]}\n");
	CHECK(cs_sync(a, &st) == 0);
	CHECK(st.files_imported == 1);
	CHECK(scalar(a, "SELECT count(*) FROM messages WHERE to_server='all' AND read=0") == 1);
	CHECK(cs_sync(a, &st) == 0 && st.files_imported == 0);

	/* A broken file keeps the last good rows and is reported, then recovers. */
	remote_put("coordination/jobs.json", "{\"jobs\": [{\"id\": \"x\", \"priority\": \"high\"}]}\n");
	CHECK(cs_sync(a, &st) == CS_ERROR && st.files_failed == 1);
	CHECK(strstr(cs_errmsg(a), "coordination/jobs.json:1:") != NULL);
	CHECK(strstr(cs_errmsg(a), "'priority'") != NULL);
	CHECK(scalar(a, "SELECT count(*) FROM jobs") == 3);
	remote_put("coordination/jobs.json",
		   "{\n  \"jobs\": [\n    {\"id\": \"iso\", \"status\": \"queued\", \"priority\": 2,"
		   " \"created_at\": \"2026-01-02T03:04:05Z\"},\n    {\"id\": \"old\", \"status\": \"queued\","
		   " \"priority\": 1, \"created_at\": 1000}\n  ]\n}\n");
	CHECK(cs_sync(a, &st) == 0 && st.files_imported == 1);
	CHECK(scalar(a, "SELECT count(*) FROM jobs") == 2);
}

static void test_decisions(cs_ctx *a, cs_ctx *b)
{
	cs_lock_info li;
	char *id = NULL;
	int n;

	CHECK(cs_lock_acquire(a, "deploy", 60, 0, &li) == 0 && li.fence == 1);
	CHECK(cs_lock_acquire(a, "deploy", 60, 0, &li) == 0 && li.fence == 1);  /* renew */
	CHECK(cs_lock_acquire(b, "deploy", 60, 0, &li) == CS_EREFUSED);
	CHECK(strstr(cs_errmsg(b), "held by build1") != NULL);
	CHECK(cs_lock_release(b, "deploy") == CS_EREFUSED);
	CHECK(cs_lock_release(a, "deploy") == 0);
	CHECK(cs_lock_acquire(b, "deploy", 60, 0, &li) == 0 && li.fence == 2);
	CHECK(cs_lock_acquire(b, "../x", 60, 0, &li) == CS_EINVAL);

	/* Claim order: priority, then created_at. */
	CHECK(cs_job_claim(b, &id) == 0);
	CHECK_STR(id, "old");
	free(id);
	CHECK(cs_job_claim(a, &id) == 0);
	CHECK_STR(id, "iso");
	free(id);
	CHECK(cs_job_claim(a, &id) == CS_EREFUSED && !id);
	CHECK(cs_job_done(a, "old", "x") == CS_EREFUSED);   /* b runs it */
	CHECK(cs_job_done(b, "old", "ok") == 0);
	CHECK(cs_job_done(b, "nope", "ok") == CS_ENOTFOUND);
	/* Rescue: a's job, a has no heartbeat; the late done is refused. */
	CHECK(cs_job_rescue(b, 0, &n) == 0 && n == 1);
	CHECK(cs_job_done(a, "iso", "late") == CS_EREFUSED);
	CHECK(scalar(b, "SELECT fence FROM jobs WHERE id='iso'") == 2);
}

/* Intents waiting in a's outbox (outbox.db), set-aside ones included. */
static long long queued(cs_ctx *a)
{
	long long pending = -1, held = -1;
	CHECK(cs_outbox_count(a, &pending, &held) == 0);
	return pending + held;
}

static void test_outbox(cs_ctx *a, cs_ctx *b)
{
	cs_sync_stats st;
	char *id = NULL;
	const char *kv[1] = {"load=0.5"};
	CHECK(cs_heartbeat(a, 1) == 0);
	CHECK(cs_status_set(a, "building", kv, 1, 1) == 0);
	CHECK(cs_msg_send(a, &id, "build2", "info", "deferred", "body", CS_DEFER | CS_FORCE) == 0);
	CHECK(queued(a) == 3);
	/* Intents survive a rebuild: they are not in git yet. */
	CHECK(cs_rebuild(a, &st) == 0);
	CHECK(queued(a) == 3);
	CHECK(cs_sync(a, &st) == 0 && st.intents_pushed == 3 && st.pushed == 1);
	CHECK(queued(a) == 0);
	CHECK(cs_sync(b, &st) == 0);
	CHECK(scalar(b, "SELECT count(*) FROM messages WHERE subject='deferred'") == 1);
	CHECK(scalar(b, "SELECT json_extract(status_json, '$.load') * 10 FROM servers"
			" WHERE id='build1'") == 5);
	/* Broadcast read per server: a reading m1 does not hide it from b. */
	CHECK(cs_msg_read(a, "m1") == 0);
	CHECK(cs_sync(b, &st) == 0);
	CHECK(scalar(b, "SELECT read FROM messages WHERE id='m1'") == 0);
	CHECK(cs_msg_read(b, "m1") == 0);
	CHECK(scalar(b, "SELECT read FROM messages WHERE id='m1'") == 1);
	CHECK(cs_msg_read(a, id) == CS_EREFUSED);
	free(id);
}

/* A cs_release without a hold of this thread changes nothing.  It used to
 * drop a libgit2 reference it never took: a few of them shut libgit2 down
 * under the open handles. */
static void test_release(cs_ctx *a)
{
	int n0 = git_libgit2_init(), n1;
	git_libgit2_shutdown();
	for (int i = 0; i < n0; i++)
		cs_release();
	n1 = git_libgit2_init();
	git_libgit2_shutdown();
	CHECK(n1 == n0);
	if (n1 == n0)
		CHECK(cs_sync(a, &(cs_sync_stats){0}) == 0);
}

int main(void)
{
	char err[256];
	cs_ctx *a, *b;
	snprintf(dir, sizeof dir, "%s/cs-unit-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	snprintf(remote, sizeof remote, "%s/remote.git", dir);
	git_libgit2_init();
	CHECK(cs_create_remote(remote, err, sizeof err) == 0);
	a = clone_as("build1", "a");
	b = clone_as("build2", "b");
	CHECK(scalar(a, "SELECT count(*) FROM files") == 3);   /* seeded from the template */
	test_import(a);
	CHECK(cs_sync(b, &(cs_sync_stats){0}) == 0);
	test_decisions(a, b);
	test_outbox(a, b);
	test_release(a);
	cs_close(a);
	cs_close(b);
	git_libgit2_shutdown();
	if (!t_fail) {
		char cmd[400];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return t_done();
}
