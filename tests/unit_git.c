/* Unit tests for the remote URL checks of the credential code (cred.c):
 * the origin put in messages, and when a token would go over plain http;
 * and for the tree writer (tree.c), the keeper of versions (texts.c) and
 * the server-directory rule (kinds.c), on a repository in a temp directory. */
#include <stdlib.h>
#include <unistd.h>
#include "ctx.h"
#include "util.h"
#include "cred.h"
#include "kinds.h"
#include "transport.h"
#include "tree.h"
#include "texts.h"
#include "test.h"

static void test_origin(void)
{
	static const struct {
		const char *url, *origin;
		int plain;
	} cases[] = {
		{"http://127.0.0.1:8080/git/r.git", "http://127.0.0.1:8080", 0},
		{"http://alice:s3cret@git.example.com/r.git", "http://git.example.com", 1},
		{"http://alice@git.example.com:8080/r.git", "http://git.example.com:8080", 1},
		{"https://git.example.com/fleet/coord.git", "https://git.example.com", 0},
		{"https://u:p@[2001:db8::1]:443/r", "https://[2001:db8::1]:443", 0},
		{"HTTP://LocalHost/r", "HTTP://LocalHost", 0},
		{"http://localhost.example.com/r", "http://localhost.example.com", 1},
		{"http://[::1]:80/r", "http://[::1]:80", 0},
		{"http://[2001:db8::1]/r", "http://[2001:db8::1]", 1},
		{"http://127.1.2.3/r", "http://127.1.2.3", 0},
		{"http://127.example.com/r", "http://127.example.com", 1},
		{"http://10.0.0.1?x=@y", "http://10.0.0.1", 1},
		{"ssh://git@git.example.com:2222/srv/coord.git", "ssh://git.example.com:2222", 0},
		{"git@git.example.com:fleet/coord.git", "git.example.com", 0},
		{"git://127.0.0.1:9418/r.git", "git://127.0.0.1:9418", 0},
		/* scp-like with an IPv6 literal: the host, brackets and all */
		{"[::1]:r.git", "[::1]", 0},
		{"git@[2001:db8::1]:fleet/r.git", "[2001:db8::1]", 0},
		/* local: the path */
		{"/srv/coord.git", "/srv/coord.git", 0},
		{"file:///srv/coord.git", "/srv/coord.git", 0},
		/* malformed: no token goes to it, and nothing of it is shown */
		{"http://alice:s3cret@/r", "(an invalid URL)", 1},
		{"https://alice:s3cret@h:99999/r", "(an invalid URL)", 1},
		{"http://[::1/r", "(an invalid URL)", 1},
	};
	char out[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int plain = cred_url_origin(cases[i].url, out, sizeof out);
		CHECK_STR(out, cases[i].origin);
		CHECK(plain == cases[i].plain);
		CHECK(!strstr(out, "s3cret") && !strchr(out, '@'));
	}
	/* A short buffer is cut, never overrun. */
	cred_url_origin("https://git.example.com/r", out, 9);
	CHECK_STR(out, "https://");
}

/* The other URL checks of the git layer, on the same parser. */
static void test_url_checks(void)
{
	char *p;
	CHECK(cred_url_has_password("https://alice:s3cret@git.example.com/r"));
	CHECK(cred_url_has_password("http://u:@h/r"));
	CHECK(!cred_url_has_password("https://alice@git.example.com/r"));
	CHECK(!cred_url_has_password("https://git.example.com/r?x=a:b@c"));
	CHECK(!cred_url_has_password("alice:s3cret@host:r.git") &&
	      !cred_url_has_password("/srv/a:b@c"));
	CHECK((p = transport_local_path("/srv/coord.git")) && !strcmp(p, "/srv/coord.git"));
	free(p);
	CHECK((p = transport_local_path("file:///srv/coord.git")) && !strcmp(p, "/srv/coord.git"));
	free(p);
	CHECK((p = transport_local_path("./a:b")) && !strcmp(p, "./a:b"));
	free(p);
	CHECK(!transport_local_path("host:r.git") && !transport_local_path("[::1]:r.git"));
	CHECK(!transport_local_path("https://h/r") && !transport_local_path("FILE:///x") && !transport_local_path(""));
}

