/* status set and heartbeat: this server's own files, last write wins. */
#include <stdio.h>
#include "cli.h"

static int run_status(cli *c)
{
	const char *const *kv, *const *un;
	int n = cli_multi(c, "--set", &kv), nun = cli_multi(c, "--unset", &un), rc;
	cs_status_edit e = {un, nun, cli_has(c, "--replace")};
	cs_ctx *ctx;
	if (e.replace && nun)
		return cli_usage(c, "--unset with --replace: --replace removes every field it does not set");
	if ((rc = cli_open(c, &ctx)))
		return rc;
	rc = cs_status_update(ctx, c->args[0], kv, n, &e, cli_has(c, "--defer"));
	if (!rc && c->json)
		cli_ok("status", c->args[0]);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_heartbeat(cli *c)
{
	cs_ctx *ctx;
	int rc = cli_open(c, &ctx);
	if (rc)
		return rc;
	rc = cs_heartbeat(ctx, cli_has(c, "--defer"));
	if (!rc && c->json)
		cli_ok(NULL, NULL);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static const cli_opt status_opts[] = {
	{"--set", 'm', "KEY=VALUE", "an extra status field; VALUE is JSON if it parses"},
	{"--unset", 'm', "KEY", "remove this field from status.json"},
	{"--replace", 'f', NULL, "write the whole file: only STATUS, the timestamp and the --set"
	 " fields remain"},
	{"--defer", 'f', NULL, "record it now, push it with the next sync"},
	{NULL, 0, NULL, NULL}};
static const cli_opt hb_opts[] = {
	{"--defer", 'f', NULL, "record it now, push it with the next sync"},
	{NULL, 0, NULL, NULL}};

const cli_cmd cli_status_cmds[] = {
	{"status set", "STATUS", "write this server's status.json", 1, 1, status_opts, run_status, CLI_SERVED},
	{"heartbeat", "", "write this server's heartbeat.json", 0, 0, hb_opts, run_heartbeat, CLI_SERVED},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
