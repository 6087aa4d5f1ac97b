/* jira sync, index, create, verify, curate, backlog and plan: the seed's
 * Jira scripts (docs/JIRA.md), over the engine's coordsync/jira.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* The page size option, checked: 0 when not given, -1 after a usage error. */
static int page_size(cli *c)
{
	long long n;
	if (!cli_has(c, "--page-size"))
		return 0;
	n = cli_num(c, "--page-size", 0);
	if (n < 1 || n > 1000)
		return cli_usage(c, "--page-size must be between 1 and 1000"), -1;
	return (int)n;
}

static int run_sync(cli *c)
{
	cs_jira_sync_opts o = {0};
	cs_jira_sync_stats st;
	cs_ctx *ctx;
	int rc;

	if ((o.page_size = page_size(c)) < 0)
		return EXIT_USAGE;
	o.jql = cli_str(c, "--jql");
	o.full = cli_has(c, "--full");
	if ((rc = cli_open(c, &ctx)))
		return rc;
	if (!(rc = cs_jira_sync(ctx, &o, &st)))
		printf(c->json ? "{\"pages\": %d, \"seen\": %d, \"added\": %d, \"changed\": %d,"
				 " \"fields\": %d}\n"
			       : "%d page(s), %d issue(s) seen: %d new, %d changed (%d field change(s))\n",
		       st.pages, st.seen, st.added, st.changed, st.fields);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_index(cli *c)
{
	cs_ctx *ctx;
	char commit[41];
	int tickets = 0, pushed, rc;

	if ((rc = cli_open(c, &ctx)))
		return rc;
	if (!(rc = cs_jira_index(ctx, &tickets, commit))) {
		pushed = commit[0] != 0;
		if (c->json)
			printf("{\"tickets\": %d, \"pushed\": %s, \"commit\": ", tickets,
			       pushed ? "true" : "false");
		if (c->json && pushed)
			printf("\"%s\"}\n", commit);
		else if (c->json)
			printf("null}\n");
		else if (pushed)
			printf("docs/JIRA_CURATED_TICKETS.md: %d ticket(s), pushed %.12s\n", tickets,
			       commit);
		else
			printf("docs/JIRA_CURATED_TICKETS.md: %d ticket(s), unchanged\n", tickets);
	}
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_create(cli *c)
{
	cs_jira_create_stats st;
	cs_ctx *ctx;
	char commit[41];
	int rc;

	if ((rc = cli_open(c, &ctx)))
		return rc;
	rc = cs_jira_create(ctx, c->args[0], &st, commit);
	if (!rc && c->json)
		printf("{\"created\": %d, \"updated\": %d, \"assigned\": %d, \"unchanged\": %d,"
		       " \"commit\": %s%s%s}\n", st.created, st.updated, st.assigned, st.unchanged,
		       commit[0] ? "\"" : "", commit[0] ? commit : "null", commit[0] ? "\"" : "");
	else if (!rc)
		printf("%d created, %d updated, %d assigned, %d unchanged; key map %s%.12s\n",
		       st.created, st.updated, st.assigned, st.unchanged,
		       commit[0] ? "pushed " : "unchanged", commit);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

typedef struct verify_arg {
	cli *c;
	FILE *out;   /* stdout, or with --json the rows until the end */
	int n;
} verify_arg;

static int print_check(const cs_jira_check *k, void *p)
{
	verify_arg *a = p;
	if (a->c->json) {
		fprintf(a->out, "%s\n {\"key\": ", a->n ? "," : "");
		cli_json_string(a->out, k->key);
		fprintf(a->out, ", \"field\": ");
		cli_json_string(a->out, k->field);
		fprintf(a->out, ", \"expected\": ");
		cli_json_string(a->out, k->expected);
		fprintf(a->out, ", \"actual\": ");
		cli_json_string(a->out, k->actual);
		fprintf(a->out, ", \"ok\": %s}", k->ok ? "true" : "false");
	} else {
		if (!a->n)
			printf("%-16s %-9s %-8s %s\n", "KEY", "FIELD", "RESULT", "EXPECTED / ACTUAL");
		printf("%-16s %-9s %-8s ", k->key, k->field, k->ok ? "ok" : "MISMATCH");
		cli_put_text(stdout, k->expected);
		if (!k->ok) {
			printf(" / ");
			cli_put_text(stdout, k->actual);
		}
		printf("\n");
	}
	a->n++;
	return 0;
}

static int run_verify(cli *c)
{
	cs_jira_expect e = {0};
	verify_arg a = {c, NULL, 0};
	cs_ctx *ctx;
	char *buf = NULL;
	size_t len = 0;
	int bad = 0, rc;

	e.file = cli_str(c, "--file");
	e.reporter = cli_str(c, "--reporter");
	e.assignee = cli_str(c, "--assignee");
	e.status = cli_str(c, "--status");
	if (e.file && (e.reporter || e.assignee || e.status))
		return cli_usage(c, "--file holds the expectations: not with --reporter, --assignee"
				 " or --status");
	if (!e.file && !e.reporter && !e.assignee && !e.status)
		return cli_usage(c, "nothing to verify: give --file, or --reporter, --assignee or"
				 " --status");
	if ((rc = cli_open(c, &ctx)))
		return rc;
	/* --json: the rows gathered, printed as one object when every
	 * issue was checked (an error prints only the error). */
	a.out = c->json ? open_memstream(&buf, &len) : stdout;
	if (!a.out) {
		cs_close(ctx);
		return cli_error(EXIT_ERR, "error", "out of memory");
	}
	rc = cs_jira_verify(ctx, c->args, c->nargs, &e, print_check, &a, &bad);
	if (c->json && !fclose(a.out) && !rc)
		printf("{\"rows\": [%s%s], \"mismatches\": %d}\n", buf ? buf : "", a.n ? "\n" : "",
		       bad);
	free(buf);
	if (!rc && bad)
		cli_error(EXIT_ERR, "error", "%d mismatch(es)", bad);
	rc = rc ? cli_fail(ctx, rc) : bad ? EXIT_ERR : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_curate(cli *c)
{
	cs_ctx *ctx;
	int seen = 0, changed = 0, rc;

	if ((rc = cli_open(c, &ctx)))
		return rc;
	if (!(rc = cs_jira_curate(ctx, c->args, c->nargs, &seen, &changed)))
		printf(c->json ? "{\"seen\": %d, \"changed\": %d}\n" : "%d issue(s), %d changed\n",
		       seen, changed);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_backlog(cli *c)
{
	cs_ctx *ctx;
	int tr = 0, moved = 0, rc;

	if ((rc = cli_open(c, &ctx)))
		return rc;
	if (!(rc = cs_jira_backlog(ctx, c->args[0], &tr, &moved))) {
		if (c->json)
			printf("{\"transitioned\": %s, \"moved\": %s}\n", tr ? "true" : "false",
			       moved ? "true" : "false");
		else
			printf("%s: %s, %s\n", c->args[0], tr ? "moved to To Do" : "already To Do",
			       moved ? "moved to the backlog" : "already in the backlog");
	}
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_plan(cli *c)
{
	cs_jira_plan_result r;
	cs_ctx *ctx;
	int rc;

	if ((rc = cli_open(c, &ctx)))
		return rc;
	if (!(rc = cs_jira_plan(ctx, c->args[0], c->args + 1, c->nargs - 1, &r))) {
		if (c->json)
			printf("{\"board\": \"%s\", \"created\": %s, \"added\": %d}\n",
			       r.scrum ? "scrum" : "kanban", r.created ? "true" : "false", r.added);
		else
			printf("%s '%s' %s; %d issue(s) added\n", r.scrum ? "sprint" : "fix version",
			       c->args[0], r.created ? "created" : "found", r.added);
	}
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static const cli_opt sync_opts[] = {
	{"--jql", 's', "JQL", "only the issues of `project = KEY AND (JQL)`; leaves the incremental"
	 " mark alone"},
	{"--full", 'f', NULL, "ask for every issue of the project, not only those updated since the"
	 " last sync"},
	{"--page-size", 'i', "N", "issues per request (default coordsync.jira.pagesize, 100)"},
	{NULL, 0, NULL, NULL}};
static const cli_opt verify_opts[] = {
	{"--file", 's', "FILE", "the ticket file of `jira create`: each ticket's \"reporter\","
	 " \"assignee\" and \"status\""},
	{"--reporter", 's', "USER", "expected reporter (accountId, name, email or display name)"},
	{"--assignee", 's', "USER", "expected assignee"},
	{"--status", 's', "STATUS", "expected status (\"To Do\")"},
	{NULL, 0, NULL, NULL}};
static const cli_opt none[] = {{NULL, 0, NULL, NULL}};

const cli_cmd cli_jira_cmds[] = {
	{"jira sync", "", "take the project's issues (coordsync.jira.project) into the mirror's"
	 " jira_issues, incrementally, each changed field into jira_history", 0, 0, sync_opts,
	 run_sync, 0},
	{"jira index", "", "write docs/JIRA_CURATED_TICKETS.md from the mirror (view jira_index) in"
	 " one commit, only when it changed", 0, 0, none, run_index, 0},
	{"jira create", "FILE", "create or update the tickets of FILE and assign them; the key map"
	 " docs/curated_ticket_keys.json in one commit", 1, 1, none, run_create, 0},
	{"jira verify", "[KEY...]", "check reporter, assignee and status (default: the key map's"
	 " issues); exits 1 on a mismatch", 0, CLI_MAXARG, verify_opts, run_verify, 0},
	{"jira curate", "[KEY...]", "add coordsync.jira.labels and link non-epics to"
	 " coordsync.jira.epic (default: the key map's issues)", 0, CLI_MAXARG, none, run_curate, 0},
	{"jira backlog", "KEY", "bring the issue to To Do and move it to the backlog", 1, 1, none,
	 run_backlog, 0},
	{"jira plan", "NAME [KEY...]", "scrum board: create or reuse sprint NAME and add the issues;"
	 " kanban: the fix version NAME (default: the key map's issues)", 1, CLI_MAXARG, none,
	 run_plan, 0},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