/* ---- the tree writer ---------------------------------------------------- */

static git_repository *repo;
static cs_ctx tctx;

/* Every entry of tree id as "path=content" (a blob) or "path/" (an empty
 * tree), one per line, into b. */
static void list_tree(sbuf *b, const git_oid *id, const char *prefix)
{
	git_tree *t = NULL;
	CHECK(git_tree_lookup(&t, repo, id) == 0);
	if (!t)
		return;
	if (!git_tree_entrycount(t) && *prefix)
		sb_printf(b, "%s\n", prefix);
	for (size_t i = 0; i < git_tree_entrycount(t); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		char path[512];
		snprintf(path, sizeof path, "%s%s", prefix, git_tree_entry_name(e));
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			size_t n = strlen(path);
			snprintf(path + n, sizeof path - n, "/");
			list_tree(b, git_tree_entry_id(e), path);
		} else {
			git_blob *bl = NULL;
			CHECK(git_blob_lookup(&bl, repo, git_tree_entry_id(e)) == 0);
			sb_printf(b, "%s=%.*s\n", path, (int)git_blob_rawsize(bl),
				  (const char *)git_blob_rawcontent(bl));
			git_blob_free(bl);
		}
	}
	git_tree_free(t);
}

static void check_tree(const git_oid *id, const char *want)
{
	sbuf b = {0};
	char *got;
	list_tree(&b, id, "");
	got = sb_detach(&b);
	CHECK_STR(got ? got : "", want);
	free(got);
}

static git_oid blob_of(const char *text)
{
	git_oid id;
	CHECK(git_blob_create_from_buffer(&id, repo, text, strlen(text)) == 0);
	return id;
}

/* A tree built from scratch by edits applied one at a time: "+path=text"
 * puts, "-path" removes.  NULL-terminated. */
static git_oid tree_seq(const git_oid *base, const char *const *ops)
{
	git_oid cur = *base;
	for (size_t i = 0; ops[i]; i++) {
		git_tree *t = NULL;
		git_oid next;
		char path[256];
		const char *eq = strchr(ops[i], '=');
		CHECK(git_tree_lookup(&t, repo, &cur) == 0);
		if (ops[i][0] == '+') {
			git_oid b = blob_of(eq + 1);
			snprintf(path, sizeof path, "%.*s", (int)(eq - ops[i] - 1), ops[i] + 1);
			CHECK(tree_put(&tctx, t, path, &b, &next) == 0);
		} else {
			CHECK(tree_remove(&tctx, t, ops[i] + 1, &next) == 0);
		}
		git_tree_free(t);
		cur = next;
	}
	return cur;
}

static git_oid empty_tree(void)
{
	git_treebuilder *b = NULL;
	git_oid id;
	CHECK(git_treebuilder_new(&b, repo, NULL) == 0);
	CHECK(git_treebuilder_write(&id, b) == 0);
	git_treebuilder_free(b);
	return id;
}

