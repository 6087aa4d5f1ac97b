/* The html report format: one self-contained page with inline CSS, an
 * inline SVG chart of the report's own rows (throughput, durations and
 * heartbeats have charts of their own; any other report a bar chart,
 * chart_rows) and the rows as a table.  No script, nothing loaded from anywhere, and every string that
 * comes from the data goes through cli_html_escape (other servers write
 * message subjects and server ids). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
				      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define NPALETTE (sizeof palette / sizeof *palette)

static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;"
	"color:#1f2328;background:#ffffff}\n"
	"h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}\n"
	".meta{color:#57606a;margin:0 0 16px}\n"
	".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}\n"
	"figure{margin:0;border:1px solid #d0d7de;border-radius:6px;padding:10px 12px;"
	"background:#f6f8fa}\n"
	"figcaption{font-weight:600;margin-bottom:6px}\n"
	"svg{width:100%;height:auto;display:block;background:#ffffff}\n"
	"svg text{font:11px system-ui,sans-serif;fill:#57606a}\n"
	".legend{margin-top:6px;color:#57606a;font-size:12px}\n"
	".legend span{display:inline-block;margin-right:12px}\n"
	".legend i{display:inline-block;width:10px;height:10px;margin-right:4px;"
	"vertical-align:middle;border-radius:2px}\n"
	".rows{overflow-x:auto}\n"
	"table{border-collapse:collapse;margin-top:8px;font-size:13px}\n"
	"th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}\n"
	"th{background:#eaeef2}tbody tr:nth-child(even) td{background:#f6f8fa}\n"
	"td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
	"td.null{background:#fbfbfb}\n"
	".empty{color:#57606a}\n";

/* ---- data ---------------------------------------------------------------- */

typedef struct point {
	double t;          /* epoch seconds of the row's time, hour or day */
	char *when;        /* that column's text */
	char *server;
	double a, b;       /* the values */
} point;

typedef struct series {
	point *p;
	size_t n, cap;
} series;

static void series_free(series *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->p[i].when);
		free(s->p[i].server);
	}
	free(s->p);
	memset(s, 0, sizeof *s);
}

static int column(cs_rows *r, const char *name)
{
	for (int i = 0; i < cs_rows_columns(r); i++)
		if (!strcmp(cs_rows_name(r, i), name))
			return i;
	return -1;
}

/* The rows of report name (filtered by o) as points: cols are the time,
 * server and up to two value columns (NULL: none). */
static int fetch(cs_ctx *ctx, const char *name, const cs_report_opts *o, const char *tcol,
		 const char *a, const char *b, series *s)
{
	cs_report_opts f = {o->since, o->server, NULL};
	cs_rows *r = NULL;
	int rc = cs_report(ctx, &r, name, &f), ct, cs, ca, cb;
	if (rc)
		return rc;
	ct = column(r, tcol);
	cs = column(r, "server");
	ca = a ? column(r, a) : -1;
	cb = b ? column(r, b) : -1;
	while ((rc = cs_rows_next(r)) == 1) {
		point *p;
		const char *w = cs_rows_text(r, ct < 0 ? 0 : ct);
		const char *sv = cs < 0 ? NULL : cs_rows_text(r, cs);
		double t;
		if (ct < 0 || cs_parse_time(w, &t))
			continue;
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			point *np = realloc(s->p, cap * sizeof *np);
			if (!np) {
				rc = CS_ERROR;
				break;
			}
			s->p = np;
			s->cap = cap;
		}
		p = &s->p[s->n];
		p->t = t;
		p->a = ca >= 0 && cs_rows_text(r, ca) ? strtod(cs_rows_text(r, ca), NULL) : 0;
		p->b = cb >= 0 && cs_rows_text(r, cb) ? strtod(cs_rows_text(r, cb), NULL) : 0;
		p->when = strdup(w);
		p->server = strdup(sv ? sv : "");
		if (!p->when || !p->server) {
			free(p->when);
			free(p->server);
			rc = CS_ERROR;
			break;
		}
		s->n++;
	}
	cs_rows_free(r);
	return rc < 0 ? rc : CS_OK;
}

/* Servers in a fixed order (fleet_ids, then any other seen), so that a
 * server has the same colour in every chart. */
typedef struct fleet {
	char **id;
	size_t n, cap;
} fleet;

static void fleet_free(fleet *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->id[i]);
	free(f->id);
}

