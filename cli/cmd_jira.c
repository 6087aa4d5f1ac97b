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

static const cli_opt sync_opts[] = {
	{"--jql", 's', "JQL", "only the issues of `project = KEY AND (JQL)`; leaves the incremental"
	 " mark alone"},
	{"--full", 'f', NULL, "ask for every issue of the project, not only those updated since the"
	 " last sync"},
	{"--page-size", 'i', "N", "issues per request (default coordsync.jira.pagesize, 100)"},
	{NULL, 0, NULL, NULL}};
static const cli_opt none[] = {{NULL, 0, NULL, NULL}};

const cli_cmd cli_jira_cmds[] = {
	{"jira sync", "", "take the project's issues (coordsync.jira.project) into the mirror's"
	 " jira_issues, incrementally, each changed field into jira_history", 0, 0, sync_opts,
	 run_sync, 0},
	{"jira index", "", "write docs/JIRA_CURATED_TICKETS.md from the mirror (view jira_index) in"
	 " one commit, only when it changed", 0, 0, none, run_index, 0},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
