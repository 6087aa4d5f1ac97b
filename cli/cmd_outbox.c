/* outbox list, retry and drop: the deferred intents waiting in the clone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"

typedef struct list_arg {
	cli *c;
	int n;
} list_arg;

static int print_intent(const cs_intent *in, void *p)
{
	list_arg *a = p;
	char created[CLI_TIME_MAX];
	cli_time(created, in->created_at);
	if (!created[0])
		snprintf(created, sizeof created, "?");
	if (a->c->json) {
		printf("%s{\"id\": %lld, \"kind\": ", a->n ? ", " : "", in->id);
		cli_json_string(stdout, in->kind ? in->kind : "");
		printf(", \"created_at\": ");
		cli_json_string(stdout, created);
		printf(", \"state\": \"%s\", \"error\": ", in->error ? "set-aside" : "pending");
		if (in->error)
			cli_json_string(stdout, in->error);
		else
			printf("null");
		printf(", \"payload\": ");
		cli_json_string(stdout, in->payload ? in->payload : "");
		printf("}");
	} else {
		if (!a->n)
			printf("%-6s %-9s %-20s %-9s %s\n", "ID", "KIND", "CREATED", "STATE",
			       "PAYLOAD / ERROR");
		printf("%-6lld %-9s %-20s %-9s ", in->id, in->kind ? in->kind : "", created,
		       in->error ? "set-aside" : "pending");
		cli_put_text(stdout, in->payload);
		if (in->error) {
			printf("\n%37s error: ", "");
			cli_put_text(stdout, in->error);
		}
		printf("\n");
	}
	a->n++;
	return 0;
}

static int run_list(cli *c)
{
	list_arg a = {c, 0};
	cs_ctx *ctx;
	int rc = cli_open(c, &ctx);
	if (rc)
		return rc;
	if (c->json)
		printf("{\"rows\": [");
	rc = cs_outbox_list(ctx, print_intent, &a);
	if (c->json)
		printf("]}\n");
	else if (!rc && !a.n)
		printf("(the outbox is empty)\n");
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

/* A positive intent id, or 0 after a usage error. */
static long long intent_id(cli *c, const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || v <= 0)
		return cli_usage(c, "'%s' is not an intent id (see `coordsync outbox list`)", s), 0;
	return v;
}

static int run_retry(cli *c)
{
	long long id = 0;
	int n = 0, rc;
	cs_ctx *ctx;
	if (cli_has(c, "--all") == (c->nargs > 0))
		return cli_usage(c, "give an intent id or --all");
	if (c->nargs && !(id = intent_id(c, c->args[0])))
		return EXIT_USAGE;
	if ((rc = cli_open(c, &ctx)))
		return rc;
	if (!(rc = cs_outbox_retry(ctx, id, &n)) && (c->json || !c->quiet))
		printf(c->json ? "{\"retried\": %d}\n" : "%d intent%s back in line for the next sync\n",
		       n, n == 1 ? "" : "s");
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_drop(cli *c)
{
	long long id = intent_id(c, c->args[0]);
	cs_ctx *ctx;
	int rc;
	if (!id)
		return EXIT_USAGE;
	if ((rc = cli_open(c, &ctx)))
		return rc;
	rc = cs_outbox_drop(ctx, id);
	if (!rc && c->json)
		cli_ok("id", c->args[0]);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static const cli_opt none[] = {{NULL, 0, NULL, NULL}};
static const cli_opt retry_opts[] = {
	{"--all", 'f', NULL, "every set-aside intent"},
	{NULL, 0, NULL, NULL}};

const cli_cmd cli_outbox_cmds[] = {
	{"outbox list", "", "the deferred intents waiting to be pushed, and those set aside", 0, 0,
	 none, run_list, 0},
	{"outbox retry", "ID|--all", "put a set-aside intent back in line for the next sync", 0, 1,
	 retry_opts, run_retry, 0},
	{"outbox drop", "ID", "delete a deferred intent: it is never pushed", 1, 1, none, run_drop, 0},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
