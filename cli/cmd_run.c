/* run, daemon, config, compact, logs push and msg autoreply: coordsync on a
 * timer, unattended. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

static volatile sig_atomic_t stop_requested;
static int use_syslog;
static int quiet_log;    /* -q: errors only */

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* One log line to stderr, or to syslog with --syslog.  The line quotes
 * remote text (subjects, ids, errors): it is escaped as a whole, so it stays
 * one line and carries no terminal control (cli_put_text). */
static void logmsg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logmsg(int prio, const char *fmt, ...)
{
	va_list ap;
	char *raw = NULL, *line;
	int n;
	if (quiet_log && prio > LOG_ERR)
		return;
	va_start(ap, fmt);
	n = vasprintf(&raw, fmt, ap);
	va_end(ap);
	line = cli_text(n < 0 ? "coordsync: out of memory formatting a log line" : raw);
	if (use_syslog) {
		syslog(prio, "%s", line ? line : "coordsync: out of memory escaping a log line");
	} else if (cli_out_json) {
		/* --json: a JSON object a line, the exact text (not escaped). */
		static const char *const lv[] = {"emerg", "alert", "crit", "err", "warning", "notice",
						 "info", "debug"};
		cli_obj o;
		cli_obj_open(&o, stderr);
		cli_obj_str(&o, "log", n < 0 ? "coordsync: out of memory formatting a log line" : raw);
		cli_obj_str(&o, "level", lv[prio & 7]);
		cli_obj_close(&o);
	} else {
		fputs(line ? line : "coordsync: out of memory escaping a log line", stderr);
		fputc('\n', stderr);
	}
	free(line);
	if (n >= 0)
		free(raw);
}

static void log_notice(const char *msg, void *arg)
{
	(void)arg;
	logmsg(LOG_WARNING, "coordsync: %s", msg);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the cycle ----------------------------------------------------------- */

typedef cs_cycle_result cycle;

/* A line of the cycle's log (cs_cycle_log_fn) to stderr or syslog. */
static void log_line(int level, const char *line, void *arg)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO};
	(void)arg;
	logmsg(level >= 0 && level <= CS_LOG_INFO ? prio[level] : LOG_INFO, "%s", line);
}

/* A step of the cycle begins: the watchdog hears the loop is moving. */
static void cycle_step(const char *name, void *arg)
{
	(void)name, (void)arg;
	cli_watchdog();
}

/* The cycle's one line, key=value for log parsers. */
static void log_cycle(const char *server, const cycle *cy, double ms)
{
	logmsg(cy->failed ? LOG_ERR : LOG_INFO,
	       "coordsync run server=%s result=%s head=%.12s imported=%d records=%ld failed_files=%d"
	       " intents=%d"
	       " replied=%d marked=%d locks_released=%d rescued=%d archived_jobs=%d"
	       " archived_messages=%d health=%s alerts=%d duration_ms=%.0f%s%s%s",
	       server ? server : "-", cy->failed ? "error" : "ok",
	       cy->st.head[0] ? cy->st.head : "-", cy->st.files_imported, cy->st.records_imported,
	       cy->st.files_failed, cy->intents, cy->replied, cy->marked, cy->released, cy->rescued, cy->jobs_archived,
	       cy->msgs_archived, cy->health >= CS_HEALTH_OK && cy->health <= CS_HEALTH_UNKNOWN
		       ? cs_health_severity_name(cy->health) : "-",
	       cy->alerts, ms, cy->failed ? " step=\"" : "", cy->failed ? cy->failed : "",
	       cy->failed ? "\"" : "");
}

/* --json: the cycle as one JSON object on stdout (a line; the daemon
 * prints one for every cycle).  rc is one_run's. */
