/* What every command prints through: the output mode (--json, --local), the
 * one time formatter, the JSON object writer, and errors and notices (text,
 * or a JSON object a line on standard error).  docs/JSON.md describes the
 * JSON each command prints. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"

int cli_out_json, cli_out_local;

void cli_out_reset(int argc, char **argv)
{
	cli_out_json = cli_out_local = 0;
	/* Before parsing, so that a usage error of the parse itself is JSON:
	 * the words up to "--".  A value that reads "--json" (a subject) turns
	 * it on too, which only changes how the answer is written. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--json"))
			cli_out_json = 1;
		else if (!strcmp(argv[i], "--local"))
			cli_out_local = 1;
	}
}

/* ---- times --------------------------------------------------------------- */

void cli_time(char out[CLI_TIME_MAX], double t)
{
	struct tm tm;
	time_t s;
	long off;
	char buf[96];   /* what the compiler reckons %d can take */
	out[0] = 0;
	/* Years 1 to 9999, as the engine reads them (util_time_parse). */
	if (!(t >= -62135596800.0 && t <= 253402300799.0))
		return;
	s = (time_t)t;
	if ((double)s > t)
		s--;
	if (!(cli_out_local ? localtime_r(&s, &tm) : gmtime_r(&s, &tm)))
		return;
	/* Not strftime's %Y: it does not pad years before 1000 to 4 digits. */
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	off = tm.tm_gmtoff;
	if (!cli_out_local)
		memcpy(buf + strlen(buf), "Z", 2);
	else
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%c%02ld:%02ld",
			 off < 0 ? '-' : '+', labs(off) / 3600, labs(off) / 60 % 60);
	if (strlen(buf) < CLI_TIME_MAX)
		memcpy(out, buf, strlen(buf) + 1);
}

/* Whether s is exactly YYYY-MM-DDTHH:MM:SSZ, as the views write times. */
static int utc_stamp(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;
	for (i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != pat[i])
			return 0;
	return !s[i];
}

const char *cli_time_cell(const char *s, char buf[CLI_TIME_MAX])
{
	double t;
	if (!cli_out_local || !s || !utc_stamp(s) || cs_parse_time(s, &t))
		return s;
	cli_time(buf, t);
	return buf[0] ? buf : s;
}

/* ---- the JSON object writer ------------------------------------------------ */

void cli_obj_open(cli_obj *o, FILE *f)
{
	o->f = f;
	o->n = 0;
	fputc('{', f);
}

void cli_obj_key(cli_obj *o, const char *key)
{
	fputs(o->n++ ? ", " : "", o->f);
	cli_json_string(o->f, key);
	fputs(": ", o->f);
}

void cli_obj_str(cli_obj *o, const char *key, const char *v)
{
	cli_obj_key(o, key);
	if (v)
		cli_json_string(o->f, v);
	else
		fputs("null", o->f);
}

void cli_obj_int(cli_obj *o, const char *key, long long v)
{
	cli_obj_key(o, key);
	fprintf(o->f, "%lld", v);
}

void cli_obj_bool(cli_obj *o, const char *key, int v)
{
	cli_obj_key(o, key);
	fputs(v ? "true" : "false", o->f);
}

void cli_obj_time(cli_obj *o, const char *key, double t)
{
	char buf[CLI_TIME_MAX];
	cli_time(buf, t);
	cli_obj_str(o, key, t > 0 && buf[0] ? buf : NULL);
}

void cli_obj_raw(cli_obj *o, const char *key, const char *json)
{
	cli_obj_key(o, key);
	fputs(json ? json : "null", o->f);
}

void cli_obj_close(cli_obj *o)
{
	fputs("}\n", o->f);
	fflush(o->f);
}

void cli_ok(const char *key, const char *val)
{
	cli_obj o;
	cli_obj_open(&o, stdout);
	cli_obj_bool(&o, "ok", 1);
	if (key)
		cli_obj_str(&o, key, val);
	cli_obj_close(&o);
}

/* ---- errors and notices ------------------------------------------------------ */

const char *cli_code(int rc)
{
	switch (rc) {
	case CS_EINVAL: return "invalid";
	case CS_EREFUSED: return "refused";
	case CS_ENOTFOUND: return "not_found";
	case CS_EBUSY: return "busy";
	default: return "error";
	}
}

/* The error object; usage (the command's usage line) may be NULL. */
static void error_json(int exit, const char *code, const char *msg, const char *usage)
{
	cli_obj o, e;
	fflush(stdout);
	cli_obj_open(&o, stderr);
	cli_obj_key(&o, "error");
	cli_obj_open(&e, stderr);
	cli_obj_str(&e, "message", msg);
	cli_obj_str(&e, "code", code);
	cli_obj_int(&e, "exit", exit);
	if (usage)
		cli_obj_str(&e, "usage", usage);
	fputc('}', stderr);
	cli_obj_close(&o);
}

int cli_error_usage(int exit, const char *code, const char *msg, const char *usage)
{
	if (cli_out_json) {
		error_json(exit, code, msg, usage);
		return exit;
	}
	fprintf(stderr, "coordsync: ");
	cli_put_text(stderr, msg);
	fputc('\n', stderr);
	if (usage)
		fprintf(stderr, "usage: %s (see --help)\n", usage);
	return exit;
}

int cli_error(int exit, const char *code, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	int n;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	cli_error_usage(exit, code, n < 0 ? fmt : msg, NULL);
	if (n >= 0)
		free(msg);
	return exit;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	int n;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	cli_notice(n < 0 ? fmt : msg, NULL);
	if (n >= 0)
		free(msg);
}

void cli_notice(const char *msg, void *arg)
{
	(void)arg;
	if (cli_out_json) {
		cli_obj o;
		cli_obj_open(&o, stderr);
		cli_obj_str(&o, "notice", msg);
		cli_obj_close(&o);
		return;
	}
	fprintf(stderr, "coordsync: ");
	cli_put_text(stderr, msg);
	fputc('\n', stderr);
}

/* ---- errors ------------------------------------------------------------ */

int cli_exit(int rc)
{
	switch (rc) {
	case CS_OK: return EXIT_OK;
	case CS_EINVAL: return EXIT_USAGE;
	case CS_EREFUSED: return EXIT_REFUSED;
	default: return EXIT_ERR;
	}
}

/* Errors and notices quote remote text: escaped (cli_put_text), or JSON
 * (cli/out.c). */
int cli_fail(cs_ctx *ctx, int rc)
{
	return cli_error_usage(cli_exit(rc), cli_code(rc), cs_errmsg(ctx), NULL);
}
