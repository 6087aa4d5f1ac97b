/* The one output formatter: any row cursor as table, csv, json, markdown or
 * an HTML table. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cli_format(const char *name)
{
	static const char *const names[] = {"table", "csv", "json", "md", "html", NULL};
	for (int i = 0; names[i]; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

void cli_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p == '\r')
			fputs("\\r", out);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

void cli_html_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

static void csv_field(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void md_field(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '\n')
			fputs("<br>", out);
		else
			fputc(*s, out);
	}
}

/* Display width of UTF-8 text, counting code points. */
static size_t width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

typedef struct grid {
	char **cell;     /* rows * ncol, row 0 is the header */
	size_t rows, cap;
	int ncol;
} grid;

static int grid_add(grid *g, cs_rows *r, int header)
{
	if (g->rows == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		char **nc = realloc(g->cell, cap * (size_t)g->ncol * sizeof *nc);
		if (!nc)
			return -1;
		g->cell = nc;
		g->cap = cap;
	}
	for (int i = 0; i < g->ncol; i++) {
		const char *t = header ? cs_rows_name(r, i) : cs_rows_text(r, i);
		if (!(g->cell[g->rows * (size_t)g->ncol + (size_t)i] = strdup(t ? t : "")))
			return -1;
	}
	g->rows++;
	return 0;
}

static void print_table(FILE *out, grid *g)
{
	size_t *w = calloc((size_t)g->ncol, sizeof *w);
	if (!w)
		return;
	for (size_t r = 0; r < g->rows; r++)
		for (int i = 0; i < g->ncol; i++) {
			size_t n = width(g->cell[r * (size_t)g->ncol + (size_t)i]);
			if (n > w[i])
				w[i] = n;
		}
	for (size_t r = 0; r < g->rows; r++) {
		for (int i = 0; i < g->ncol; i++) {
			const char *s = g->cell[r * (size_t)g->ncol + (size_t)i];
			fputs(s, out);
			if (i + 1 < g->ncol)
				fprintf(out, "%*s", (int)(w[i] - width(s) + 2), "");
		}
		fputc('\n', out);
		if (r == 0) {
			for (int i = 0; i < g->ncol; i++) {
				for (size_t k = 0; k < w[i]; k++)
					fputc('-', out);
				if (i + 1 < g->ncol)
					fputs("  ", out);
			}
			fputc('\n', out);
		}
	}
	free(w);
}

int cli_print_rows(FILE *out, cs_rows *r, int fmt)
{
	int n = cs_rows_columns(r), rc, count = 0, one = fmt == FMT_OBJECT;
	grid g = {NULL, 0, 0, n};

	if (one)
		fmt = FMT_JSON;
	if (fmt == FMT_TABLE && grid_add(&g, r, 1))
		return CS_ERROR;
	if (fmt == FMT_CSV || fmt == FMT_MD) {
		for (int i = 0; i < n; i++) {
			fputs(fmt == FMT_MD ? "| " : (i ? "," : ""), out);
			fmt == FMT_MD ? md_field(out, cs_rows_name(r, i)) : csv_field(out, cs_rows_name(r, i));
			fputs(fmt == FMT_MD ? " " : "", out);
		}
		fputs(fmt == FMT_MD ? "|\n" : "\n", out);
		if (fmt == FMT_MD) {
			for (int i = 0; i < n; i++)
				fputs("|---", out);
			fputs("|\n", out);
		}
	}
	if (fmt == FMT_HTML) {
		fputs("<table>\n<thead><tr>", out);
		for (int i = 0; i < n; i++) {
			fputs("<th>", out);
			cli_html_escape(out, cs_rows_name(r, i));
			fputs("</th>", out);
		}
		fputs("</tr></thead>\n<tbody>\n", out);
	}
	if (fmt == FMT_JSON && !one)
		fputc('[', out);
	while ((rc = cs_rows_next(r)) == 1) {
		if (one && count)
			break;
		if (fmt == FMT_TABLE) {
			if (grid_add(&g, r, 0)) {
				rc = CS_ERROR;
				break;
			}
			continue;
		}
		if (fmt == FMT_JSON)
			fputs(one ? "{" : count ? ",\n {" : "\n {", out);
		else if (fmt == FMT_HTML)
			fputs("<tr>", out);
		for (int i = 0; i < n; i++) {
			const char *t = cs_rows_text(r, i);
			int ty = cs_rows_type(r, i);
			if (fmt == FMT_CSV) {
				if (i)
					fputc(',', out);
				csv_field(out, t ? t : "");
			} else if (fmt == FMT_MD) {
				fputs("| ", out);
				md_field(out, t ? t : "");
				fputc(' ', out);
			} else if (fmt == FMT_HTML) {
				fputs(ty == CS_NULL ? "<td class=\"null\">" : ty == CS_INT || ty == CS_REAL
				      ? "<td class=\"num\">" : "<td>", out);
				cli_html_escape(out, t ? t : "");
				fputs("</td>", out);
			} else {
				if (i)
					fputs(", ", out);
				cli_json_string(out, cs_rows_name(r, i));
				fputs(": ", out);
				if (ty == CS_NULL)
					fputs("null", out);
				else if (ty == CS_INT || ty == CS_REAL)
					fputs(t, out);
				else
					cli_json_string(out, t);
			}
		}
		if (fmt == FMT_JSON)
			fputc('}', out);
		else if (fmt == FMT_HTML)
			fputs("</tr>\n", out);
		else
			fputs(fmt == FMT_MD ? "|\n" : "\n", out);
		count++;
	}
	if (one)
		fputs(count ? "\n" : "null\n", out);
	else if (fmt == FMT_JSON)
		fputs(count ? "\n]\n" : "]\n", out);
	else if (fmt == FMT_HTML)
		fputs("</tbody>\n</table>\n", out);
	if (fmt == FMT_TABLE && rc == 0)
		print_table(out, &g);
	for (size_t i = 0; i < g.rows * (size_t)g.ncol; i++)
		free(g.cell[i]);
	free(g.cell);
	return rc < 0 ? rc : CS_OK;
}

int cli_show(cli *c, cs_ctx *ctx, const char *sql, const char *bind1, int fmt)
{
	return cli_show2(c, ctx, sql, bind1, NULL, fmt);
}

int cli_show2(cli *c, cs_ctx *ctx, const char *sql, const char *bind1, const char *bind2, int fmt)
{
	cs_rows *r = NULL;
	int rc = cs_select(ctx, &r, sql, bind1, bind2);
	(void)c;
	if (!rc)
		rc = cli_print_rows(stdout, r, fmt);
	cs_rows_free(r);
	return rc ? cli_fail(ctx, rc) : EXIT_OK;
}