static void print_cycle(int rc, int busy, const cycle *cy)
{
	cli_obj o;
	cli_obj_open(&o, stdout);
	cli_obj_bool(&o, "ok", !rc);
	cli_obj_bool(&o, "skipped", busy);
	cli_obj_str(&o, "head", cy->st.head[0] ? cy->st.head : NULL);
	cli_obj_int(&o, "imported", cy->st.files_imported);
	cli_obj_int(&o, "records", cy->st.records_imported);
	cli_obj_int(&o, "failed_files", cy->st.files_failed);
	cli_obj_int(&o, "intents", cy->intents);
	cli_obj_int(&o, "replied", cy->replied);
	cli_obj_int(&o, "marked", cy->marked);
	cli_obj_int(&o, "locks_released", cy->released);
	cli_obj_int(&o, "rescued", cy->rescued);
	cli_obj_int(&o, "archived_jobs", cy->jobs_archived);
	cli_obj_int(&o, "archived_messages", cy->msgs_archived);
	cli_obj_str(&o, "health", cy->health >= CS_HEALTH_OK && cy->health <= CS_HEALTH_UNKNOWN
			? cs_health_severity_name(cy->health) : NULL);
	cli_obj_int(&o, "alerts", cy->alerts);
	cli_obj_str(&o, "step", cy->failed);
	cli_obj_str(&o, "error", cy->failed || cy->error[0] ? cy->error : NULL);
	cli_obj_int(&o, "exit", cli_exit(rc));
	cli_obj_close(&o);
}

/* Open, lock (waiting at most wait s), run one cycle, close.  *busy is set
 * when another coordsync held the clone. */
static int one_run(cli *c, int wait, int health, int *busy, cycle *cy)
{
	cs_opts o = {c->dir, c->server, c->db};
	cs_ctx *ctx = NULL;
	double t0 = mono();
	int rc;

	*busy = 0;
	/* A malformed mirror is set aside; the cycle's sync fills a new one. */
	if ((rc = cs_open(&ctx, &o)) && cs_mirror_malformed(ctx)) {
		cs_set_notice(ctx, log_notice, NULL);
		rc = cs_mirror_repair(ctx);
	}
	if (rc) {
		logmsg(LOG_ERR, "coordsync: %s", cs_errmsg(ctx));
		snprintf(cy->error, sizeof cy->error, "%s", cs_errmsg(ctx));
		cs_close(ctx);
		return rc;
	}
	cs_set_notice(ctx, log_notice, NULL);
	if (!cs_server(ctx)) {
		logmsg(LOG_ERR, "coordsync: no server id: pass --server or set coordsync.server");
		snprintf(cy->error, sizeof cy->error, "no server id: pass --server or set coordsync.server");
		cs_close(ctx);
		return CS_EINVAL;
	}
	if ((rc = cs_clone_lock(ctx, wait)) == CS_EBUSY) {
		*busy = 1;
		cs_close(ctx);
		return CS_OK;
	}
	if (!rc) {
		cs_cycle_opts co = {health, log_line, NULL, cycle_step};
		rc = cs_cycle(ctx, &co, cy);
		log_cycle(cs_server(ctx), cy, (mono() - t0) * 1000);
	} else {
		logmsg(LOG_ERR, "coordsync: %s", cs_errmsg(ctx));
		snprintf(cy->error, sizeof cy->error, "%s", cs_errmsg(ctx));
	}
	cs_close(ctx);
	return rc;
}

static int run_run(cli *c)
{
	long long wait = cli_num(c, "--wait", 10);
	int busy, rc;
	cycle cy;
	if (wait < 0 || wait > 3600)
		return cli_usage(c, "--wait must be between 0 and 3600 seconds");
	quiet_log = c->quiet;
	use_syslog = cli_has(c, "--syslog");
	if (use_syslog)
		openlog("coordsync", LOG_PID, LOG_DAEMON);
	memset(&cy, 0, sizeof cy);
	cy.health = -1;
	rc = one_run(c, (int)wait, cli_has(c, "--health"), &busy, &cy);
	if (busy)
		logmsg(LOG_NOTICE, "coordsync run: another coordsync is working on this clone;"
				   " skipping this run");
	if (c->json)
		print_cycle(rc, busy, &cy);
	/* --json: a failed cycle ends with the error object, as every command. */
	if (rc && c->json)
		return cli_error(cli_exit(rc), cli_code(rc), "%s%s%s", cy.failed ? cy.failed : "",
				 cy.failed ? ": " : "", cy.error[0] ? cy.error : "the run failed");
	return cli_exit(rc);
}

/* The seed's adaptive interval (cs_cycle_interval). */
static int next_interval(cli *c)
{
	cs_opts o = {c->dir, c->server, c->db};
	cs_ctx *ctx = NULL;
	int n = 300;
	if (!cs_open(&ctx, &o))
		n = cs_cycle_interval(ctx);
	cs_close(ctx);
	return n;
}

