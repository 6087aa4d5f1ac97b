/* health: the fleet's checks reported as a monitoring plugin reports them
 * (a status line first; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), with
 * --json for the details and --alert to post new problems and recoveries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>
#include "cli.h"

static const char *const alert_names[] = {NULL, "sent", "earlier", "pending"};

#define SUMMARY_MAX 5   /* problems named on the status line */

/* Text for the status line: one line, escaped (cli_text), and '|' starts
 * performance data. */
static void put_line(FILE *f, const char *s)
{
	char *t = cli_text(s);
	for (const char *p = t ? t : "(out of memory)"; *p; p++)
		fputc(*p == '|' ? '/' : *p, f);
	free(t);
}

static void status_line(FILE *f, const cs_health *h)
{
	fprintf(f, "COORDSYNC %s - ", cs_health_status_name(h->status));
	if (!h->nproblems) {
		fprintf(f, "%d server%s, no problems", h->servers, h->servers == 1 ? "" : "s");
		return;
	}
	fprintf(f, "%d problem%s: ", h->nproblems, h->nproblems == 1 ? "" : "s");
	for (int i = 0; i < h->nproblems && i < SUMMARY_MAX; i++) {
		fputs(i ? "; " : "", f);
		put_line(f, h->problems[i].message);
	}
	if (h->nproblems > SUMMARY_MAX)
		fprintf(f, "; and %d more", h->nproblems - SUMMARY_MAX);
}

/* Performance data, after the status line's " | ": the monitoring
 * plugins' 'label'=value[UOM];[warn];[crit];[min];[max].  A server's
 * heartbeat age is U (unknown) when it has none. */
static void perfdata(FILE *f, const cs_health *h)
{
	fprintf(f, " | 'queued'=%lld;;;0 'running'=%lld;;;0 'stale'=%lld;;;0 'unread'=%lld;;;0"
		" 'expired_locks'=%lld;;;0", h->queued, h->running, h->stale, h->unread,
		h->expired_locks);
	for (int i = 0; i < h->nbeats; i++) {
		fputs(" 'heartbeat_", f);
		/* Server ids are [A-Za-z0-9._-]; anything else could end the
		 * label or the line. */
		for (const char *p = h->beats[i].server; *p; p++)
			fputc(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p)
			      ? *p : '_', f);
		if (h->beats[i].age < 0)
			fprintf(f, "'=U;%s;%s;0", h->warning, h->critical);
		else
			fprintf(f, "'=%.0fs;%s;%s;0", h->beats[i].age, h->warning, h->critical);
	}
}

static void json_problem(const cs_problem *p, int cleared)
{
	printf("{\"key\": ");
	cli_json_string(stdout, p->key);
	printf(", \"check\": ");
	cli_json_string(stdout, p->check);
	printf(", \"severity\": \"%s\", \"server\": ",
	       cleared ? "ok" : cs_health_severity_name(p->severity));
	if (p->server)
		cli_json_string(stdout, p->server);
	else
		printf("null");
	printf(", \"message\": ");
	cli_json_string(stdout, p->message);
	printf(", \"values\": %s, \"first_seen\": ", p->values);
	{
		char iso[CLI_TIME_MAX];
		cli_time(iso, p->first_seen);
		if (p->first_seen > 0 && iso[0])
			printf("\"%s\"", iso);
		else
			printf("null");
	}
	printf(", \"alert\": ");
	if (alert_names[p->alert & 3])
		printf("\"%s\"}", alert_names[p->alert & 3]);
	else
		printf("null}");
}

static void print_json(const cs_health *h, const char *alert)
{
	printf("{\"status\": \"%s\", \"exit\": %d, \"summary\": ", cs_health_status_name(h->status),
	       h->status);
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (m) {
			status_line(m, h);
			fclose(m);
		}
		cli_json_string(stdout, buf ? buf : "");
		free(buf);
	}
	printf(", \"servers\": %d, \"problems\": [", h->servers);
	for (int i = 0; i < h->nproblems; i++) {
		printf(i ? ", " : "");
		json_problem(&h->problems[i], 0);
	}
	printf("], \"cleared\": [");
	for (int i = 0; i < h->ncleared; i++) {
		printf(i ? ", " : "");
		json_problem(&h->cleared[i], 1);
	}
	printf("], \"alerts\": ");
	if (alert) {
		printf("{\"sent\": %d, \"pending\": %d, \"error\": ", h->sent, h->pending);
		if (h->alert_error)
			cli_json_string(stdout, h->alert_error);
		else
			printf("null");
		printf("}}\n");
	} else {
		printf("null}\n");
	}
}

