/* msg send, inbox and read. */
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"

static int run_send(cli *c)
{
	const char *const *kv;
	int n = cli_multi(c, "--set", &kv);
	char *id = NULL;
	cs_ctx *ctx;
	int rc;
	long long wait = cli_num(c, "--wait", CS_SEED_WAIT);
	if (!cli_str(c, "--subject"))
		return cli_usage(c, "msg send needs --subject");
	if (wait < 0 || wait > 86400)
		return cli_usage(c, "--wait must be between 0 and 86400 seconds");
	if ((rc = cli_open(c, &ctx)))
		return rc;
	cs_set_seed_wait(ctx, (double)wait);
	rc = cs_msg_send_set(ctx, &id, c->args[0], cli_str(c, "--type") ? cli_str(c, "--type") : "info",
			 cli_str(c, "--subject"), cli_str(c, "--body"), kv, n,
			 (cli_has(c, "--defer") ? CS_DEFER : 0) | (cli_has(c, "--force") ? CS_FORCE : 0));
	if (!rc)
		c->json ? cli_ok("id", id) : (void)printf("%s\n", id);
	free(id);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_inbox(cli *c)
{
	/* Unread as queries/message_unread.sql says; --all: every message to
	 * this server.  A server the mirror does not name reads the rows of ''
	 * (queries/message_servers.sql). */
	const char *f[] = {"_server", NULL, "_state", "unread", NULL}, *named[] = {"id", NULL, NULL};
	cs_rows *r = NULL;
	cs_ctx *ctx;
	int rc = cli_open(c, &ctx);
	if (rc)
		return rc;
	if (!cs_server(ctx)) {
		cs_close(ctx);
		return cli_usage(c, "no server id: pass --server or set coordsync.server");
	}
	named[1] = cs_server(ctx);
	if ((rc = cs_list(ctx, &r, "message_servers", named)) || (rc = cs_rows_next(r)) < 0) {
		cs_rows_free(r);
		rc = cli_fail(ctx, rc);
		cs_close(ctx);
		return rc;
	}
	f[1] = rc == 1 ? cs_server(ctx) : "";
	if (cli_has(c, "--all"))
		f[2] = NULL;
	rc = cli_show(ctx, "msg_inbox", f, c->json ? FMT_JSON : FMT_TABLE);
	cs_rows_free(r);
	cs_close(ctx);
	return rc;
}

static int run_read(cli *c)
{
	cs_ctx *ctx;
	int rc = cli_open(c, &ctx);
	if (rc)
		return rc;
	rc = cs_msg_read(ctx, c->args[0]);
	if (!rc && c->json)
		cli_ok("id", c->args[0]);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static const cli_opt send_opts[] = {
	{"--type", 's', "TYPE", "info, warning, error or request (default info)"},
	{"--subject", 's', "TEXT", "the subject line (required)"},
	{"--body", 's', "TEXT", "the message body"},
	{"--set", 'm', "KEY=VALUE", "a typed field of the message; VALUE is JSON if it parses, else a"
	 " string"},
	{"--defer", 'f', NULL, "queue it; the next sync pushes it"},
	{"--force", 'f', NULL, "send it even to a server the remote does not know (no directory or"
	 " heartbeat)"},
	{"--wait", 'd', "SEC", "while another server holds the seed's message_queue lock, keep"
	 " looking this long (default 10)"},
	{NULL, 0, NULL, NULL}};
static const cli_opt inbox_opts[] = {{"--all", 'f', NULL, "include messages already read"},
				     {NULL, 0, NULL, NULL}};
static const cli_opt none[] = {{NULL, 0, NULL, NULL}};

const cli_cmd cli_msg_cmds[] = {
	{"msg send", "TO|all", "send a message to a server or to all", 1, 1, send_opts, run_send, CLI_SERVED},
	{"msg inbox", "", "unread messages to this server or to all", 0, 0, inbox_opts, run_inbox, CLI_SERVED},
	{"msg read", "ID", "mark a message read (for this server only, if a broadcast)", 1, 1, none,
	 run_read, CLI_SERVED},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
