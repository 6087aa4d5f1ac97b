/* job add, claim, done, fail, cancel, rescue and list. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define JOB_FROM_MAX (64u << 20)   /* bytes of job add --from */

/* job add --from FILE|-: every job of a JSON array in one decision. */
static int run_add_from(cli *c)
{
	char *text = NULL, **ids = NULL, err[512];
	size_t len;
	int n = 0, rc;
	cs_ctx *ctx;
	if (cli_has(c, "--id") || cli_has(c, "--priority") || cli_has(c, "--set"))
		return cli_usage(c, "--from takes each job's id, priority and fields from its"
				 " entries, not from --id, --priority or --set");
	if (cli_read_input(cli_str(c, "--from"), JOB_FROM_MAX, &text, &len, err, sizeof err))
		return cli_usage(c, "--from: %s", err);
	if ((rc = cli_open(c, &ctx))) {
		free(text);
		return rc;
	}
	if (!(rc = cs_job_add_batch(ctx, &ids, &n, text, len))) {
		if (c->json)
			printf("{\"added\": %d, \"ids\": [", n);
		for (int i = 0; i < n; i++) {
			if (c->json) {
				fputs(i ? ", " : "", stdout);
				cli_json_string(stdout, ids[i]);
			} else {
				printf("%s\n", ids[i]);
			}
		}
		if (c->json)
			printf("]}\n");
	}
	cs_job_ids_free(ids, n);
	free(text);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_add(cli *c)
{
	const char *const *kv;
	int n = cli_multi(c, "--set", &kv), rc;
	long long prio = cli_num(c, "--priority", 5);
	char *id = NULL;
	cs_ctx *ctx;
	if (cli_has(c, "--from"))
		return run_add_from(c);
	if (prio < -1000000 || prio > 1000000)
		return cli_usage(c, "--priority is out of range");
	for (int i = 0; i < n && cli_has(c, "--priority"); i++)
		if (!strncmp(kv[i], "priority=", 9))
			return cli_usage(c, "--set 'priority' collides with --priority");
	if ((rc = cli_open(c, &ctx)))
		return rc;
	if (!(rc = cs_job_add(ctx, &id, cli_str(c, "--id"), (int)prio, kv, n)))
		c->json ? cli_ok("id", id) : (void)printf("%s\n", id);
	free(id);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

/* rec, one line of JSON object (cs_job_record), with "retries": retries
 * as its last member when retries >= 0. */
static void print_record(const char *rec, long long retries)
{
	size_t n = strlen(rec);
	if (retries < 0 || n < 2 || rec[n - 1] != '}') {
		printf("%s\n", rec);
		return;
	}
	printf("%.*s%s\"retries\": %lld}\n", (int)(n - 1), rec, n > 2 ? ", " : "", retries);
}

/* job show ID: the record (--json), or its fields one a line. */
static int run_show(cli *c)
{
	const char *const f[] = {"_job", c->args[0], NULL};
	char *rec = NULL;
	cs_ctx *ctx;
	int rc = cli_open(c, &ctx);
	if (rc)
		return rc;
	if (!(rc = cs_job_record(ctx, &rec, c->args[0]))) {
		if (c->json)
			print_record(rec, -1);
		else
			rc = cli_show(ctx, "job_fields", f, FMT_TABLE) ? CS_ERROR : CS_OK;
		free(rec);
		if (rc) {
			cs_close(ctx);
			return EXIT_ERR;   /* cli_show printed it */
		}
	}
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_claim(cli *c)
{
	long long wait = cli_num(c, "--wait", CS_SEED_WAIT);
	char *id = NULL;
	cs_ctx *ctx;
	int rc;
	if (wait < 0 || wait > 86400)
		return cli_usage(c, "--wait must be between 0 and 86400 seconds");
	if ((rc = cli_open(c, &ctx)))
		return rc;
	cs_set_seed_wait(ctx, (double)wait);
	if (!(rc = cs_job_claim(ctx, &id)) && cli_caller_gone(NULL)) {
		/* Served by the daemon, and the caller went away while the claim
		 * was pushed: nobody will run the job, so give it back. */
		cs_set_abort(ctx, NULL, NULL);
		rc = cs_job_requeue(ctx, id, "claim not delivered: its caller went away");
		cli_error(EXIT_ERR, "error", "job %s was claimed but the caller went away before the"
			  " answer; %s%s", id, rc ? "could not requeue it: " : "requeued it",
			  rc ? cs_errmsg(ctx) : "");
		free(id);
		cs_close(ctx);
		return EXIT_ERR;
	}
	if (!rc) {
		if (c->json) {
			/* The job's whole record (a worker needs its --set
			 * fields), and how many refused pushes the claim took. */
			char *rec = NULL;
			if (!(rc = cs_job_record(ctx, &rec, id)))
				print_record(rec, cs_last_retries(ctx));
			free(rec);
			rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
			free(id);
			cs_close(ctx);
			return rc;
		}
		printf("%s\n", id);
	}
	free(id);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int finish(cli *c, int op)
{
	cs_ctx *ctx;
	int rc = cli_open(c, &ctx);
	if (rc)
		return rc;
	if (op == 'd')
		rc = cs_job_done(ctx, c->args[0], cli_str(c, "--result"));
	else if (op == 'f')
		rc = cs_job_fail(ctx, c->args[0], cli_str(c, "--error"));
	else
		rc = cs_job_cancel(ctx, c->args[0]);
	if (!rc && c->json)
		cli_ok("id", c->args[0]);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_done(cli *c) { return finish(c, 'd'); }
static int run_fail(cli *c) { return finish(c, 'f'); }
static int run_cancel(cli *c) { return finish(c, 'x'); }

static int run_rescue(cli *c)
{
	long long older = cli_num(c, "--older-than", 600);
	cs_ctx *ctx;
	int n = 0, rc;
	cli_dry dry;
	if (older < 0 || older > INT_MAX)
		return cli_usage(c, "--older-than must be between 0 and %d seconds", INT_MAX);
	if ((rc = cli_open(c, &ctx)))
		return rc;
	cli_dry_start(ctx, &dry, cli_has(c, "--dry-run") || cli_has(c, "-n"));
	if (!(rc = cs_job_rescue(ctx, (int)older, &n))) {
		if (cli_dry_print(c, &dry, "requeue"))
			printf(c->json ? ", \"rescued\": %d}\n" : "would rescue %d job(s)\n", n);
		else if (!CLI_QUIET(c))
			printf(c->json ? "{\"rescued\": %d}\n" : "rescued %d job(s)\n", n);
	}
	cli_dry_free(&dry);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_list(cli *c)
{
	static const char *const statuses[] = {"queued", "running", "done", "failed", "cancelled",
					       NULL};
	const char *status = cli_str(c, "--status");
	const char *const f[] = {"status", status, NULL};
	cs_ctx *ctx;
	int rc, known = !status;
	for (int i = 0; status && statuses[i]; i++)
		known |= !strcmp(status, statuses[i]);
	if (!known)
		return cli_usage(c, "unknown status '%s' (queued, running, done, failed or cancelled)",
				 status);
	if ((rc = cli_open(c, &ctx)))
		return rc;
	rc = cli_show(ctx, "job_list", status ? f : NULL, c->json ? FMT_JSON : FMT_TABLE);
	cs_close(ctx);
	return rc;
}

static const cli_opt add_opts[] = {
	{"--id", 's', "ID", "the job's id (default: a new UUID)"},
	{"--priority", 'i', "N", "lower runs first (default 5)"},
	{"--set", 'm', "KEY=VALUE", "an extra job field; VALUE is JSON if it parses, else a string"},
	{"--from", 's', "FILE|-", "add every job of a JSON array of job objects (fields as --set,"
	 " \"id\", \"priority\") in one commit; prints their ids"},
	{NULL, 0, NULL, NULL}};
static const cli_opt done_opts[] = {{"--result", 's', "TEXT", "what the job produced"},
				    {NULL, 0, NULL, NULL}};
static const cli_opt fail_opts[] = {{"--error", 's', "TEXT", "why it failed"},
				    {NULL, 0, NULL, NULL}};
static const cli_opt rescue_opts[] = {
	{"--older-than", 'd', "SEC", "claim and heartbeat unchanged this long (watched): dead (default 600)"},
	{"--dry-run", 'f', NULL, "print the jobs it would requeue; change and push nothing"},
	{"-n", 'f', NULL, "short for --dry-run"},
	{NULL, 0, NULL, NULL}};
static const cli_opt list_opts[] = {{"--status", 's', "S", "only jobs in this status"},
				    {NULL, 0, NULL, NULL}};
static const cli_opt claim_opts[] = {
	{"--wait", 'd', "SEC", "while another server holds the seed's job_assignment lock, keep"
	 " looking this long (default 10)"},
	{NULL, 0, NULL, NULL}};
static const cli_opt none[] = {{NULL, 0, NULL, NULL}};

const cli_cmd cli_job_cmds[] = {
	{"job add", "", "queue a job; prints its id", 0, 0, add_opts, run_add, CLI_SERVED},
	{"job claim", "", "take the next queued job (lowest priority, then oldest)", 0, 0, claim_opts,
	 run_claim, CLI_SERVED},
	{"job done", "ID", "finish a job this server runs", 1, 1, done_opts, run_done, CLI_SERVED},
	{"job fail", "ID", "fail a job; it is retried while attempts remain", 1, 1, fail_opts,
	 run_fail, CLI_SERVED},
	{"job cancel", "ID", "cancel a queued or running job", 1, 1, none, run_cancel, CLI_SERVED},
	{"job rescue", "", "requeue running jobs whose server's heartbeat is stale", 0, 0,
	 rescue_opts, run_rescue, CLI_SERVED},
	{"job list", "", "list jobs", 0, 0, list_opts, run_list, CLI_SERVED},
	{"job show", "ID", "one job's record: every field, one a line (--json: the record)", 1, 1,
	 none, run_show, CLI_SERVED},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