static int fleet_index(fleet *f, const char *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->id[i], id))
			return (int)i;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		char **nid = realloc(f->id, cap * sizeof *nid);
		if (!nid)
			return 0;
		f->id = nid;
		f->cap = cap;
	}
	if (!(f->id[f->n] = strdup(id)))
		return 0;
	return (int)f->n++;
}

static const char *color(fleet *f, const char *id)
{
	return palette[(size_t)fleet_index(f, id) % NPALETTE];
}

/* t as every time the CLI prints (cli_time: ISO-8601, UTC or --local);
 * fmt is kept for the callers and no longer read. */
static void fmt_time(double t, const char *fmt, char *out, size_t n)
{
	char iso[CLI_TIME_MAX];
	(void)fmt;
	cli_time(iso, t);
	if (!iso[0] || strlen(iso) >= n)
		memcpy(iso, "?", 2);
	memcpy(out, iso, strlen(iso) + 1);
}

/* ---- charts ----------------------------------------------------------------- */

static void legend(FILE *out, fleet *f, const series *s)
{
	fputs("<div class=\"legend\">", out);
	for (size_t i = 0; i < f->n; i++) {
		int used = 0;
		for (size_t k = 0; k < s->n && !used; k++)
			used = !strcmp(s->p[k].server, f->id[i]);
		if (!used)
			continue;
		fprintf(out, "<span><i style=\"background:%s\"></i>", palette[i % NPALETTE]);
		cli_html_escape(out, f->id[i]);
		fputs("</span>", out);
	}
	fputs("</div>\n", out);
}

static void no_data(FILE *out, int w, int h)
{
	fprintf(out, "<svg viewBox=\"0 0 %d %d\" role=\"img\"><rect x=\"0.5\" y=\"0.5\" width=\"%d\""
		     " height=\"%d\" fill=\"#ffffff\" stroke=\"#d0d7de\"/><text x=\"%d\" y=\"%d\""
		     " text-anchor=\"middle\">no data</text></svg>\n",
		w, h, w - 1, h - 1, w / 2, h / 2);
}

/* Jobs finished per hour, stacked by server. */
static void chart_throughput(FILE *out, fleet *f, const series *s)
{
	const double W = 600, H = 220, x0 = 44, x1 = 590, y0 = 14, y1 = 186;
	double tmin = 0, tmax = 0, step = 3600, ymax = 0, *stack = NULL;
	size_t nb;
	char a[32], b[32];

	fputs("<figure><figcaption>Throughput: jobs finished per hour</figcaption>\n", out);
	for (size_t i = 0; i < s->n; i++) {
		if (!i || s->p[i].t < tmin)
			tmin = s->p[i].t;
		if (!i || s->p[i].t > tmax)
			tmax = s->p[i].t;
	}
	/* The last 24 hours at least, up to now; at most 240 bars (wider
	 * buckets for a long range). */
	if (s->n) {
		double hour = (double)((long long)time(NULL) / 3600 * 3600);
		if (hour > tmax && hour - tmax < 366 * 86400.0)
			tmax = hour;
		if (tmin > tmax - 23 * 3600)
			tmin = tmax - 23 * 3600;
	}
	while ((tmax - tmin) / step + 1 > 240)
		step *= 2;
	nb = s->n ? (size_t)((tmax - tmin) / step) + 1 : 0;
	if (!nb || !(stack = calloc(nb, sizeof *stack))) {
		no_data(out, (int)W, (int)H);
		fputs("</figure>\n", out);
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		size_t k = (size_t)((s->p[i].t - tmin) / step);
		stack[k] += s->p[i].a;
		if (stack[k] > ymax)
			ymax = stack[k];
	}
	if (ymax <= 0)
		ymax = 1;
	memset(stack, 0, nb * sizeof *stack);
	fprintf(out, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n", W, H);
	fprintf(out, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#8c959f\"/>\n",
		x0, y1, x1, y1);
	fprintf(out, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#8c959f\"/>\n",
		x0, y0, x0, y1);
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%g</text>\n", x0 - 4, y0 + 4,
		ymax);
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>\n", x0 - 4, y1);
	for (size_t i = 0; i < s->n; i++) {
		size_t k = (size_t)((s->p[i].t - tmin) / step);
		double bw = (x1 - x0) / (double)nb;
		double h = s->p[i].a / ymax * (y1 - y0);
		double x = x0 + (double)k * bw + (bw > 4 ? 1 : 0);
		double y = y1 - stack[k] - h;
		stack[k] += h;
		fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
			     "<title>", x, y, bw > 4 ? bw - 2 : bw, h, color(f, s->p[i].server));
		cli_html_escape(out, s->p[i].when);
		fputs(" ", out);
		cli_html_escape(out, s->p[i].server);
		fprintf(out, ": %g</title></rect>\n", s->p[i].a);
	}
	fmt_time(tmin, "%Y-%m-%d %H:00", a, sizeof a);
	fmt_time(tmin + (double)(nb - 1) * step, "%Y-%m-%d %H:00", b, sizeof b);
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", x0, H - 16, a);
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>\n", x1, H - 16, b);
	fputs("</svg>\n", out);
	legend(out, f, s);
	fputs("</figure>\n", out);
	free(stack);
}

