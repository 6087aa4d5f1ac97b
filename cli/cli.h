/* The coordsync command line: option tables, dispatch and output. */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stdio.h>
#include "coordsync/coordsync.h"

#define EXIT_OK 0
#define EXIT_ERR 1
#define EXIT_USAGE 2
#define EXIT_REFUSED 3

/* One option of a command.  kind: 'f' flag, 's' string, 'i' integer,
 * 'm' string that may repeat, 'd' duration (cs_duration_parse: a bare
 * number is seconds; num holds seconds), 'D' days (a bare number is days,
 * or whole days with a unit; num holds days). */
typedef struct cli_opt {
	const char *name;     /* "--ttl" */
	char kind;
	const char *arg;      /* "SEC" in the help */
	const char *help;
} cli_opt;

#define CLI_MAXOPT 16
#define CLI_MAXARG 64

/* What was parsed for one invocation. */
typedef struct cli {
	/* global options */
	const char *dir, *server, *db;
	int json;
	/* the command's own, indexed like its option table */
	const char *val[CLI_MAXOPT];
	long long num[CLI_MAXOPT];
	int set[CLI_MAXOPT];
	const char *multi[CLI_MAXOPT][CLI_MAXARG];
	int nmulti[CLI_MAXOPT];
	const char *args[CLI_MAXARG];
	int nargs;
	const struct cli_cmd *cmd;
} cli;

typedef struct cli_cmd {
	const char *name;     /* "lock acquire" */
	const char *args;     /* "NAME" for the usage line */
	const char *summary;
	int min_args, max_args;
	const cli_opt *opts;
	int (*run)(cli *c);
	int flags;            /* CLI_SERVED */
} cli_cmd;

/* A daemon on the clone may run the command for its caller (serve.c): the
 * decisions and the reads beside them.  Not commands that run long or set
 * timers (query, report, health, run, daemon), nor those that build or
 * replace a clone. */
#define CLI_SERVED 1
/* A monitoring plugin (health): its usage errors exit 3, UNKNOWN, since a
 * monitor reads 2 as CRITICAL. */
#define CLI_PLUGIN 2
#define EXIT_PLUGIN_USAGE 3

/* Every command, defined with the group it belongs to. */
extern const cli_cmd cli_sync_cmds[], cli_lock_cmds[], cli_job_cmds[], cli_msg_cmds[],
	cli_status_cmds[], cli_demo_cmds[];
extern const cli_cmd cli_report_cmds[], cli_run_cmds[];
extern const cli_cmd cli_health_cmds[];
extern const cli_cmd cli_outbox_cmds[];   /* cmd_outbox.c */
extern const cli_cmd cli_validate_cmds[]; /* cmd_validate.c */

/* The command table (table.c): the global options and every group of
 * commands (NULL-terminated). */
extern const cli_opt cli_global_opts[];
extern const cli_cmd *const cli_groups[];
/* The entry of tab that arg names ("--ttl", "--ttl=5"), or NULL; *inl is
 * the inline value after '=', or NULL. */
const cli_opt *cli_match(const cli_opt *tab, const char *arg, const char **inl);
/* The command argv[i] (and argv[i + 1]) names, longest match first; *used
 * is the number of words.  NULL when none. */
const cli_cmd *cli_lookup(int argc, char **argv, int i, int *used);
/* List the commands of group name on f (only count them when f is NULL);
 * returns how many there are. */
int cli_group_list(FILE *f, const char *name);

/* Run the command line argv (main's, or one a daemon serves). */
int cli_main(int argc, char **argv);
/* Parse argv into *c without running anything: 0 with c->cmd set; -1 when
 * it printed the answer itself (--help, --version, a group's list: exit
 * 0); or the exit status of a usage error it printed to stderr (2; 3 for a
 * CLI_PLUGIN command).  c points into argv. */
int cli_parse(cli *c, int argc, char **argv);
/* The command argv names, or NULL. */
const cli_cmd *cli_find(int argc, char **argv);

/* Serving commands from the daemon (serve.c).  cli_in_daemon is set in the
 * daemon, whose own commands never go to a daemon. */
extern int cli_in_daemon;
/* Have the clone's daemon run argv: its exit status, or -1 when no daemon
 * took it (none runs, it is busy, or it declined) and nothing ran. */
int cli_forward(const cli *c, int argc, char **argv);
/* Listen at the clone's socket; the descriptor, or -1 with err set. */
int cli_serve_listen(const char *workdir, char *err, size_t errlen);
/* Accept one connection on lfd and serve it with dispatch (cli_main); 1
 * when a command ran. */
int cli_serve_one(int lfd, int (*dispatch)(int, char **));
void cli_serve_close(int fd, const char *workdir);
/* While the daemon serves a command: 1 when its caller has gone (closed its
 * end of the socket: killed, or timed out), else 0; 0 when not serving.  A
 * cs_abort_fn (arg unused): cli_open sets it on every handle of a served
 * command, so no decision is pushed for a caller that is gone. */
int cli_caller_gone(void *arg);

