/* The one output formatter: any row cursor as table, box, csv, tsv, list,
 * line, json, markdown or an HTML table; the text in it escaped by
 * cli/escape.c. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* The output formats: the one table the option parser (cli_format) and
 * every command's --help (cli_format_names) read.  The modes beside
 * table, json and html are the sqlite3 shell's (.mode list, tabs, line,
 * box, csv, markdown) with remote text escaped (docs/REPORTS.md). */
static const struct {
	const char *name;
	int fmt;
} formats[] = {
	{"table", FMT_TABLE}, {"box", FMT_BOX}, {"csv", FMT_CSV}, {"tsv", FMT_TSV},
	{"list", FMT_LIST}, {"line", FMT_LINE}, {"json", FMT_JSON}, {"md", FMT_MD},
	{"html", FMT_HTML}, {NULL, 0}};

int cli_format(const char *name)
{
	for (int i = 0; formats[i].name; i++)
		if (!strcmp(name, formats[i].name))
			return formats[i].fmt;
	return -1;
}

void cli_format_names(FILE *f)
{
	for (int i = 0; formats[i].name; i++)
		fprintf(f, "%s%s", i ? (formats[i + 1].name ? ", " : " or ") : "", formats[i].name);
}

/* Whether t (a number's text from SQLite) is a JSON number: SQLite writes
 * an infinite REAL as "Inf", which JSON has no word for. */
static int json_number(const char *t)
{
	const char *p = t;
	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return 0;
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return !*p;
}


static void csv_field(FILE *out, const char *s)
{
	char buf[16];
	int quote = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		quote |= *p == ',' || *p == '"' || *p == '\n';
	if (quote)
		fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		if (*p == '"' && quote)
			fputc('"', out);
		p += cli_esc_one(p, buf, CLI_KEEP_LF);
		fputs(buf, out);
	}
	if (quote)
		fputc('"', out);
}

static void md_field(FILE *out, const char *s)
{
	char buf[16];
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		if (*p == '|') {
			fputs("\\|", out);
			p++;
		} else if (*p == '\n') {
			fputs("<br>", out);
			p++;
		} else {
			p += cli_esc_one(p, buf, 0);
			fputs(buf, out);
		}
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

static void pad(FILE *out, size_t n)
{
	while (n--)
		fputc(' ', out);
}

static void repeat(FILE *out, const char *s, size_t n)
{
	while (n--)
		fputs(s, out);
}

typedef struct grid {
	char **cell;     /* rows * ncol, row 0 is the header */
	size_t rows, cap;
	int ncol;
} grid;

/* Add the current row of r (or its header) to g, escaped (cli_text); a
 * NULL as null. */
static int grid_add(grid *g, cs_rows *r, int header, const char *null)
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
		char tb[CLI_TIME_MAX];
		const char *t = header ? cs_rows_name(r, i) : cli_time_cell(cs_rows_text(r, i), tb);
		if (!(g->cell[g->rows * (size_t)g->ncol + (size_t)i] = cli_text(t ? t : null)))
			return -1;
	}
	g->rows++;
	return 0;
}

/* The widest cell of each column; NULL when out of memory. */
static size_t *grid_widths(const grid *g)
{
	size_t *w = calloc((size_t)g->ncol + 1, sizeof *w);
	for (size_t r = 0; w && r < g->rows; r++)
		for (int i = 0; i < g->ncol; i++) {
			size_t n = width(g->cell[r * (size_t)g->ncol + (size_t)i]);
			if (n > w[i])
				w[i] = n;
		}
	return w;
}

/* table: columns two spaces apart, the header (row 0, when header is set)
 * underlined with dashes. */