/* What tree_put and tree_remove promise, one edit at a time. */
static void test_tree_single(void)
{
	static const char *const base_ops[] = {
		"+coordination/jobs.json=J", "+coordination/locks.json=L", "+logs/2026/12/a.log=A",
		"+logs/2026/12/b.log=B", "+logs/x.log=X", "+top=T", NULL};
	git_oid e = empty_tree(), base = tree_seq(&e, base_ops), id, b = blob_of("N");
	git_tree *t = NULL;
	char longname[300];

	check_tree(&base, "coordination/jobs.json=J\ncoordination/locks.json=L\n"
		   "logs/2026/12/a.log=A\nlogs/2026/12/b.log=B\nlogs/x.log=X\ntop=T\n");
	CHECK(git_tree_lookup(&t, repo, &base) == 0);
	/* A put on no tree at all. */
	CHECK(tree_put(&tctx, NULL, "a/b/c", &b, &id) == 0);
	check_tree(&id, "a/b/c=N\n");
	/* A file replaced, a file below a file (which becomes a directory), a
	 * file over a directory. */
	CHECK(tree_put(&tctx, t, "top", &b, &id) == 0);
	check_tree(&id, "coordination/jobs.json=J\ncoordination/locks.json=L\n"
		   "logs/2026/12/a.log=A\nlogs/2026/12/b.log=B\nlogs/x.log=X\ntop=N\n");
	CHECK(tree_put(&tctx, t, "top/in", &b, &id) == 0);
	check_tree(&id, "coordination/jobs.json=J\ncoordination/locks.json=L\n"
		   "logs/2026/12/a.log=A\nlogs/2026/12/b.log=B\nlogs/x.log=X\ntop/in=N\n");
	CHECK(tree_put(&tctx, t, "logs/2026", &b, &id) == 0);
	check_tree(&id, "coordination/jobs.json=J\ncoordination/locks.json=L\n"
		   "logs/2026=N\nlogs/x.log=X\ntop=T\n");
	/* Removing what is not there changes nothing. */
	CHECK(tree_remove(&tctx, t, "nothere", &id) == 0);
	CHECK(!git_oid_cmp(&id, &base));
	CHECK(tree_remove(&tctx, t, "logs/2025/12/a.log", &id) == 0);
	CHECK(!git_oid_cmp(&id, &base));
	CHECK(tree_remove(&tctx, t, "top/x", &id) == 0);
	CHECK(!git_oid_cmp(&id, &base));
	/* A removal takes the directories it leaves empty with it, a
	 * directory goes whole. */
	CHECK(tree_remove(&tctx, t, "logs/2026/12/a.log", &id) == 0);
	check_tree(&id, "coordination/jobs.json=J\ncoordination/locks.json=L\n"
		   "logs/2026/12/b.log=B\nlogs/x.log=X\ntop=T\n");
	CHECK(tree_remove(&tctx, t, "logs/x.log", &id) == 0);
	check_tree(&id, "coordination/jobs.json=J\ncoordination/locks.json=L\n"
		   "logs/2026/12/a.log=A\nlogs/2026/12/b.log=B\ntop=T\n");
	CHECK(tree_remove(&tctx, t, "logs", &id) == 0);
	check_tree(&id, "coordination/jobs.json=J\ncoordination/locks.json=L\ntop=T\n");
	{
		static const char *const ops[] = {"-logs/2026/12/a.log", "-logs/2026/12/b.log", NULL};
		id = tree_seq(&base, ops);
		check_tree(&id, "coordination/jobs.json=J\ncoordination/locks.json=L\n"
			   "logs/x.log=X\ntop=T\n");
	}
	{
		static const char *const ops[] = {"-top", "-logs", "-coordination", NULL};
		id = tree_seq(&base, ops);
		CHECK(!git_oid_cmp(&id, &e));
	}
	/* A name over 255 bytes is refused. */
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	longname[290] = '/';   /* a directory name over 255 bytes */
	CHECK(tree_put(&tctx, t, longname, &b, &id) == CS_EINVAL);
	CHECK(tree_remove(&tctx, t, longname, &id) == CS_EINVAL);
	git_tree_free(t);
}

/* ops (as tree_seq) applied to base in one tree_apply, into *out: the
 * same tree as applying them one at a time. */
static void tree_many(const git_oid *base, const char *const *ops, git_oid *out)
{
	tree_edit ed[16];
	git_tree *t = NULL;
	git_oid seq = tree_seq(base, ops);
	size_t n = 0;

	memset(ed, 0, sizeof ed);
	for (; ops[n]; n++) {
		const char *eq = strchr(ops[n], '=');
		ed[n].remove = ops[n][0] == '-';
		ed[n].path = ed[n].remove ? strdup(ops[n] + 1)
					  : strndup(ops[n] + 1, (size_t)(eq - ops[n] - 1));
		if (!ed[n].remove)
			ed[n].blob = blob_of(eq + 1);
	}
	CHECK(git_tree_lookup(&t, repo, base) == 0);
	CHECK(tree_apply(&tctx, t, ed, n, out) == 0);
	CHECK(!git_oid_cmp(out, &seq));
	git_tree_free(t);
	for (size_t i = 0; i < n; i++)
		free(ed[i].path);
}

