/* demo: the main job on an embedded default.  A local bare repository made
 * from the template is the remote; two servers sync, queue, claim, lock and
 * message through it, and a summary is printed at the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static int step(cs_ctx *ctx, int rc, const char *what)
{
	if (rc && rc != CS_EREFUSED)
		cli_error(EXIT_ERR, cli_code(rc), "demo: %s: %s", what, cs_errmsg(ctx));
	return rc == CS_EREFUSED ? CS_OK : rc;
}

/* The --json answer: the steps (txt, a memstream on *steps, closed here)
 * as lines, and the four summary lists as arrays of rows. */
static int demo_json(cs_ctx *ctx, const char *dir, const char *remote, const char *head,
		     FILE *txt, char **steps)
{
	static const char *const lists[][2] = {{"summary", "demo_summary"}, {"locks", "demo_locks"},
					       {"messages", "demo_messages"}, {"fleet", "demo_fleet"}};
	cli_obj o;
	int rc = CS_OK;
	fflush(txt);
	cli_obj_open(&o, stdout);
	cli_obj_bool(&o, "ok", 1);
	cli_obj_str(&o, "dir", dir);
	cli_obj_str(&o, "remote", remote);
	cli_obj_str(&o, "head", head);
	cli_obj_key(&o, "steps");
	fputc('[', stdout);
	for (char *line = *steps, *nl, *sep = ""; line && *line; line = nl + 1, sep = ", ") {
		if (!(nl = strchr(line, '\n')))
			break;
		*nl = 0;
		fputs(sep, stdout);
		cli_json_string(stdout, line);
	}
	fputc(']', stdout);
	for (int i = 0; i < 4 && !rc; i++) {
		cs_rows *r = NULL;
		cli_obj_key(&o, lists[i][0]);
		if (!(rc = cs_list(ctx, &r, lists[i][1], NULL)))
			rc = cli_print_rows(stdout, r, FMT_JSON);
		cs_rows_free(r);
	}
	fclose(txt);
	if (rc) {
		fputs("null", stdout);
		cli_obj_close(&o);
		return cli_fail(ctx, rc);
	}
	cli_obj_close(&o);
	return EXIT_OK;
}