/* Listen for commands to serve (cli/serve.c), unless told not to or the
 * clone is not where clients look for the socket; -1 when not serving. */
static int serve_start(cli *c, char **workdir)
{
	cs_opts o = {c->dir, c->server, c->db};
	cs_ctx *ctx = NULL;
	char err[256];
	int fd = -1;

	*workdir = NULL;
	if (cli_has(c, "--no-serve"))
		return -1;
	if (cs_open(&ctx, &o)) {
		logmsg(LOG_ERR, "coordsync daemon: not serving commands: %s", cs_errmsg(ctx));
	} else {
		/* Clients look in DIR/.git/coordsync, without libgit2. */
		size_t n = strlen(cs_workdir(ctx));
		if (strncmp(cs_gitdir(ctx), cs_workdir(ctx), n) || strcmp(cs_gitdir(ctx) + n, ".git/"))
			logmsg(LOG_NOTICE, "coordsync daemon: not serving commands: the clone's"
					   " .git is not a directory in its working tree");
		else if ((fd = cli_serve_listen(cs_workdir(ctx), err, sizeof err)) < 0)
			logmsg(LOG_NOTICE, "coordsync daemon: not serving commands: %s", err);
		else
			*workdir = strdup(cs_workdir(ctx));
	}
	cs_close(ctx);
	if (fd >= 0 && !*workdir) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int run_daemon(cli *c)
{
	long long max = cli_num(c, "--max-cycles", 0), fixed = cli_num(c, "--interval", 0);
	struct sigaction sa;
	int cycles = 0, served = 0, last = CS_OK, lfd, json = cli_out_json, local = cli_out_local;
	char *workdir;

	if (max < 0 || fixed < 0 || max > INT_MAX || fixed > 86400)
		return cli_usage(c, "--max-cycles must be between 0 and %d, --interval between 0 and"
				 " 86400 seconds", INT_MAX);
	quiet_log = c->quiet;
	use_syslog = cli_has(c, "--syslog");
	if (use_syslog)
		openlog("coordsync", LOG_PID, LOG_DAEMON);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Set up libgit2 once for every cycle and every command served. */
	cs_hold();
	cli_in_daemon = 1;
	cli_notify_init();
	lfd = serve_start(c, &workdir);
	logmsg(LOG_INFO, "coordsync daemon: started (pid %d)%s", (int)getpid(),
	       lfd >= 0 ? "; serving commands at .git/coordsync/serve.sock" : "");
	/* systemd (Type=notify): started, and serving if it serves. */
	cli_notify("READY=1\nSTATUS=started; first cycle running\nMAINPID=%d", (int)getpid());
	while (!stop_requested && (!max || cycles < max)) {
		cycle cy;
		int busy, wait_s;
		memset(&cy, 0, sizeof cy);
		/* A signal during a cycle lets it finish: every decision in it is
		 * atomic and deferred intents wait in the outbox either way. */
		memset(&cy, 0, sizeof cy);
		cy.health = -1;
		last = one_run(c, 10, cli_has(c, "--health"), &busy, &cy);
		if (busy)
			logmsg(LOG_NOTICE, "coordsync daemon: clone busy; skipping this cycle");
		/* --json: JSON Lines, one object a cycle. */
		if (json)
			print_cycle(last, busy, &cy);
		cycles++;
		cli_watchdog();
		if (stop_requested || (max && cycles >= max))
			break;
		wait_s = fixed ? (int)fixed : next_interval(c);
		cli_notify("STATUS=cycle %d %s%s; next in %ds", cycles,
			   busy ? "skipped (clone busy)" : cy.failed ? "failed at " : last ? "failed" : "ok",
			   !busy && cy.failed ? cy.failed : "", wait_s);
		/* Between cycles: serve commands, waking at least every 200 ms
		 * to notice a signal. */
		for (double end = mono() + wait_s; !stop_requested && mono() < end;) {
			int ms = cli_watchdog_wake_ms(200);
			if (lfd >= 0) {
				struct pollfd p = {lfd, POLLIN, 0};
				if (poll(&p, 1, ms) > 0) {
					/* A served command sets its own output mode. */
					served += cli_serve_one(lfd, cli_main);
					cli_out_json = json;
					cli_out_local = local;
				}
			} else {
				struct timespec ts = {ms / 1000, (ms % 1000) * 1000L * 1000};
				nanosleep(&ts, NULL);
			}
			cli_watchdog();
		}
	}
	cli_notify("STOPPING=1\nSTATUS=stopping after %d cycle%s", cycles, cycles == 1 ? "" : "s");
	if (lfd >= 0)
		cli_serve_close(lfd, workdir);
	free(workdir);
	cs_release();
	logmsg(LOG_INFO, "coordsync daemon: stopped after %d cycle%s, %d command%s served%s", cycles,
	       cycles == 1 ? "" : "s", served, served == 1 ? "" : "s",
	       stop_requested ? " (signal)" : "");
	if (last && json)
		return cli_error(cli_exit(last), cli_code(last), "the last cycle failed (see its line)");
	return cli_exit(last);
}

/* ---- config, compact, logs, autoreply -------------------------------------- */

/* Shows an invalid setting too (opened unchecked), then fails with its
 * error: every other command refuses to run with it. */
static int run_config(cli *c)
{
	cs_opts o = {c->dir, c->server, c->db};
	cs_rows *r = NULL;
	cs_ctx *ctx;
	int rc = cs_open_unchecked(&ctx, &o);
	if (rc) {
		rc = cli_fail(ctx, rc);
		cs_close(ctx);
		return rc;
	}
	if (!(rc = cs_config_list(ctx, &r)))
		rc = cli_print_rows(stdout, r, c->json ? FMT_ROWS : FMT_TABLE);
	cs_rows_free(r);
	if (!rc && !(rc = cs_config_check(ctx)) && cs_server(ctx) && !cs_valid_server_id(cs_server(ctx))) {
		rc = cli_error(EXIT_USAGE, "invalid", "server id '%s' is reserved or invalid",
			       cs_server(ctx));
		cs_close(ctx);
		return rc;
	}
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_compact(cli *c)
{
	const char *ot = cli_str(c, "--older-than");
	cs_ctx *ctx;
	int jobs = 0, msgs = 0, rc;
	long long older, cfg;
	cli_dry dry;
	/* A bare number was days here once, and is seconds in every other
	 * duration: an old `--older-than 30` must not archive what finished
	 * 30 s ago.  0 is 0 either way. */
	if (ot && !ot[strspn(ot, "0123456789")] && ot[strspn(ot, "0")])
		return cli_usage(c, "--older-than needs a unit: write '%sd' for %s days (a bare number"
				 " was days here, and would be seconds as in every other duration)", ot, ot);
	if ((rc = cli_open(c, &ctx)))
		return rc;
	/* coordsync.compact.olderthan switches compaction on in `run`; here it
	 * is only the default, and 0 (off) means the command's own 30 days. */
	cfg = 0;
	if (!cli_has(c, "--older-than") && (rc = cs_config_int(ctx, "compact.olderthan", &cfg))) {
		rc = cli_fail(ctx, rc);
		cs_close(ctx);
		return rc;
	}
	older = cli_num(c, "--older-than", cfg > 0 ? cfg : 30 * 86400LL);
	cli_dry_start(ctx, &dry, cli_has(c, "--dry-run") || cli_has(c, "-n"));
	if (!(rc = cs_compact(ctx, older, &jobs, &msgs))) {
		if (cli_dry_print(c, &dry, "archive")) {
			if (c->json)
				printf(", \"jobs\": %d, \"messages\": %d}\n", jobs, msgs);
			else
				printf("would archive %d job(s) and %d message(s)\n", jobs, msgs);
		} else if (!CLI_QUIET(c)) {
			printf(c->json ? "{\"jobs\": %d, \"messages\": %d}\n"
				       : "archived %d job(s) and %d message(s)\n", jobs, msgs);
		}
	}
	cli_dry_free(&dry);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_logs(cli *c)
{
	cs_logs_opts o;
	cs_ctx *ctx;
	int removed = 0, rc;
	static const char *const lim[] = {"--keep", "--keep-bytes", "--max-file", NULL};
	for (int i = 0; lim[i]; i++)
		if (cli_has(c, lim[i]) && (cli_num(c, lim[i], 0) < 0 ||
					   cli_num(c, lim[i], 0) > (i ? LLONG_MAX / 2 : INT_MAX)))
			return cli_usage(c, "%s must be between 0 and %lld", lim[i],
					 i ? LLONG_MAX / 2 : (long long)INT_MAX);
	if ((rc = cli_open(c, &ctx)))
		return rc;
	o.keep_files = (int)cli_num(c, "--keep", cs_config_num(ctx, "logs.keep", 20));
	o.keep_bytes = cli_num(c, "--keep-bytes", cs_config_num(ctx, "logs.maxbytes", 10485760));
	o.max_file = cli_num(c, "--max-file", cs_config_num(ctx, "logs.maxfile", 1048576));
	if (!(rc = cs_logs_push(ctx, c->args, c->nargs, &o, &removed)) && !CLI_QUIET(c))
		printf(c->json ? "{\"pushed\": %d, \"rotated_out\": %d}\n"
			       : "pushed %d file(s), rotated out %d\n", c->nargs, removed);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_autoreply(cli *c)
{
	cs_ctx *ctx;
	int replied = 0, marked = 0, rc;
	char *log = NULL;
	if ((rc = cli_open(c, &ctx)))
		return rc;
	if (!(rc = cs_autoreply(ctx, &replied, &marked, &log)) && !CLI_QUIET(c)) {
		for (char *line = log, *nl; line && *line; line = nl + 1) {
			if (!(nl = strchr(line, '\n')))
				break;
			*nl = 0;
			if (c->json) {
				cli_notice(line, NULL);
				continue;
			}
			cli_put_text(stderr, line);
			fputc('\n', stderr);
		}
		printf(c->json ? "{\"replied\": %d, \"marked\": %d}\n" : "replied %d, marked %d read\n",
		       replied, marked);
	}
	free(log);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static const cli_opt run_opts[] = {
	{"--wait", 'd', "SEC", "wait this long for another run on the clone, then skip (default 10)"},
	{"--health", 'f', NULL, "also run the health checks (always with coordsync.health.alert)"},
	{"--syslog", 'f', NULL, "log to syslog instead of stderr"},
	{NULL, 0, NULL, NULL}};
static const cli_opt daemon_opts[] = {
	{"--interval", 'd', "SEC", "a fixed interval instead of the adaptive one"},
	{"--max-cycles", 'i', "N", "stop after N cycles (default: run until SIGTERM)"},
	{"--health", 'f', NULL, "run the health checks every cycle"},
	{"--syslog", 'f', NULL, "log to syslog instead of stderr"},
	{"--no-serve", 'f', NULL, "do not run the clone's commands for other coordsync processes"},
	{NULL, 0, NULL, NULL}};
static const cli_opt compact_opts[] = {
	{"--older-than", 'd', "AGE", "archive records finished longer ago than this (default"
	 " coordsync.compact.olderthan, else 30d); here a bare number other than 0 is refused:"
	 " it meant days before"},
	{"--dry-run", 'f', NULL, "print what would be archived; change and push nothing"},
	{"-n", 'f', NULL, "short for --dry-run"},
	{NULL, 0, NULL, NULL}};
static const cli_opt logs_opts[] = {
	{"--keep", 'i', "N", "log files kept per server (default coordsync.logs.keep, 20)"},
	{"--keep-bytes", 'i', "B", "bytes kept per server (default coordsync.logs.maxbytes, 10 MiB)"},
	{"--max-file", 'i', "B", "refuse larger files (default coordsync.logs.maxfile, 1 MiB)"},
	{NULL, 0, NULL, NULL}};
static const cli_opt none[] = {{NULL, 0, NULL, NULL}};

const cli_cmd cli_run_cmds[] = {
	{"run", "", "one cycle for a timer: sync, heartbeat, auto-reply, lock cleanup, rescue,"
	 " compact, push deferred, health; ends with one log line", 0, 0, run_opts, run_run, 0},
	{"daemon", "", "the run cycle in a loop at the seed's adaptive interval; stops on SIGTERM", 0, 0,
	 daemon_opts, run_daemon, 0},
	{"config", "", "show every setting, its effective value and where it came from", 0, 0, none,
	 run_config, 0},
	{"compact", "", "move finished jobs and read messages into coordination/archive/YYYY-MM/", 0, 0,
	 compact_opts, run_compact, 0},
	{"logs push", "FILE...", "upload files to SERVER/logs/ in one commit, with rotation", 1,
	 CLI_MAXARG, logs_opts, run_logs, 0},
	{"msg autoreply", "", "apply docs/auto_reply_rules.json to unread messages now", 0, 0, none,
	 run_autoreply, 0},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
