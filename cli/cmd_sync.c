/* init, sync, rebuild and info: the mirror itself (query and schema:
 * cmd_query.c). */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static int report_sync(cli *c, cs_ctx *ctx, const char *verb, int rc, const cs_sync_stats *st)
{
	if (c->json) {
		printf("{\"ok\": %s, \"head\": \"%s\", \"files_imported\": %d,"
		       " \"records_imported\": %ld, \"files_failed\": %d, \"intents_pushed\": %d,"
		       " \"pushed\": %d}\n",
		       rc ? "false" : "true", st->head, st->files_imported, st->records_imported,
		       st->files_failed, st->intents_pushed, st->pushed);
	} else if ((!rc || st->files_failed) && !c->quiet) {
		printf("%s: head %.12s, %d file%s imported, %d failed, %d intent%s pushed\n", verb,
		       st->head[0] ? st->head : "(empty)", st->files_imported,
		       st->files_imported == 1 ? "" : "s", st->files_failed, st->intents_pushed,
		       st->intents_pushed == 1 ? "" : "s");
	}
	return rc ? cli_fail(ctx, rc) : EXIT_OK;
}

static const cli_opt init_opts[] = {
	{"--user", 's', "NAME", "user name for an http(s) or ssh remote (coordsync.remote.user)"},
	{"--token-file", 's', "FILE", "file holding the http(s) remote's token, mode 0600 "
	 "(coordsync.remote.tokenfile)"},
	{"--ssh-key", 's', "FILE", "private key for an ssh remote, mode 0600, instead of "
	 "ssh-agent (coordsync.remote.sshkey)"},
	{"--adopt", 'f', NULL, "add coordination/ to a remote that holds other files (refused "
	 "without it)"},
	{NULL, 0, NULL, NULL}};

static int run_init(cli *c)
{
	cs_opts o = {NULL, c->server, c->db};
	cs_remote_auth auth = {cli_str(c, "--user"), cli_str(c, "--token-file"),
			       cli_str(c, "--ssh-key")};
	cs_sync_stats st;
	cs_ctx *ctx = NULL;
	int rc;
	if (!c->server)
		return cli_usage(c, "init needs --server ID");
	if (!cs_valid_id(c->server))
		return cli_usage(c, "invalid server id '%s': use 1-64 of [A-Za-z0-9._-], no leading dot",
				 c->server);
	if (cs_reserved_id(c->server))
		return cli_usage(c, "server id '%s' is reserved: it names a directory of the"
				 " repository's shared layout or a recipient", c->server);
	rc = cli_has(c, "--adopt") ? cs_clone_adopt(&ctx, c->args[0], c->args[1], &o, &auth)
				   : cs_clone_auth(&ctx, c->args[0], c->args[1], &o, &auth);
	if (!rc) {
		const char *const f[] = {"server", c->server, NULL};
		cs_rows *r = NULL;
		memset(&st, 0, sizeof st);
		rc = cs_sync(ctx, &st);
		if (!c->json && !c->quiet)
			printf("initialized '%s' as %s\n", c->args[1], c->server);
		/* Two clones must not share a server id (health: duplicate). */
		if (!rc && !c->quiet && !cs_list(ctx, &r, "server_heartbeat", f) && cs_rows_next(r) == 1) {
			char tb[CLI_TIME_MAX];
			cli_warn("warning: server %s already has a heartbeat on the remote (%s): if the"
				 " clone that wrote it still runs, stop it; two clones must not use one"
				 " server id", c->server, cli_time_cell(cs_rows_text(r, 1), tb));
		}
		cs_rows_free(r);
		/* The seed's "Initialize status files": those it has not yet. */
		if (!rc)
			rc = cs_init_status_files(ctx);
		rc = report_sync(c, ctx, "sync", rc, &st);
	} else {
		rc = cli_fail(ctx, rc);
	}
	cs_close(ctx);
	return rc;
}

/* cli_open, except that a mirror SQLite finds malformed is no error here:
 * sync, rebuild and accept-history set it aside and build a new one. */