static int run_demo(cli *c)
{
	char dir[512], remote[600], d1[600], d2[600], err[512];
	const char *names[2] = {"build1", "build2"};
	cs_ctx *s[2] = {NULL, NULL};
	cs_lock_info li;
	cs_sync_stats st;
	char *id = NULL, *claimed[4] = {NULL, NULL, NULL, NULL}, *steps = NULL;
	size_t nsteps = 0;
	int rc = CS_OK, ex = EXIT_ERR;
	/* With --json the steps are collected and printed in the one object. */
	FILE *txt = c->json ? open_memstream(&steps, &nsteps) : stdout;

	if (!txt)
		return cli_error(EXIT_ERR, "error", "demo: out of memory");

	if (c->nargs) {
		snprintf(dir, sizeof dir, "%s", c->args[0]);
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s/coordsync-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			cli_error(EXIT_ERR, "error", "demo: mkdtemp: %s", strerror(errno));
			goto done;
		}
	}
	snprintf(remote, sizeof remote, "%s/remote.git", dir);
	snprintf(d1, sizeof d1, "%s/build1", dir);
	snprintf(d2, sizeof d2, "%s/build2", dir);
	fprintf(txt, "demo: remote %s (a local bare repository)\n", remote);
	if (cs_create_remote(remote, err, sizeof err)) {
		cli_error(EXIT_ERR, "error", "demo: %s", err);
		goto done;
	}
	for (int i = 0; i < 2; i++) {
		cs_opts o = {NULL, names[i], NULL};
		/* The first heartbeat makes the server known to the others (a
		 * message to it is accepted from then on). */
		if ((rc = cs_clone(&s[i], remote, i ? d2 : d1, &o)) || (rc = cs_sync(s[i], &st)) ||
		    (rc = cs_heartbeat(s[i], 0))) {
			step(s[i], rc, "init");
			goto done;
		}
		fprintf(txt, "demo: %s cloned into %s, head %.12s\n", names[i], i ? d2 : d1, st.head);
	}
	/* build1 queues work and announces it. */
	for (int i = 0; i < 6; i++) {
		char key[32], idbuf[32];
		const char *kv[1] = {key};
		snprintf(idbuf, sizeof idbuf, "build-%d", i + 1);
		snprintf(key, sizeof key, "target=pkg%d", i + 1);
		if ((rc = step(s[0], cs_job_add(s[0], &id, idbuf, 1 + i % 3, kv, 1), "job add")))
			goto done;
		free(id);
		id = NULL;
	}
	fprintf(txt, "demo: build1 queued 6 jobs (priorities 1-3)\n");
	if ((rc = step(s[0], cs_msg_send(s[0], &id, "build2", "request", "please take half",
					  "six jobs are queued", 0), "msg send")))
		goto done;
	free(id);
	id = NULL;
	fprintf(txt, "demo: build1 sent a request to build2\n");
	/* Both claim in turn; each claim is one commit pushed as a CAS. */
	for (int i = 0; i < 4; i++) {
		cs_ctx *x = s[i % 2];
		if ((rc = step(x, cs_job_claim(x, &claimed[i]), "job claim")))
			goto done;
		fprintf(txt, "demo: %s claimed %s\n", names[i % 2], claimed[i] ? claimed[i] : "(none)");
	}
	for (int i = 0; i < 4; i++)
		if (claimed[i] && (rc = step(s[i % 2], cs_job_done(s[i % 2], claimed[i], "ok"), "job done")))
			goto done;
	fprintf(txt, "demo: the four claimed jobs are done\n");
	/* build2 reads its inbox and answers; locks show fencing. */
	if ((rc = cs_sync(s[1], &st)) ||
	    (rc = step(s[1], cs_msg_send(s[1], &id, "build1", "info", "on it", NULL, 0), "reply")))
		goto done;
	free(id);
	id = NULL;
	if ((rc = step(s[0], cs_lock_acquire(s[0], "deploy", 60, 0, &li), "lock")))
		goto done;
	fprintf(txt, "demo: build1 holds 'deploy' with fence %lld\n", li.fence);
	rc = cs_lock_acquire(s[1], "deploy", 60, 0, &li);
	fprintf(txt, "demo: build2 asks for 'deploy': ");
	cli_put_text(txt, rc == CS_EREFUSED ? cs_errmsg(s[1]) : "granted?!");
	fputc('\n', txt);
	if ((rc = step(s[0], cs_lock_release(s[0], "deploy"), "release")) ||
	    (rc = step(s[1], cs_lock_acquire(s[1], "deploy", 60, 0, &li), "lock")))
		goto done;
	fprintf(txt, "demo: build1 released it; build2 now holds it with fence %lld\n", li.fence);
	for (int i = 0; i < 2; i++)
		if ((rc = step(s[i], cs_status_set(s[i], "idle", NULL, 0, 1), "status")) ||
		    (rc = step(s[i], cs_heartbeat(s[i], 1), "heartbeat")) ||
		    (rc = step(s[i], cs_sync(s[i], &st), "sync")))
			goto done;
	fprintf(txt, "demo: both servers deferred status and heartbeat, pushed in one commit each\n");
	if ((rc = cs_sync(s[0], &st)))
		goto done;
	if (c->json) {
		ex = demo_json(s[0], dir, remote, st.head, txt, &steps);
		txt = NULL;
		goto done;
	}
	fprintf(txt, "\nsummary (build1's mirror after a final sync, head %.12s):\n\n", st.head);
	if (cli_show(s[0], "demo_summary", NULL, FMT_TABLE) ||
	    (fprintf(txt, "\n"), cli_show(s[0], "demo_locks", NULL, FMT_TABLE)) ||
	    (fprintf(txt, "\n"), cli_show(s[0], "demo_messages", NULL, FMT_TABLE)) ||
	    (fprintf(txt, "\n"), cli_show(s[0], "demo_fleet", NULL, FMT_TABLE)))
		goto done;
	fprintf(txt, "\nthe remote's history: git --git-dir=%s log --oneline\n", remote);
	ex = EXIT_OK;
done:
	if (txt && txt != stdout)
		fclose(txt);
	free(steps);
	for (int i = 0; i < 4; i++)
		free(claimed[i]);
	free(id);
	cs_close(s[0]);
	cs_close(s[1]);
	return ex;
}

const cli_cmd cli_demo_cmds[] = {
	{"demo", "[DIR]", "run two servers against a local bare remote in DIR (default: a new "
	 "temporary directory) and print a summary", 0, 1, NULL, run_demo, 0},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
