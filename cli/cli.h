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
 * number is seconds; num holds seconds), 'F' an output format (cli_format;
 * num holds its FMT_*, the help lists every format). */
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
	int quiet;                 /* -q: errors only, and the values asked for */
	char dirbuf[4096];         /* -C DIR after another -C: the two joined */
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
extern const cli_cmd cli_logs_cmds[];     /* cmd_logs.c */
extern const cli_cmd cli_jira_cmds[];     /* cmd_jira.c */
extern const cli_cmd cli_query_cmds[];    /* cmd_query.c: query, schema */

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
/* Write what --help and the man pages add after option o's help text:
 * "(repeatable)", the duration syntax, the list of formats. */
void cli_opt_note(FILE *f, const cli_opt *o);

/* Write the man pages and the bash completion, generated from the command
 * table, under dir (cli/gendoc.c; `coordsync --gendoc DIR`, which the build
 * runs); an exit status. */
int cli_gendoc(const char *dir);

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

/* systemd's Type=notify for the daemon (cli/notify.c), by hand: nothing
 * happens without $NOTIFY_SOCKET.  cli_notify_init reads the environment
 * (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID); cli_notify sends one
 * message ("READY=1"); cli_watchdog sends WATCHDOG=1 when a quarter of
 * WATCHDOG_USEC has passed since the last, so calling it from the loop,
 * between steps, keeps the watchdog fed while the loop moves and starves
 * it when a step hangs; cli_watchdog_wake_ms(ms) is ms, or less when the
 * watchdog needs the loop to wake sooner. */
void cli_notify_init(void);
void cli_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_watchdog(void);
int cli_watchdog_wake_ms(int ms);

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
/* -q: a report of what a command did ("rescued 2 job(s)") is not printed;
 * JSON and the value a command exists to print (an id, a fence) are. */
#define CLI_QUIET(c) ((c)->quiet && !(c)->json)

/* Option value by name: string, number, or whether it was given.  name
 * must be one of the command's own options (its cli_opt table): any other
 * name is a bug, which prints an internal error naming it and aborts. */
const char *cli_str(const cli *c, const char *name);
long long cli_num(const cli *c, const char *name, long long dflt);
int cli_has(const cli *c, const char *name);
int cli_multi(const cli *c, const char *name, const char *const **out);

/* Read all of file path, or standard input for "-", at most max bytes,
 * into *out (malloc'd, NUL-terminated; *len bytes).  0, or -1 with the
 * reason in err (cli/input.c). */
int cli_read_input(const char *path, size_t max, char **out, size_t *len, char *err,
		   size_t errlen);
/* --dry-run (cli/dryrun.c): what the decision would change, collected by
 * cs_set_dry_run when on, printed by cli_dry_print. */
typedef struct cli_dry {
	int on;
	int n;
	char **kind, **id;
} cli_dry;
void cli_dry_start(cs_ctx *ctx, cli_dry *d, int on);
/* When d is on: each record ("would VERB job ID"), or with --json the
 * start of the object ({"dry_run": true, "records": [...]) the caller
 * completes and closes; returns 1.  When off: 0, nothing printed. */
int cli_dry_print(const cli *c, const cli_dry *d, const char *verb);
void cli_dry_free(cli_dry *d);

/* Output formats; one formatter renders any cursor in any of them. */
enum { FMT_TABLE, FMT_CSV, FMT_JSON, FMT_MD, FMT_HTML /* a <table> */,
       FMT_OBJECT /* one row as a JSON object */,
       FMT_TSV, FMT_LIST, FMT_LINE, FMT_BOX /* the sqlite3 shell's modes */,
       FMT_ROWS /* {"rows": [...]}: a list under --json */ };
/* The format a name (as --format takes it) names, or -1 if unknown. */
int cli_format(const char *name);
/* Every format's name on f, in the order of the one table of formats:
 * "table, box, ... or html" (the help of an option of kind 'F'). */
void cli_format_names(FILE *f);
int cli_print_rows(FILE *out, cs_rows *rows, int fmt);
/* How rows are printed: fmt; no_header leaves the header out (table, box,
 * csv, tsv, list, html); null is printed for a NULL ("" when NULL; not in
 * json); sep between list columns ("|" when NULL). */
typedef struct cli_print_opts {
	int fmt;
	int no_header;
	const char *null, *sep;
} cli_print_opts;
int cli_print_rows_opts(FILE *out, cs_rows *rows, const cli_print_opts *po);
/* The first row as a JSON object (FMT_OBJECT) with one more member: key,
 * the number num. */
int cli_print_object(FILE *out, cs_rows *rows, const char *key, long long num);
/* Print list name of queries/ with filters (cs_list); an exit status.
 * FMT_JSON prints the object {"rows": [...]} (FMT_ROWS). */
int cli_show(cs_ctx *ctx, const char *name, const char *const *filters, int fmt);
/* s as a JSON string literal: valid JSON for any bytes (cli/escape.c says
 * how each character is written). */
void cli_json_string(FILE *out, const char *s);
/* s for a terminal or a log: control characters, invalid UTF-8 and the
 * characters that move lines or reorder text as C-style escapes (\n,
 * \x1b, \u2028).  Everything that prints text from the remote outside
 * JSON goes through these.  cli_text returns a malloc'd copy (NULL when out
 * of memory). */
void cli_put_text(FILE *out, const char *s);
/* Kept as they are by cli_esc_one: csv's line feed; html's tab, line feed and
 * carriage return and the invisible characters of hidden() that are not
 * controls (a browser shows them as text, and HTML allows them). */
#define CLI_KEEP_LF 1
#define CLI_KEEP_HTML 2
#define CLI_KEEP_TAB 4   /* cli_put_lines: a tab too */
/* The text-mode form of the character at s into buf (NUL-terminated, at
 * most 15 bytes), keeping what keep says (CLI_KEEP_*); returns the bytes
 * of s it stands for (cli/escape.c). */
int cli_esc_one(const unsigned char *s, char buf[16], int keep);
/* s as cli_put_text, but a line feed and a tab as themselves: a text of
 * many lines (a CREATE statement). */
void cli_put_lines(FILE *out, const char *s);
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