static int open_repairing(cli *c, cs_ctx **ctx)
{
	cs_opts o = {c->dir, c->server, c->db};
	int rc = cs_open(ctx, &o);
	if (rc && cs_mirror_malformed(*ctx)) {
		cs_set_notice(*ctx, c->quiet ? NULL : cli_notice, NULL);
		return EXIT_OK;
	}
	if (rc) {
		cs_close(*ctx);
		*ctx = NULL;
		return cli_open(c, ctx);   /* says why, as every command does */
	}
	cs_set_notice(*ctx, c->quiet ? NULL : cli_notice, NULL);
	return EXIT_OK;
}

/* verb (sync, rebuild, accept-history): fn on a handle that may set a
 * malformed mirror aside, reported as sync reports. */
static int run_mirror_verb(cli *c, const char *verb, int (*fn)(cs_ctx *, cs_sync_stats *))
{
	cs_sync_stats st;
	cs_ctx *ctx;
	int rc = open_repairing(c, &ctx);
	if (rc)
		return rc;
	rc = report_sync(c, ctx, verb, fn(ctx, &st), &st);
	cs_close(ctx);
	return rc;
}

static int run_sync(cli *c) { return run_mirror_verb(c, "sync", cs_sync); }
static int run_rebuild(cli *c) { return run_mirror_verb(c, "rebuild", cs_rebuild); }
static int run_accept_history(cli *c)
{
	return run_mirror_verb(c, "accept-history", cs_accept_history);
}

static int run_info(cli *c)
{
	cs_rows *r = NULL;
	cs_ctx *ctx;
	int rc;
	if ((rc = cli_open(c, &ctx)))
		return rc;
	if (!(rc = cs_list(ctx, &r, "clone_info", NULL)) && (rc = cs_rows_next(r)) == 1) {
		const char *keys[] = {"clone", "mirror", "server"};
		const char *vals[] = {cs_workdir(ctx), cs_dbpath(ctx), cs_server(ctx)};
		printf(c->json ? "{" : "");
		for (int i = 0; i < 3; i++) {
			if (c->json) {
				printf(i ? ", " : "");
				cli_json_string(stdout, keys[i]);
				printf(": ");
				vals[i] ? cli_json_string(stdout, vals[i]) : (void)printf("null");
			} else {
				printf("%-12s ", keys[i]);
				cli_put_text(stdout, vals[i] ? vals[i] : "(none)");
				putchar('\n');
			}
		}
		for (int i = 0; i < cs_rows_columns(r); i++) {
			char tb[CLI_TIME_MAX];
			const char *v = cli_time_cell(cs_rows_text(r, i), tb);
			if (c->json) {
				printf(", ");
				cli_json_string(stdout, cs_rows_name(r, i));
				printf(": ");
				if (!v)
					printf("null");
				else if (cs_rows_type(r, i) == CS_INT)
					printf("%s", v);
				else
					cli_json_string(stdout, v);
			} else {
				printf("%-12s ", cs_rows_name(r, i));
				cli_put_text(stdout, v ? v : "(none)");
				putchar('\n');
			}
		}
		/* The deferred intents are in their own file (outbox.db). */
		{
			long long pending = 0, held = 0;
			if (!(rc = cs_outbox_count(ctx, &pending, &held))) {
				if (c->json)
					printf(", \"outbox\": %lld, \"outbox_set_aside\": %lld", pending, held);
				else
					printf("%-12s %lld\n%-12s %lld\n", "outbox", pending, "set aside", held);
			}
		}
		printf(c->json ? "}\n" : "");
	}
	cs_rows_free(r);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static const cli_opt none[] = {{NULL, 0, NULL, NULL}};

const cli_cmd cli_sync_cmds[] = {
	{"init", "URL DIR", "clone the coordination repo into DIR and build its mirror "
	 "(an empty remote gets the template files)", 2, 2, init_opts, run_init, 0},
	{"sync", "", "fetch, import what changed, push deferred intents", 0, 0, none, run_sync, CLI_SERVED},
	{"rebuild", "", "recreate the mirror from the repository (keeps deferred intents)", 0, 0,
	 none, run_rebuild, 0},
	{"accept-history", "", "accept a remote branch that was rewritten (force-pushed back, or "
	 "replaced by another history), which sync refuses: rebuild the mirror from it, keeping "
	 "deferred intents and the fences seen", 0, 0, none, run_accept_history, 0},
	{"info", "", "where the clone and mirror are, the server id, last sync and row counts", 0, 0,
	 none, run_info, 0},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