/* Many edits at once: puts and removes in nested directories, several on
 * one path, a file made a directory and back. */
static void test_tree_many(void)
{
	static const char *const base_ops[] = {
		"+coordination/jobs.json=J", "+coordination/locks.json=L", "+logs/2026/12/a.log=A",
		"+logs/2026/12/b.log=B", "+logs/x.log=X", "+top=T", NULL};
	static const char *const mixed[] = {
		"+coordination/jobs.json=J2", "+logs/2026/12/c.log=C", "-logs/2026/12/a.log",
		"-logs/x.log", "+new/deep/dir/f=F", "+new/deep/g=G", "-top", "-nothere/x", NULL};
	static const char *const same[] = {"+a/b=1", "-a/b", "-logs/x.log", "+logs/x.log=Y",
					   "+z=1", "+z=2", NULL};
	static const char *const df[] = {"+top/in=I", "+logs/2026=N", "+logs/2026/12/z=Z",
					 "+p/q=1", "-p", "+p/r=2", NULL};
	static const char *const df2[] = {"+top/in=I", "-top/in", "-logs", "+logs/y=Y", NULL};
	static const char *const all[] = {"-logs/2026/12/a.log", "-logs/2026/12/b.log",
					  "-logs/x.log", "-coordination", "-top", NULL};
	static const char *const none[] = {NULL};
	git_oid e = empty_tree(), base = tree_seq(&e, base_ops), id;

	tree_many(&base, mixed, &id);
	check_tree(&id, "coordination/jobs.json=J2\ncoordination/locks.json=L\n"
		   "logs/2026/12/b.log=B\nlogs/2026/12/c.log=C\nnew/deep/dir/f=F\n"
		   "new/deep/g=G\n");
	tree_many(&base, same, &id);
	check_tree(&id, "coordination/jobs.json=J\ncoordination/locks.json=L\n"
		   "logs/2026/12/a.log=A\nlogs/2026/12/b.log=B\nlogs/x.log=Y\ntop=T\nz=2\n");
	tree_many(&base, df, &id);
	check_tree(&id, "coordination/jobs.json=J\ncoordination/locks.json=L\n"
		   "logs/2026/12/z=Z\nlogs/x.log=X\np/r=2\ntop/in=I\n");
	tree_many(&base, df2, &id);
	check_tree(&id, "coordination/jobs.json=J\ncoordination/locks.json=L\nlogs/y=Y\n");
	tree_many(&base, all, &id);
	CHECK(!git_oid_cmp(&id, &e));
	tree_many(&base, none, &id);
	CHECK(!git_oid_cmp(&id, &base));
	tree_many(&e, mixed, &id);
	check_tree(&id, "coordination/jobs.json=J2\nlogs/2026/12/c.log=C\nnew/deep/dir/f=F\n"
		   "new/deep/g=G\n");
	{
		/* A file's name may be long; one to remove may not (as one at a
		 * time: the removal is refused, and so the whole). */
		char longname[300];
		tree_edit ed[2];
		memset(longname, 'x', sizeof longname - 1);
		longname[sizeof longname - 1] = 0;
		memset(ed, 0, sizeof ed);
		ed[0].path = ed[1].path = longname;
		ed[0].blob = blob_of("1");
		ed[1].remove = 1;
		CHECK(tree_apply(&tctx, NULL, ed, 1, &id) == 0);
		CHECK(tree_apply(&tctx, NULL, ed, 2, &id) == CS_EINVAL);
	}
}

/* A version a handle wrote stays with its holder's keeper for the next
 * handle of that holder, never for another holder's; a holder that lets
 * go frees only its own. */
