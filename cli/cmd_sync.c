/* init, sync, rebuild, query and info: the mirror itself. */
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
	} else if (!rc || st->files_failed) {
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
	rc = cs_init_auth(&ctx, c->args[0], c->args[1], &o, &auth);
	if (!rc) {
		memset(&st, 0, sizeof st);
		rc = cs_sync(ctx, &st);
		printf("initialized '%s' as %s\n", c->args[1], c->server);
		rc = report_sync(c, ctx, "sync", rc, &st);
	} else {
		rc = cli_fail(ctx, rc);
	}
	cs_close(ctx);
	return rc;
}

static int run_sync(cli *c)
{
	cs_sync_stats st;
	cs_ctx *ctx;
	int rc = cli_open(c, &ctx);
	if (rc)
		return rc;
	rc = report_sync(c, ctx, "sync", cs_sync(ctx, &st), &st);
	cs_close(ctx);
	return rc;
}

static int run_rebuild(cli *c)
{
	cs_sync_stats st;
	cs_ctx *ctx;
	int rc = cli_open(c, &ctx);
	if (rc)
		return rc;
	rc = report_sync(c, ctx, "rebuild", cs_rebuild(ctx, &st), &st);
	cs_close(ctx);
	return rc;
}

static const cli_opt query_opts[] = {
	{"--format", 's', "FMT", "table, csv, json or md (default table; json with --json)"},
	{NULL, 0, NULL, NULL}};

static int run_query(cli *c)
{
	const char *f = cli_str(c, "--format");
	int fmt = f ? cli_format(f) : c->json ? FMT_JSON : FMT_TABLE;
	cs_rows *rows = NULL;
	cs_ctx *ctx;
	int rc;
	if (fmt < 0)
		return cli_usage(c, "unknown format '%s'", f);
	if ((rc = cli_open(c, &ctx)))
		return rc;
	cli_deadline(cs_query_timeout(ctx));
	if (!(rc = cs_query(ctx, &rows, c->args[0])))
		rc = cli_print_rows(stdout, rows, fmt);
	cs_rows_free(rows);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_info(cli *c)
{
	static const char *const sql =
		"SELECT (SELECT value FROM meta WHERE key='remote_head') AS remote_head,"
		" (SELECT datetime(value, 'unixepoch') FROM meta WHERE key='last_import') AS last_import,"
		" (SELECT count(*) FROM jobs) AS jobs,"
		" (SELECT count(*) FROM jobs WHERE status='queued') AS queued,"
		" (SELECT count(*) FROM jobs WHERE status='running') AS running,"
		" (SELECT count(*) FROM locks) AS locks,"
		" (SELECT count(*) FROM messages) AS messages,"
		" (SELECT count(*) FROM servers) AS servers,"
		" (SELECT count(*) FROM outbox) AS outbox,"
		" (SELECT group_concat(path || ': ' || error, '; ') FROM files WHERE error IS NOT NULL)"
		" AS bad_files";
	cs_rows *r = NULL;
	cs_ctx *ctx;
	int rc;
	if ((rc = cli_open(c, &ctx)))
		return rc;
	if (!(rc = cs_select(ctx, &r, sql, NULL, NULL)) && (rc = cs_rows_next(r)) == 1) {
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
			const char *v = cs_rows_text(r, i);
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
		printf(c->json ? "}\n" : "");
		rc = CS_OK;
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
	{"query", "SQL", "run one read-only SQL statement against the mirror", 1, 1, query_opts,
	 run_query, 0},
	{"info", "", "where the clone and mirror are, the server id, last sync and row counts", 0, 0,
	 none, run_info, 0},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