/* Queue wait p50 (solid) and p95 (light) per day and server, newest last. */
static void chart_wait(FILE *out, fleet *f, const series *s)
{
	const double W = 600, x0 = 170, x1 = 520, row = 18;
	size_t first = s->n > 24 ? s->n - 24 : 0;
	double xmax = 0, H = 30 + row * (double)(s->n - first);

	fputs("<figure><figcaption>Queue wait per day and server (p50 solid, p95 light, "
	      "seconds)</figcaption>\n", out);
	if (!s->n) {
		no_data(out, (int)W, 120);
		fputs("</figure>\n", out);
		return;
	}
	for (size_t i = first; i < s->n; i++)
		if (s->p[i].b > xmax)
			xmax = s->p[i].b;
	if (xmax <= 0)
		xmax = 1;
	fprintf(out, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n", W, H);
	fprintf(out, "<line x1=\"%.0f\" y1=\"8\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#8c959f\"/>\n", x0,
		x0, H - 18);
	for (size_t i = first; i < s->n; i++) {
		const point *p = &s->p[i];
		double y = 10 + row * (double)(i - first);
		const char *c = color(f, p->server);
		fprintf(out, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", x0 - 6, y + 11);
		cli_html_escape(out, p->when);
		fputs(" ", out);
		cli_html_escape(out, p->server);
		fputs("</text>\n", out);
		fprintf(out, "<rect x=\"%.0f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\" fill=\"%s\""
			     " fill-opacity=\"0.35\"><title>p95 %g s</title></rect>\n",
			x0, y + 2, p->b / xmax * (x1 - x0), row - 4, c, p->b);
		fprintf(out, "<rect x=\"%.0f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\" fill=\"%s\">"
			     "<title>p50 %g s</title></rect>\n",
			x0, y + 2, p->a / xmax * (x1 - x0), row - 4, c, p->a);
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">%g / %g</text>\n",
			x0 + p->b / xmax * (x1 - x0) + 4, y + 11, p->a, p->b);
	}
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\">0</text>\n", x0, H - 4);
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%g s</text>\n", x1, H - 4,
		xmax);
	fputs("</svg>\n", out);
	legend(out, f, s);
	fputs("</figure>\n", out);
}

