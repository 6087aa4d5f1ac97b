/* query and schema: the mirror read as the sqlite3 shell reads it (output
 * modes, -noheader, -nullvalue, SQL from a file or standard input, bound
 * parameters, .schema), on the engine's read-only connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define SQL_MAX (16 << 20)   /* bytes of SQL read from a file or stdin */

static const cli_opt query_opts[] = {
	{"--format", 'F', "FMT", "output format (default table; json with --json)"},
	{"--no-header", 'f', NULL, "leave out the column names (table, box, csv, tsv, list, html)"},
	{"--null", 's', "TEXT", "print TEXT for a NULL (default: nothing; json keeps null)"},
	{"--separator", 's', "SEP", "list mode's column separator (default |); implies --format list"},
	{"-f", 's', "FILE", "read the SQL from FILE ('-': standard input) instead of the argument"},
	{"--param", 'm', "NAME=VALUE", "bind VALUE to :NAME, $NAME and @NAME (or ?N for a number N);"
	 " a plain integer or decimal number binds as a number, anything else as text"},
	{NULL, 0, NULL, NULL}};

static int run_query(cli *c)
{
	const char *file = cli_str(c, "-f"), *sep = cli_str(c, "--separator");
	const char *const *given = NULL;
	int nparams = cli_multi(c, "--param", &given);
	cli_print_opts po = {FMT_TABLE, cli_has(c, "--no-header"), cli_str(c, "--null"), sep};
	const char **params = NULL;
	char *sql = NULL, *names = NULL;
	cs_rows *rows = NULL;
	cs_ctx *ctx = NULL;
	int rc;

	if (cli_has(c, "--format"))
		po.fmt = (int)cli_num(c, "--format", FMT_TABLE);
	else if (sep)
		po.fmt = FMT_LIST;
	else if (c->json)
		po.fmt = FMT_ROWS;   /* --format json stays the bare array (docs/JSON.md) */
	if (sep && po.fmt != FMT_LIST)
		return cli_usage(c, "--separator is for --format list");
	if (file && c->nargs)
		return cli_usage(c, "give the SQL as an argument or with -f, not both");
	if (!file && !c->nargs)
		return cli_usage(c, "missing SQL (an argument, '-' for standard input, or -f FILE)");
	/* NAME=VALUE into pairs name, value for the engine, which binds them. */
	if (!(params = calloc(2 * (size_t)nparams + 1, sizeof *params)) ||
	    (nparams && !(names = calloc((size_t)nparams, 256)))) {
		rc = cli_error(EXIT_ERR, "error", "out of memory");
		goto done;
	}
	for (int i = 0; i < nparams; i++) {
		const char *eq = strchr(given[i], '=');
		if (!eq || eq == given[i] || eq - given[i] > 255) {
			rc = cli_usage(c, "--param '%s' needs NAME=VALUE", given[i]);
			goto done;
		}
		memcpy(names + 256 * i, given[i], (size_t)(eq - given[i]));
		params[2 * i] = names + 256 * i;
		params[2 * i + 1] = eq + 1;
	}
	if (!file && strcmp(c->args[0], "-"))
		sql = strdup(c->args[0]);
	else {
		const char *path = file ? file : "-";
		char err[512];
		size_t len;
		if (cli_read_input(path, SQL_MAX, &sql, &len, err, sizeof err)) {
			rc = cli_error(EXIT_USAGE, "invalid", "cannot read SQL: %s", err);
			goto done;
		}
		if (strlen(sql) != len) {
			rc = cli_error(EXIT_USAGE, "invalid", "cannot read SQL from '%s': the SQL holds a"
				       " NUL byte", path);
			goto done;
		}
	}
	if (!sql) {
		rc = cli_error(EXIT_ERR, "error", "out of memory");
		goto done;
	}
	if ((rc = cli_open(c, &ctx)))
		goto done;
	cli_deadline(cs_query_timeout(ctx));
	if (!(rc = cs_query_params(ctx, &rows, sql, params)))
		rc = cli_print_rows_opts(stdout, rows, &po);
	cs_rows_free(rows);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
done:
	cs_close(ctx);
	free(params);
	free(names);
	free(sql);
	return rc;
}

static const cli_opt schema_opts[] = {
	{"--all", 'f', NULL, "also the mirror's internal tables and views (files, meta, the"
	 " watches, alerts...)"},
	{NULL, 0, NULL, NULL}};

/* The CREATE statements, each followed by ';', as sqlite3's .schema. */
static int run_schema(cli *c)
{
	const char *const by_table[] = {"_table", c->nargs ? c->args[0] : "", NULL};
	const char *const user[] = {"_scope", "user", NULL};
	cs_rows *r = NULL;
	cs_ctx *ctx;
	int rc;

	if (c->nargs && cli_has(c, "--all"))
		return cli_usage(c, "--all is for the whole schema, not one table");
	if ((rc = cli_open(c, &ctx)))
		return rc;
	/* A TABLE that names nothing is an error, in text and in --json. */
	if (c->nargs && !(rc = cs_list(ctx, &r, "schema_objects", by_table)) &&
	    !(rc = cs_rows_next(r))) {
		cs_rows_free(r);
		cs_close(ctx);
		return cli_usage(c, "no table or view '%s' in the mirror", c->args[0]);
	}
	cs_rows_free(r);
	r = NULL;
	if (rc >= 0)
		rc = cs_list(ctx, &r, "schema_objects", c->nargs ? by_table
						       : cli_has(c, "--all") ? NULL : user);
	if (!rc && c->json) {
		rc = cli_print_rows(stdout, r, FMT_ROWS);
	} else if (!rc) {
		while ((rc = cs_rows_next(r)) == 1) {
			const char *sql = cs_rows_text(r, 3);
			cli_put_lines(stdout, sql ? sql : "");
			fputs(";\n", stdout);
		}
	}
	cs_rows_free(r);
	rc = rc < 0 ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

const cli_cmd cli_query_cmds[] = {
	{"query", "[SQL|-]", "run one read-only SQL statement against the mirror ('-': read it from"
	 " standard input)", 0, 1, query_opts, run_query, 0},
	{"schema", "[TABLE]", "print the CREATE statements of the mirror's tables and views (of"
	 " TABLE and its indexes), as sqlite3's .schema", 0, 1, schema_opts, run_schema, 0},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
