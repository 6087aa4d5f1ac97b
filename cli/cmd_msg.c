/* msg send, inbox and read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define MSG_BODY_MAX (16u << 20)   /* bytes of msg send --body - */

static int run_send(cli *c)
{
	const char *const *kv;
	int n = cli_multi(c, "--set", &kv);
	char *id = NULL, *in = NULL, err[512];
	const char *body = cli_str(c, "--body");
	size_t len;
	cs_ctx *ctx;
	int rc;
	long long wait = cli_num(c, "--wait", CS_SEED_WAIT);
	if (!cli_str(c, "--subject"))
		return cli_usage(c, "msg send needs --subject");
	if (wait < 0 || wait > 86400)
		return cli_usage(c, "--wait must be between 0 and 86400 seconds");
	/* --body -: standard input, byte for byte. */
	if (body && !strcmp(body, "-")) {
		if (cli_read_input("-", MSG_BODY_MAX, &in, &len, err, sizeof err))
			return cli_usage(c, "--body: %s", err);
		if (strlen(in) != len) {
			free(in);
			return cli_usage(c, "--body: standard input holds a NUL byte");
		}
		body = in;
	}
	if ((rc = cli_open(c, &ctx))) {
		free(in);
		return rc;
	}
	cs_set_seed_wait(ctx, (double)wait);
	rc = cs_msg_send_set(ctx, &id, c->args[0], cli_str(c, "--type") ? cli_str(c, "--type") : "info",
			 cli_str(c, "--subject"), body, kv, n,
			 (cli_has(c, "--defer") ? CS_DEFER : 0) | (cli_has(c, "--force") ? CS_FORCE : 0));
	if (!rc)
		c->json ? cli_ok("id", id) : (void)printf("%s\n", id);
	free(in);
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
	int rc, n = 0, all = cli_has(c, "--all");
	if (all == (c->nargs == 1))
		return cli_usage(c, all ? "give a message ID or --all, not both"
				 : "msg read needs a message ID (or --all)");
	if ((rc = cli_open(c, &ctx)))
		return rc;
	if (!all) {
		if (!(rc = cs_msg_read(ctx, c->args[0])) && c->json)
			cli_ok("id", c->args[0]);
	} else if (!(rc = cs_msg_read_all(ctx, &n)) && (c->json || !c->quiet))
		printf(c->json ? "{\"read\": %d}\n" : "marked %d message(s) read\n", n);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static const cli_opt send_opts[] = {
	{"--type", 's', "TYPE", "info, warning, error or request (default info)"},
	{"--subject", 's', "TEXT", "the subject line (required)"},
	{"--body", 's', "TEXT", "the message body; - reads it from standard input"},
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
static const cli_opt read_opts[] = {{"--all", 'f', NULL, "every message this server has not"
				     " read yet, in one commit"},
				    {NULL, 0, NULL, NULL}};

const cli_cmd cli_msg_cmds[] = {
	{"msg send", "TO|all", "send a message to a server or to all", 1, 1, send_opts, run_send, CLI_SERVED},
	{"msg inbox", "", "unread messages to this server or to all", 0, 0, inbox_opts, run_inbox, CLI_SERVED},
	{"msg read", "ID|--all", "mark a message read (for this server only, if a broadcast)", 0, 1,
	 read_opts,
	 run_read, CLI_SERVED},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