static void print_text(const cs_health *h)
{
	status_line(stdout, h);
	perfdata(stdout, h);
	printf("\n");
	for (int i = 0; i < h->nproblems; i++) {
		const cs_problem *p = &h->problems[i];
		printf("%-8s ", cs_health_status_name(p->severity));
		cli_put_text(stdout, p->message);
		if (p->alert == CS_ALERT_SENT)
			printf(" (alert sent)");
		else if (p->alert == CS_ALERT_PENDING)
			printf(" (alert not sent)");
		printf("\n");
	}
	for (int i = 0; i < h->ncleared; i++) {
		const cs_problem *p = &h->cleared[i];
		printf("%-8s cleared: ", "OK");
		cli_put_text(stdout, p->message);
		printf("%s\n", p->alert == CS_ALERT_SENT ? " (recovery sent)" : " (recovery not sent)");
	}
}

/* The check could not run (no clone, mirror unreadable): UNKNOWN, with
 * the reason on the status line. */
static int unknown(cli *c, const char *why)
{
	if (c->json) {
		char line[1200];
		snprintf(line, sizeof line, "COORDSYNC UNKNOWN - %s", why);
		printf("{\"status\": \"UNKNOWN\", \"exit\": 3, \"summary\": ");
		cli_json_string(stdout, line);
		printf(", \"error\": ");
		cli_json_string(stdout, why);
		printf("}\n");
	} else {
		printf("COORDSYNC UNKNOWN - ");
		put_line(stdout, why);
		printf("\n");
	}
	return CS_HEALTH_UNKNOWN;
}

/* A usage error of health: UNKNOWN (3), as a monitoring plugin's are; a
 * monitor reads 2 as CRITICAL. */
static int usage3(cli *c, const char *what)
{
	cli_usage(c, "%s", what);
	return CS_HEALTH_UNKNOWN;
}

/* --timeout: the answer a monitoring plugin gives when it runs out of
 * time, made before the timer is armed and written by the signal. */
static char timeout_msg[512];

static void on_timeout(int sig)
{
	ssize_t n = write(1, timeout_msg, strlen(timeout_msg));
	(void)sig, (void)n;
	_exit(CS_HEALTH_UNKNOWN);
}

/* Arm --timeout: after sec seconds, UNKNOWN and exit 3, whatever runs
 * (a sync, a post).  Ending there loses nothing a crash would not: the
 * mirror's transactions roll back and a push is a compare-and-swap. */