/* One lane per server, a dot per heartbeat. */
static void chart_heartbeats(FILE *out, fleet *f, const series *s)
{
	const double W = 600, x0 = 110, x1 = 585, lane = 24;
	double tmin = 0, tmax = 0, H;
	int *lanes = NULL, nl = 0;
	char a[32], b[32];

	fputs("<figure><figcaption>Heartbeats per server</figcaption>\n", out);
	if (!s->n || !(lanes = calloc(f->n + s->n, sizeof *lanes))) {
		no_data(out, (int)W, 120);
		fputs("</figure>\n", out);
		return;
	}
	/* Lanes in fleet order, for the servers that have heartbeats. */
	for (size_t i = 0; i < s->n; i++) {
		int k = fleet_index(f, s->p[i].server);
		if (!i || s->p[i].t < tmin)
			tmin = s->p[i].t;
		if (!i || s->p[i].t > tmax)
			tmax = s->p[i].t;
		if (!lanes[k])
			lanes[k] = 1;
	}
	for (size_t i = 0; i < f->n; i++)
		if (lanes[i])
			lanes[i] = ++nl;
	/* Up to now, so that a server that stopped shows a gap at the end. */
	if ((double)time(NULL) > tmax && (double)time(NULL) - tmax < 366 * 86400.0)
		tmax = (double)time(NULL);
	if (tmax - tmin < 60) {
		tmin -= 30;
		tmax += 30;
	}
	H = 34 + lane * nl;
	fprintf(out, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n", W, H);
	for (size_t i = 0; i < f->n; i++) {
		double y;
		if (!lanes[i])
			continue;
		y = 8 + lane * (lanes[i] - 1) + lane / 2;
		fprintf(out, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#d0d7de\"/>\n",
			x0, y, x1, y);
		fprintf(out, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", x0 - 8, y + 4);
		cli_html_escape(out, f->id[i]);
		fputs("</text>\n", out);
	}
	for (size_t i = 0; i < s->n; i++) {
		int k = fleet_index(f, s->p[i].server);
		double y = 8 + lane * (lanes[k] - 1) + lane / 2;
		double x = x0 + (s->p[i].t - tmin) / (tmax - tmin) * (x1 - x0);
		fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>", x, y,
			palette[(size_t)k % NPALETTE]);
		cli_html_escape(out, s->p[i].server);
		fputs(" ", out);
		cli_html_escape(out, s->p[i].when);
		fputs("</title></circle>\n", out);
	}
	fmt_time(tmin, "%Y-%m-%d %H:%M:%S", a, sizeof a);
	fmt_time(tmax, "%Y-%m-%d %H:%M:%S", b, sizeof b);
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", x0, H - 6, a);
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>\n", x1, H - 6, b);
	fputs("</svg>\n", out);
	fputs("</figure>\n", out);
	free(lanes);
}

/* ---- any report: a bar chart of its own rows --------------------------------------- */

#define ROWS_CHART_MAX 40     /* bars drawn; the table below has every row */
#define ROWS_KEEP_MAX 100000  /* rows read to find the columns' types */

typedef struct grid_rows {
	int ncol;
	size_t n, cap;
	char **cell;          /* n * ncol texts, NULL for NULL */
	int *numeric;         /* per column: every value a number, and one at least */
	char **name;
} grid_rows;

static void grid_rows_free(grid_rows *g)
{
	for (size_t i = 0; i < g->n * (size_t)g->ncol; i++)
		free(g->cell[i]);
	for (int i = 0; i < g->ncol && g->name; i++)
		free(g->name[i]);
	free(g->cell);
	free(g->numeric);
	free(g->name);
	memset(g, 0, sizeof *g);
}

/* The rows of report name (as the page shows them: the same options) into
 * *g, at most ROWS_KEEP_MAX of them. */
static int grid_rows_read(cs_ctx *ctx, const char *name, const cs_report_opts *o, grid_rows *g)
{
	cs_rows *r = NULL;
	int rc = cs_report(ctx, &r, name, o), seen;
	if (rc)
		return rc;
	g->ncol = cs_rows_columns(r);
	if (!(g->numeric = calloc((size_t)g->ncol + 1, sizeof *g->numeric)) ||
	    !(g->name = calloc((size_t)g->ncol + 1, sizeof *g->name))) {
		rc = CS_ERROR;
		goto done;
	}
	for (int i = 0; i < g->ncol; i++) {
		g->numeric[i] = 1;
		if (!(g->name[i] = strdup(cs_rows_name(r, i) ? cs_rows_name(r, i) : ""))) {
			rc = CS_ERROR;
			goto done;
		}
	}
	while (g->n < ROWS_KEEP_MAX && (rc = cs_rows_next(r)) == 1) {
		if (g->n == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 64;
			char **nc = realloc(g->cell, cap * (size_t)g->ncol * sizeof *nc);
			if (!nc) {
				rc = CS_ERROR;
				break;
			}
			g->cell = nc;
			g->cap = cap;
		}
		for (int i = 0; i < g->ncol; i++) {
			const char *t = cs_rows_text(r, i);
			int ty = cs_rows_type(r, i);
			char **c = &g->cell[g->n * (size_t)g->ncol + (size_t)i];
			*c = t ? strdup(t) : NULL;
			if (t && !*c) {
				for (int k = 0; k < i; k++)
					free(g->cell[g->n * (size_t)g->ncol + (size_t)k]);
				rc = CS_ERROR;
				goto done;
			}
			if (t && ty != CS_INT && ty != CS_REAL)
				g->numeric[i] = 0;
		}
		g->n++;
	}
	rc = rc < 0 ? rc : CS_OK;
	/* A column of NULLs only is no number. */
	for (int i = 0; i < g->ncol; i++) {
		seen = 0;
		for (size_t k = 0; k < g->n && !seen; k++)
			seen = g->cell[k * (size_t)g->ncol + (size_t)i] != NULL;
		g->numeric[i] &= seen;
	}
done:
	cs_rows_free(r);
	return rc;
}

/* s, cut to at most max bytes at a UTF-8 boundary, escaped; "..." when cut. */
static void short_label(FILE *out, const char *s, size_t max)
{
	size_t n = strlen(s);
	char *t;
	if (n <= max) {
		cli_html_escape(out, s);
		return;
	}
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	if ((t = strndup(s, max))) {
		cli_html_escape(out, t);
		fputs("&hellip;", out);
		free(t);
	}
}

/* One horizontal bar per label: labels[i], value text vals[i] (NULL: no
 * bar), coloured cols[i]. */
static void bars(FILE *out, const char *caption, const char *const *labels,
		 const char *const *vals, const char *const *cols, size_t n, size_t total)
{
	const double W = 600, x0 = 200, x1 = 520, row = 18;
	double vmax = 0, H = 30 + row * (double)n;

	fputs("<figure><figcaption>", out);
	cli_html_escape(out, caption);
	if (total > n)
		fprintf(out, " (the first %zu of %zu rows)", n, total);
	fputs("</figcaption>\n", out);
	if (!n) {
		no_data(out, (int)W, 120);
		fputs("</figure>\n", out);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (vals[i] && strtod(vals[i], NULL) > vmax)
			vmax = strtod(vals[i], NULL);
	if (vmax <= 0)
		vmax = 1;
	fprintf(out, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n", W, H);
	fprintf(out, "<line x1=\"%.0f\" y1=\"8\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#8c959f\"/>\n", x0,
		x0, H - 18);
	for (size_t i = 0; i < n; i++) {
		double y = 10 + row * (double)i, v = vals[i] ? strtod(vals[i], NULL) : 0;
		double w = v > 0 ? v / vmax * (x1 - x0) : 0;
		fprintf(out, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\"><title>", x0 - 6, y + 11);
		cli_html_escape(out, labels[i]);
		fputs("</title>", out);
		short_label(out, labels[i], 32);
		fputs("</text>\n", out);
		fprintf(out, "<rect x=\"%.0f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\" fill=\"%s\">"
			     "<title>", x0, y + 2, w, row - 4, cols[i]);
		cli_html_escape(out, labels[i]);
		fputs(": ", out);
		cli_html_escape(out, vals[i] ? vals[i] : "NULL");
		fputs("</title></rect>\n", out);
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">", x0 + w + 4, y + 11);
		cli_html_escape(out, vals[i] ? vals[i] : "NULL");
		fputs("</text>\n", out);
	}
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\">0</text>\n", x0, H - 4);
	fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%g</text>\n", x1, H - 4, vmax);
	fputs("</svg>\n", out);
	fputs("</figure>\n", out);
}

/* The chart of any report's rows: one row, a bar per numeric column (its
 * name the label); more, a bar per row (the first ROWS_CHART_MAX) of its
 * first numeric column, labelled by its first other column (the row's
 * number when it has none) and coloured by its server column if it has
 * one.  No numeric column: no chart but a note. */
static int chart_rows(FILE *out, fleet *f, const grid_rows *g, const char *name)
{
	const char *labels[ROWS_CHART_MAX], *vals[ROWS_CHART_MAX], *cols[ROWS_CHART_MAX];
	char nums[ROWS_CHART_MAX][24], caption[256];
	int num = -1, lab = -1, srv = -1;
	size_t n = 0;

	for (int i = 0; i < g->ncol; i++) {
		if (g->numeric[i] && num < 0)
			num = i;
		else if (!g->numeric[i] && lab < 0)
			lab = i;
		if (!strcmp(g->name[i], "server"))
			srv = i;
	}
	if (num < 0) {
		fputs("<figure><figcaption>", out);
		cli_html_escape(out, name);
		fputs("</figcaption>\n", out);
		no_data(out, 600, 120);
		fputs("<p class=\"empty\">no numeric column to chart</p></figure>\n", out);
		return CS_OK;
	}
	if (g->n == 1) {
		for (int i = 0; i < g->ncol && n < ROWS_CHART_MAX; i++)
			if (g->numeric[i]) {
				labels[n] = g->name[i];
				vals[n] = g->cell[i];
				cols[n++] = palette[0];
			}
		snprintf(caption, sizeof caption, "%s: its figures", name);
		bars(out, caption, labels, vals, cols, n, n);
		return CS_OK;
	}
	for (size_t k = 0; k < g->n && n < ROWS_CHART_MAX; k++, n++) {
		const char *const *row = (const char *const *)&g->cell[k * (size_t)g->ncol];
		snprintf(nums[n], sizeof nums[n], "%zu", k + 1);
		labels[n] = lab >= 0 && row[lab] ? row[lab] : lab >= 0 ? "NULL" : nums[n];
		vals[n] = row[num];
		cols[n] = srv >= 0 && row[srv] ? color(f, row[srv]) : palette[0];
	}
	snprintf(caption, sizeof caption, "%s: %s by %s", name, g->name[num],
		 lab >= 0 ? g->name[lab] : "row");
	bars(out, caption, labels, vals, cols, n, g->n);
	return CS_OK;
}

/* ---- the page --------------------------------------------------------------------- */

/* The report's description from the list, or NULL (caller frees). */
static char *description(cs_ctx *ctx, const char *name, const cs_report_opts *o)
{
	cs_rows *r = NULL;
	char *d = NULL;
	if (cs_report_list(ctx, &r, o))
		return NULL;
	while (!d && cs_rows_next(r) == 1)
		if (!strcmp(cs_rows_text(r, 0), name) && cs_rows_text(r, 1))
			d = strdup(cs_rows_text(r, 1));
	cs_rows_free(r);
	return d;
}

int cli_html_page(FILE *out, cs_ctx *ctx, const char *name, const cs_report_opts *o,
		  cs_rows *rows)
{
	series tp = {0}, wait = {0}, hb = {0};
	grid_rows g = {0};
	fleet f = {0};
	cs_rows *ids = NULL;
	char now[32], *desc = NULL;
	int rc;

	/* Colours follow fleet_ids, whatever the filters. */
	if ((rc = cs_report(ctx, &ids, "fleet_ids", NULL)))
		goto done;
	while ((rc = cs_rows_next(ids)) == 1)
		if (cs_rows_text(ids, 0))
			fleet_index(&f, cs_rows_text(ids, 0));
	/* The report's own chart: a time chart for the three reports that have
	 * one, else bars of its rows. */
	if (rc < 0 ||
	    (!strcmp(name, "throughput") && (rc = fetch(ctx, "throughput", o, "hour", "finished", NULL, &tp))) ||
	    (!strcmp(name, "durations") &&
	     (rc = fetch(ctx, "durations", o, "day", "wait_p50", "wait_p95", &wait))) ||
	    (!strcmp(name, "heartbeats") && (rc = fetch(ctx, "heartbeats", o, "time", NULL, NULL, &hb))) ||
	    (strcmp(name, "throughput") && strcmp(name, "durations") && strcmp(name, "heartbeats") &&
	     (rc = grid_rows_read(ctx, name, o, &g))))
		goto done;
	desc = description(ctx, name, o);
	fmt_time((double)time(NULL), "%Y-%m-%d %H:%M:%S UTC", now, sizeof now);

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>coordsync report: ", out);
	cli_html_escape(out, name);
	fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>coordsync report: ", css);
	cli_html_escape(out, name);
	fputs("</h1>\n<p class=\"meta\">", out);
	if (desc) {
		cli_html_escape(out, desc);
		fputs("<br>", out);
	}
	fprintf(out, "generated %s", now);
	if (o->since) {
		fputs(" &middot; since ", out);
		cli_html_escape(out, o->since);
	}
	if (o->server) {
		fputs(" &middot; server ", out);
		cli_html_escape(out, o->server);
	}
	fputs("</p>\n<section class=\"charts\">\n", out);
	if (!strcmp(name, "throughput"))
		chart_throughput(out, &f, &tp);
	else if (!strcmp(name, "durations"))
		chart_wait(out, &f, &wait);
	else if (!strcmp(name, "heartbeats"))
		chart_heartbeats(out, &f, &hb);
	else
		chart_rows(out, &f, &g, name);
	fputs("</section>\n<h2>", out);
	cli_html_escape(out, name);
	fputs("</h2>\n", out);
	fputs("<div class=\"rows\">\n", out);
	rc = cli_print_rows(out, rows, FMT_HTML);
	fputs("</div>\n</body>\n</html>\n", out);
done:
	free(desc);
	cs_rows_free(ids);
	series_free(&tp);
	series_free(&wait);
	series_free(&hb);
	grid_rows_free(&g);
	fleet_free(&f);
	return rc;
}