static void test_keeper(void)
{
	texts_keeper *k1 = texts_keeper_new(), *k2 = texts_keeper_new();
	cs_ctx a, b, c;
	git_oid id;
	size_t n = 0;
	const char *p;

	CHECK(k1 && k2);
	memset(&a, 0, sizeof a);
	a.repo = repo;
	b = c = a;
	a.keeper = texts_keeper_ref(k1);
	b.keeper = texts_keeper_ref(k1);
	c.keeper = texts_keeper_ref(k2);
	CHECK(texts_blob_write(&a, "coordination/jobs.json", "[1]", 3, &id) == 0);
	CHECK((p = texts_blob_text(&a, &id, &n)) && n == 3 && !memcmp(p, "[1]", 3));
	texts_free(&a);   /* to k1 */
	CHECK(!texts_blob_text(&c, &id, &n));   /* k2's handle: not there */
	texts_keeper_unref(k2);
	texts_keeper_unref(k1);   /* the holder lets go; a and b still point at it */
	CHECK((p = texts_blob_text(&b, &id, &n)) && n == 3 && !memcmp(p, "[1]", 3));
	texts_free(&b);
	texts_free(&c);
	texts_keeper_unref(a.keeper);
	texts_keeper_unref(b.keeper);
	texts_keeper_unref(c.keeper);   /* the last: frees k2 */
	texts_keeper_unref(NULL);
	CHECK(texts_keeper_ref(NULL) == NULL);
}

/* The server-directory rule (kinds_server_dir) on a commit's top tree: a
 * tree named by a valid server id; not a file, not a reserved name. */
static void test_server_dir(void)
{
	static const struct {
		const char *name;
		int tree, server;
	} cases[] = {
		{"build1", 1, 1}, {"web-2.eu", 1, 1}, {"coordination", 1, 0}, {"docs", 1, 0},
		{"Docs", 1, 0}, {"all", 1, 0}, {"a..b", 1, 0}, {"x y", 1, 0},
		{"build2", 0, 0}, {"README.md", 0, 0},
	};
	git_treebuilder *tb = NULL, *sub = NULL;
	git_oid blob, subtree, top;
	git_tree *t = NULL;

	CHECK(git_blob_create_from_buffer(&blob, repo, "{}\n", 3) == 0);
	CHECK(git_treebuilder_new(&sub, repo, NULL) == 0);
	CHECK(git_treebuilder_insert(NULL, sub, "heartbeat.json", &blob, GIT_FILEMODE_BLOB) == 0);
	CHECK(git_treebuilder_write(&subtree, sub) == 0);
	CHECK(git_treebuilder_new(&tb, repo, NULL) == 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK(git_treebuilder_insert(NULL, tb, cases[i].name, cases[i].tree ? &subtree : &blob,
					     cases[i].tree ? GIT_FILEMODE_TREE : GIT_FILEMODE_BLOB) == 0);
	CHECK(git_treebuilder_write(&top, tb) == 0);
	CHECK(git_tree_lookup(&t, repo, &top) == 0);
	for (size_t i = 0; t && i < sizeof cases / sizeof cases[0]; i++) {
		const git_tree_entry *e = git_tree_entry_byname(t, cases[i].name);
		CHECK(e != NULL);
		if (e && kinds_server_dir(e) != cases[i].server)
			fprintf(stderr, "server dir: %s\n", cases[i].name);
		CHECK(e && kinds_server_dir(e) == cases[i].server);
	}
	git_tree_free(t);
	git_treebuilder_free(sub);
	git_treebuilder_free(tb);
}

static void test_tree(void)
{
	char tmpl[512];
	const char *td = getenv("TMPDIR");

	snprintf(tmpl, sizeof tmpl, "%s/unit_git.XXXXXX", td && *td ? td : "/tmp");
	CHECK(mkdtemp(tmpl) != NULL);
	git_libgit2_init();
	CHECK(git_repository_init(&repo, tmpl, 1) == 0);
	memset(&tctx, 0, sizeof tctx);
	tctx.repo = repo;
	test_tree_single();
	test_tree_many();
	test_keeper();
	test_server_dir();
	git_repository_free(repo);
	git_libgit2_shutdown();
	{
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
		CHECK(system(cmd) == 0);
	}
}

int main(void)
{
	test_origin();
	test_url_checks();
	test_tree();
	return t_done();
}