/* Open the clone named by the global options; prints the error. */
int cli_open(cli *c, cs_ctx **ctx);
/* A last bound on a read-only command: seconds + 0.25 s after this call the
 * process exits 1 with a message.  The engine's progress handler stops a
 * statement at `seconds`; this stops one that is stuck inside a single SQL
 * function (instr or replace on huge strings), which the handler cannot
 * reach.  Exiting loses nothing: nothing is written on that path. */
void cli_deadline(int seconds);
/* Print ctx's error and map a CS_* code to an exit status. */
int cli_fail(cs_ctx *ctx, int rc);
int cli_exit(int rc);
int cli_usage(const cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Option value by name: string, number, or whether it was given.  name
 * must be one of the command's own options (its cli_opt table): any other
 * name is a bug, which prints an internal error naming it and aborts. */
const char *cli_str(const cli *c, const char *name);
long long cli_num(const cli *c, const char *name, long long dflt);
int cli_has(const cli *c, const char *name);
int cli_multi(const cli *c, const char *name, const char *const **out);

/* Output formats; one formatter renders any cursor in any of them. */
enum { FMT_TABLE, FMT_CSV, FMT_JSON, FMT_MD, FMT_HTML /* a <table> */,
       FMT_OBJECT /* one row as a JSON object */,
       FMT_ROWS /* {"rows": [...]}: a list under --json */ };
int cli_format(const char *name);    /* -1 if unknown */
int cli_print_rows(FILE *out, cs_rows *rows, int fmt);
/* The first row as a JSON object (FMT_OBJECT) with one more member: key,
 * the number num. */
int cli_print_object(FILE *out, cs_rows *rows, const char *key, long long num);
/* Print list name of queries/ with filters (cs_list); an exit status.
 * FMT_JSON prints the object {"rows": [...]} (FMT_ROWS). */
int cli_show(cs_ctx *ctx, const char *name, const char *const *filters, int fmt);
/* s as a JSON string literal: valid JSON for any bytes (cli/format.c says
 * how each character is written). */
void cli_json_string(FILE *out, const char *s);
/* s for a terminal or a log: control characters, invalid UTF-8 and the
 * characters that move lines or reorder text as C-style escapes (\n,
 * \x1b, \u2028).  Everything that prints text from the remote outside
 * JSON goes through these.  cli_text returns a malloc'd copy (NULL when out
 * of memory). */
void cli_put_text(FILE *out, const char *s);
/* A notice of the engine (cs_set_notice) on standard error, escaped. */
void cli_notice(const char *msg, void *arg);
char *cli_text(const char *s);
/* s with & < > " ' as HTML character references. */
void cli_html_escape(FILE *out, const char *s);
/* A whole self-contained HTML page for report name: inline CSS, inline SVG
 * charts (throughput, queue wait, heartbeats, filtered by o) and rows as a
 * table (cli/html.c). */
int cli_html_page(FILE *out, cs_ctx *ctx, const char *name, const cs_report_opts *o,
		  cs_rows *rows);


/* ---- output mode, times, JSON objects, errors (cli/out.c) ----------------
 * With --json every command prints one JSON object on stdout (docs/JSON.md)
 * and writes errors and notices as one JSON object a line on stderr. */
extern int cli_out_json;    /* --json */
extern int cli_out_local;   /* --local: times in local time with the offset */
/* Set the two from argv before it is parsed (cli_parse). */
void cli_out_reset(int argc, char **argv);
/* Epoch seconds t as ISO-8601: 2026-12-03T17:58:37Z, or with --local
 * 2026-12-03T18:58:37+01:00; "" outside years 1 to 9999.  Every time the
 * CLI prints goes through here. */
#define CLI_TIME_MAX 40
void cli_time(char out[CLI_TIME_MAX], double t);
/* A cell's text: with --local, a UTC time as the views write it
 * (YYYY-MM-DDTHH:MM:SSZ) rewritten in local time into buf; else s. */
const char *cli_time_cell(const char *s, char buf[CLI_TIME_MAX]);
/* One JSON object written member by member on f; close ends the line. */
typedef struct cli_obj {
	FILE *f;
	int n;
} cli_obj;
void cli_obj_open(cli_obj *o, FILE *f);
void cli_obj_key(cli_obj *o, const char *key);   /* then write the value */
void cli_obj_str(cli_obj *o, const char *key, const char *v);   /* NULL: null */
void cli_obj_int(cli_obj *o, const char *key, long long v);
void cli_obj_bool(cli_obj *o, const char *key, int v);
void cli_obj_time(cli_obj *o, const char *key, double t);   /* t <= 0: null */
void cli_obj_raw(cli_obj *o, const char *key, const char *json);
void cli_obj_close(cli_obj *o);
/* {"ok": true} with one more string member key (when not NULL): the
 * answer of a command that prints nothing without --json. */
void cli_ok(const char *key, const char *val);
/* The code of a CS_* error in the JSON error object: "error", "invalid",
 * "refused", "not_found", "busy" ("usage" is the parser's). */
const char *cli_code(int rc);
/* Print an error: "coordsync: MSG" (and "usage: USAGE (see --help)" when
 * usage is not NULL), or with --json {"error": {"message", "code", "exit"
 * [, "usage"]}}; returns exit. */
int cli_error_usage(int exit, const char *code, const char *msg, const char *usage);
int cli_error(int exit, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A warning on stderr, as a notice (cli_notice). */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