static void print_table(FILE *out, grid *g, int header)
{
	size_t *w = grid_widths(g);
	if (!w)
		return;
	for (size_t r = 0; r < g->rows; r++) {
		for (int i = 0; i < g->ncol; i++) {
			const char *s = g->cell[r * (size_t)g->ncol + (size_t)i];
			fputs(s, out);
			if (i + 1 < g->ncol)
				fprintf(out, "%*s", (int)(w[i] - width(s) + 2), "");
		}
		fputc('\n', out);
		if (r == 0 && header) {
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

/* One rule of a box: left, the column's width + 2 of '─', mid between
 * columns, right. */
static void box_rule(FILE *out, const size_t *w, int ncol, const char *left, const char *mid,
		     const char *right)
{
	fputs(left, out);
	for (int i = 0; i < ncol; i++) {
		repeat(out, "\u2500", w[i] + 2);
		fputs(i + 1 < ncol ? mid : right, out);
	}
	fputc('\n', out);
}

/* box, as sqlite3's .mode box: Unicode rules, the header centred (row 0,
 * when header is set), cells left-aligned; nothing at all without rows.
 * Cells are escaped, so none spans lines and no rule is needed between
 * rows. */
static void print_box(FILE *out, grid *g, int header)
{
	size_t *w = grid_widths(g);
	if (!w)
		return;
	if (g->rows > (size_t)(header ? 1 : 0)) {
		box_rule(out, w, g->ncol, "\u250c", "\u252c", "\u2510");
		for (size_t r = 0; r < g->rows; r++) {
			fputs("\u2502", out);
			for (int i = 0; i < g->ncol; i++) {
				const char *s = g->cell[r * (size_t)g->ncol + (size_t)i];
				size_t n = w[i] - width(s);
				fputc(' ', out);
				pad(out, r == 0 && header ? n / 2 : 0);
				fputs(s, out);
				pad(out, r == 0 && header ? (n + 1) / 2 : n);
				fputs(" \u2502", out);
			}
			fputc('\n', out);
			if (r == 0 && header)
				box_rule(out, w, g->ncol, "\u251c", "\u253c", "\u2524");
		}
		box_rule(out, w, g->ncol, "\u2514", "\u2534", "\u2518");
	}
	free(w);
}

/* A tsv field: text escapes (\t, \n, \r, \xNN) and a backslash doubled,
 * so that every field reads back exactly and none holds a tab or a line
 * feed (the escapes of PostgreSQL's text COPY and of "linear TSV"). */
static void tsv_field(FILE *out, const char *s)
{
	char buf[16];
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		if (*p == '\\') {
			fputs("\\\\", out);
			p++;
		} else {
			p += cli_esc_one(p, buf, 0);
			fputs(buf, out);
		}
	}
}

/* list, tsv and line, as the sqlite3 shell prints them (.mode list with
 * -header, .mode tabs, .mode line), remote text escaped; like the shell,
 * nothing at all without rows. */
static int print_lines(FILE *out, cs_rows *r, const cli_print_opts *po)
{
	int n = cs_rows_columns(r), rc, count = 0;
	const char *sep = po->fmt == FMT_TSV ? "\t" : po->sep ? po->sep : "|";
	const char *null = po->null ? po->null : "";
	size_t w = 5;   /* line: names right-aligned, at least 5 wide as sqlite3's */

	for (int i = 0; po->fmt == FMT_LINE && i < n; i++) {
		char *t = cli_text(cs_rows_name(r, i));
		if (!t)
			return CS_ERROR;
		if (width(t) > w)
			w = width(t);
		free(t);
	}
	while ((rc = cs_rows_next(r)) == 1) {
		if (po->fmt == FMT_LINE) {
			fputs(count ? "\n" : "", out);
			for (int i = 0; i < n; i++) {
				char tb[CLI_TIME_MAX];
				const char *t = cli_time_cell(cs_rows_text(r, i), tb);
				char *name = cli_text(cs_rows_name(r, i));
				if (!name)
					return CS_ERROR;
				pad(out, w - width(name));
				fprintf(out, "%s = ", name);
				free(name);
				if (t)
					cli_put_text(out, t);
				else
					fputs(null, out);
				fputc('\n', out);
			}
			count++;
			continue;
		}
		for (int pass = count || po->no_header; pass < 2; pass++) {
			for (int i = 0; i < n; i++) {
				char tb[CLI_TIME_MAX];
				const char *t = pass ? cli_time_cell(cs_rows_text(r, i), tb) : cs_rows_name(r, i);
				fputs(i ? sep : "", out);
				if (!t)
					fputs(null, out);
				else if (po->fmt == FMT_TSV)
					tsv_field(out, t);
				else
					cli_put_text(out, t);
			}
			fputc('\n', out);
		}
		count++;
	}
	return rc < 0 ? rc : CS_OK;
}

/* cli_print_rows; for FMT_OBJECT, the object has one more member, key with
 * the JSON number num, when key is not NULL. */
static int print_rows(FILE *out, cs_rows *r, const cli_print_opts *po, const char *key,
		      const char *num)
{
	int fmt = po->fmt;
	int n = cs_rows_columns(r), rc, count = 0, one = fmt == FMT_OBJECT;
	int wrap = fmt == FMT_ROWS;
	int header = !po->no_header;
	const char *null = po->null ? po->null : "";
	grid g = {NULL, 0, 0, n};

	if (fmt == FMT_LIST || fmt == FMT_TSV || fmt == FMT_LINE)
		return print_lines(out, r, po);
	if (one || wrap)
		fmt = FMT_JSON;
	if ((fmt == FMT_TABLE || fmt == FMT_BOX) && header && grid_add(&g, r, 1, null))
		return CS_ERROR;
	if ((fmt == FMT_CSV && header) || fmt == FMT_MD) {
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
		fputs("<table>\n", out);
		if (header) {
			fputs("<thead><tr>", out);
			for (int i = 0; i < n; i++) {
				fputs("<th>", out);
				cli_html_escape(out, cs_rows_name(r, i));
				fputs("</th>", out);
			}
			fputs("</tr></thead>\n", out);
		}
		fputs("<tbody>\n", out);
	}
	if (fmt == FMT_JSON && !one)
		fputs(wrap ? "{\"rows\": [" : "[", out);
	while ((rc = cs_rows_next(r)) == 1) {
		if (one && count)
			break;
		if (fmt == FMT_TABLE || fmt == FMT_BOX) {
			if (grid_add(&g, r, 0, null)) {
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
			char tb[CLI_TIME_MAX];
			const char *t = cli_time_cell(cs_rows_text(r, i), tb);
			int ty = cs_rows_type(r, i);
			if (fmt == FMT_CSV) {
				if (i)
					fputc(',', out);
				csv_field(out, t ? t : null);
			} else if (fmt == FMT_MD) {
				fputs("| ", out);
				md_field(out, t ? t : null);
				fputc(' ', out);
			} else if (fmt == FMT_HTML) {
				fputs(ty == CS_NULL ? "<td class=\"null\">" : ty == CS_INT || ty == CS_REAL
				      ? "<td class=\"num\">" : "<td>", out);
				cli_html_escape(out, t ? t : null);
				fputs("</td>", out);
			} else {
				if (i)
					fputs(", ", out);
				cli_json_string(out, cs_rows_name(r, i));
				fputs(": ", out);
				if (ty == CS_NULL)
					fputs("null", out);
				else if ((ty == CS_INT || ty == CS_REAL) && json_number(t))
					fputs(t, out);
				else
					cli_json_string(out, t);
			}
		}
		if (one && key) {
			fputs(n ? ", " : "", out);
			cli_json_string(out, key);
			fprintf(out, ": %s", num);
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
		fputs(count ? wrap ? "\n]}\n" : "\n]\n" : wrap ? "]}\n" : "]\n", out);
	else if (fmt == FMT_HTML)
		fputs("</tbody>\n</table>\n", out);
	if (fmt == FMT_TABLE && rc == 0)
		print_table(out, &g, header);
	if (fmt == FMT_BOX && rc == 0)
		print_box(out, &g, header);
	for (size_t i = 0; i < g.rows * (size_t)g.ncol; i++)
		free(g.cell[i]);
	free(g.cell);
	return rc < 0 ? rc : CS_OK;
}

int cli_print_rows(FILE *out, cs_rows *r, int fmt)
{
	cli_print_opts po = {fmt, 0, NULL, NULL};
	return print_rows(out, r, &po, NULL, NULL);
}

int cli_print_rows_opts(FILE *out, cs_rows *r, const cli_print_opts *po)
{
	return print_rows(out, r, po, NULL, NULL);
}

int cli_print_object(FILE *out, cs_rows *r, const char *key, long long num)
{
	cli_print_opts po = {FMT_OBJECT, 0, NULL, NULL};
	char n[24];
	snprintf(n, sizeof n, "%lld", num);
	return print_rows(out, r, &po, key, n);
}

/* ---- lists ------------------------------------------------------------- */

int cli_show(cs_ctx *ctx, const char *name, const char *const *filters, int fmt)
{
	cs_rows *r = NULL;
	int rc = cs_list(ctx, &r, name, filters);
	if (!rc)
		rc = cli_print_rows(stdout, r, fmt == FMT_JSON ? FMT_ROWS : fmt);
	cs_rows_free(r);
	return rc ? cli_fail(ctx, rc) : EXIT_OK;
}