static void arm_timeout(cli *c, long long sec)
{
	struct sigaction sa;
	struct itimerval it;
	char why[64];
	snprintf(why, sizeof why, "timed out after %lld s (--timeout)", sec);
	if (c->json)
		snprintf(timeout_msg, sizeof timeout_msg, "{\"status\": \"UNKNOWN\", \"exit\": 3,"
			 " \"summary\": \"COORDSYNC UNKNOWN - %s\", \"error\": \"%s\"}\n", why, why);
	else
		snprintf(timeout_msg, sizeof timeout_msg, "COORDSYNC UNKNOWN - %s\n", why);
	memset(&sa, 0, sizeof sa);
	memset(&it, 0, sizeof it);
	sa.sa_handler = on_timeout;
	sigaction(SIGALRM, &sa, NULL);
	it.it_value.tv_sec = (time_t)sec;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm_timeout(void)
{
	struct itimerval it;
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
}

static int run_health(cli *c)
{
	static const char *const secs[] = {"--max-age", "--stuck", "--backlog-age",
					   "--backlog-count", "--max-skew", NULL};
	long long v[5];
	long long timeout = cli_num(c, "--alert-timeout", 10), wait;
	const char *const *ignore = NULL;
	cs_health_opts o;
	cs_health *h = NULL;
	cs_ctx *ctx = NULL;
	int rc;

	for (int i = 0; secs[i]; i++) {
		v[i] = cli_num(c, secs[i], 0);
		if (cli_has(c, secs[i]) && (v[i] < 1 || v[i] > 10LL * 366 * 86400)) {
			char what[64];
			snprintf(what, sizeof what, "%s must be between 1 and 316224000", secs[i]);
			return usage3(c, what);
		}
	}
	if (timeout < 1 || timeout > 60)
		return usage3(c, "--alert-timeout must be between 1 and 60 seconds");
	if (cli_has(c, "--token-file") && !cli_has(c, "--alert"))
		return usage3(c, "--token-file needs --alert URL");
	if ((cli_has(c, "-w") && cli_has(c, "--warning")) ||
	    (cli_has(c, "-c") && cli_has(c, "--critical")) ||
	    (cli_has(c, "-t") && cli_has(c, "--timeout")))
		return usage3(c, "give -w, -c and -t in their short or their long form, not both");
	wait = cli_has(c, "-t") ? cli_num(c, "-t", 0) : cli_num(c, "--timeout", 0);
	if (!cli_has(c, "-t") && !cli_has(c, "--timeout"))
		wait = 10 + (cli_has(c, "--alert") ? timeout : 0);
	else if (wait < 1 || wait > 86400)
		return usage3(c, "--timeout must be between 1 and 86400 seconds");
	memset(&o, 0, sizeof o);
	o.max_age = (int)v[0];
	o.stuck = (int)v[1];
	o.backlog_age = (int)v[2];
	o.backlog_count = (int)v[3];
	o.max_skew = (int)v[4];
	o.nignore = cli_multi(c, "--ignore", &ignore);
	o.ignore = ignore;
	o.sync = cli_has(c, "--sync");
	o.alert_url = cli_str(c, "--alert");
	o.token_file = cli_str(c, "--token-file");
	o.alert_timeout = (int)timeout;
	o.warning = cli_has(c, "-w") ? cli_str(c, "-w") : cli_str(c, "--warning");
	o.critical = cli_has(c, "-c") ? cli_str(c, "-c") : cli_str(c, "--critical");
	arm_timeout(c, wait);

	{
		cs_opts co = {c->dir, c->server, c->db};
		rc = cs_open(&ctx, &co);
	}
	if (!rc)
		rc = cs_health_check(ctx, &h, &o);
	disarm_timeout();
	if (rc == CS_EINVAL) {
		/* A bad URL or token file: a usage error, never a health state,
		 * so UNKNOWN like every other usage error of health. */
		rc = cli_error_usage(CS_HEALTH_UNKNOWN, "usage", cs_errmsg(ctx), NULL);
		goto done;
	}
	if (rc) {
		rc = unknown(c, cs_errmsg(ctx));
		goto done;
	}
	if (c->json)
		print_json(h, o.alert_url);
	else
		print_text(h);
	if (h->pending)
	{
		cli_warn("%d alert%s not sent; the next run retries: %s", h->pending,
			 h->pending == 1 ? "" : "s", h->alert_error ? h->alert_error : "posting stopped");
	}
	rc = h->status;
done:
	cs_health_free(h);
	cs_close(ctx);
	return rc;
}

static const cli_opt health_opts[] = {
	{"--max-age", 'd', "SEC", "a heartbeat older than this is stale (default 300)"},
	{"--stuck", 'd', "SEC", "a job running longer than this is stuck (default 3600)"},
	{"--backlog-age", 'd', "SEC", "unread messages older than this are a backlog (default 1800)"},
	{"--backlog-count", 'i', "N", "more unread messages than this for one server are a backlog"
	 " (default 50)"},
	{"--max-skew", 'd', "SEC", "heartbeat time against its commit time (default 120)"},
	{"--ignore", 'm', "ID", "leave server ID out of the per-server checks"},
	{"--sync", 'f', NULL, "fetch and import first (default: the mirror as it is)"},
	{"--alert", 's', "URL", "post each new problem and each recovery as JSON to URL"},
	{"--token-file", 's', "FILE", "send the bearer token in FILE (mode 0600) with alerts"},
	{"--alert-timeout", 'd', "SEC", "time bound of each post, 1-60 (default 10)"},
	{"-w", 's', "RANGE", "warning threshold on each server's heartbeat age in seconds, as a"
	 " monitoring plugin's range: 300 (above 300), 300: (below), ~:300, @10:20 (inside)"
	 " (default: --max-age)"},
	{"--warning", 's', "RANGE", "same as -w"},
	{"-c", 's', "RANGE", "critical threshold on the heartbeat age, as -w (default: twice"
	 " --max-age)"},
	{"--critical", 's', "RANGE", "same as -c"},
	{"-t", 'd', "SEC", "give up after SEC: UNKNOWN, exit 3 (default 10, plus --alert-timeout"
	 " with --alert)"},
	{"--timeout", 'd', "SEC", "same as -t"},
	{NULL, 0, NULL, NULL}};

const cli_cmd cli_health_cmds[] = {
	{"health", "", "check heartbeats, stuck jobs, expired locks, backlogs and clock skew;"
	 " exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for a usage error)", 0, 0, health_opts,
	 run_health, CLI_PLUGIN},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
