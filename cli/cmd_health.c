/* health: the fleet's checks reported as a monitoring plugin reports them
 * (a status line first; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), with
 * --json for the details and --alert to post new problems and recoveries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static int run_health(cli *c)
{
	static const char *const secs[] = {"--max-age", "--stuck", "--backlog-age",
					   "--backlog-count", "--max-skew", NULL};
	long long v[5];
	long long timeout = cli_num(c, "--alert-timeout", 10);
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

	{
		cs_opts co = {c->dir, c->server, c->db};
		rc = cs_open(&ctx, &co);
	}
	if (!rc)
		rc = cs_health_check(ctx, &h, &o);
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
	{NULL, 0, NULL, NULL}};

const cli_cmd cli_health_cmds[] = {
	{"health", "", "check heartbeats, stuck jobs, expired locks, backlogs and clock skew;"
	 " exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for a usage error)", 0, 0, health_opts,
	 run_health, CLI_PLUGIN},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
