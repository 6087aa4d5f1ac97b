/* report: the views of queries/ (and the user's own) in any output format,
 * with --since and --server filters; html is a whole page with charts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* One line per report, its name first; or the rows in a chosen format. */
static int run_list(cli *c, cs_ctx *ctx, const cs_report_opts *o, int fmt, FILE *out)
{
	cs_rows *r = NULL;
	int rc = cs_report_list(ctx, &r, o);
	if (!rc && fmt >= 0) {
		rc = cli_print_rows(out, r, fmt);
	} else if (!rc) {
		while ((rc = cs_rows_next(r)) == 1) {
			const char *d = cs_rows_text(r, 1);
			char *name = cli_text(cs_rows_text(r, 0));
			fprintf(out, "%-18s ", name ? name : "");
			cli_put_text(out, d ? d : "");
			fputc('\n', out);
			free(name);
		}
	}
	cs_rows_free(r);
	(void)c;
	return rc < 0 ? rc : CS_OK;
}

static int run_report(cli *c)
{
	const char *f = cli_str(c, "--format"), *path = cli_str(c, "-o");
	cs_report_opts o = {cli_str(c, "--since"), cli_str(c, "--server"), cli_str(c, "--queries")};
	int list = cli_has(c, "--list");
	/* --format json is the array it always was; --json alone the object
	 * {"rows": [...]} every list gives (docs/JSON.md). */
	int fmt = f ? cli_format(f) : c->json ? FMT_ROWS : list ? -1 : FMT_TABLE;
	cs_rows *rows = NULL;
	cs_ctx *ctx = NULL;
	FILE *out = stdout;
	int rc;

	if (list && c->nargs)
		return cli_usage(c, "--list takes no report name");
	if (!list && !c->nargs)
		return cli_usage(c, "missing report name (see 'coordsync report --list')");
	if (list && (o.since || o.server))
		return cli_usage(c, "--since and --server need a report name");
	if ((rc = cli_open(c, &ctx)))
		return rc;
	if (!list && (rc = cs_report(ctx, &rows, c->args[0], &o))) {
		rc = cli_fail(ctx, rc);
		goto done;
	}
	if (path && !(out = fopen(path, "w"))) {
		rc = cli_error(EXIT_ERR, "error", "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	if (list)
		rc = run_list(c, ctx, &o, fmt, out);
	else if (fmt == FMT_HTML)
		rc = cli_html_page(out, ctx, c->args[0], &o, rows);
	else
		rc = cli_print_rows(out, rows, fmt);
	if (out != stdout && fclose(out) && !rc) {
		rc = cli_error(EXIT_ERR, "error", "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	/* The rows went to the file: the answer on stdout says where. */
	if (out != stdout && !rc && c->json)
		cli_ok("file", path);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
done:
	cs_rows_free(rows);
	cs_close(ctx);
	return rc;
}

static const cli_opt report_opts[] = {
	{"--list", 'f', NULL, "list the reports, one a line, name first"},
	{"--format", 'F', "FMT", "output format (default table; json with --json; html is a page"
	 " with charts)"},
	{"-o", 's', "FILE", "write to FILE instead of standard output"},
	{"--since", 's', "T", "rows from T on: ISO-8601, epoch seconds, or 30m, 24h, 7d, 2w ago"},
	{"--server", 's', "ID", "rows of this server only (its server column); the global"
	 " --server goes before 'report'"},
	{"--queries", 's', "DIR", "user views: DIR/NAME.sql (default: git config coordsync.queries)"},
	{NULL, 0, NULL, NULL}};

const cli_cmd cli_report_cmds[] = {
	{"report", "[NAME]", "print a report (a view of the mirror); --list shows them", 0, 1,
	 report_opts, run_report, 0},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
