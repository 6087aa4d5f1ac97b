/* Alerts of the health checks: libcurl, opened on demand (curl.c); the
 * problem list and the severities' names; the alert URL; posting each
 * problem once, and its recovery, with their state in the mirror's
 * `alerts` table (schema/002_history.sql, docs/HEALTH.md). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ctx.h"
#include "util.h"
#include "json.h"
#include "db.h"
#include "secret.h"
#include "curl.h"
#include "alert.h"

/* ---- opening and closing ------------------------------------------------- */

int alert_open(cs_ctx *ctx)
{
	return curl_open(ctx, "alerts need");
}

void alert_close(void)
{
	curl_close();
}

/* ---- the problem list --------------------------------------------------- */

/* The severities' names, by CS_HEALTH_* value: the one table. */
static const char *const severity_names[][2] = {
	{"ok", "OK"}, {"warning", "WARNING"}, {"critical", "CRITICAL"}, {"unknown", "UNKNOWN"},
};

static int severity_row(int severity)
{
	return severity < CS_HEALTH_OK || severity > CS_HEALTH_UNKNOWN ? CS_HEALTH_UNKNOWN : severity;
}

const char *cs_health_severity_name(int severity)
{
	return severity_names[severity_row(severity)][0];
}

const char *cs_health_status_name(int severity)
{
	return severity_names[severity_row(severity)][1];
}

/* Replace control characters: messages end up on status lines and logs. */
void alert_printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Append a new problem to *list (n entries) and return it, or NULL on oom. */
cs_problem *alert_problem_new(cs_problem **list, int *n)
{
	cs_problem *p = realloc(*list, (size_t)(*n + 1) * sizeof **list);
	if (!p)
		return NULL;
	*list = p;
	p = &p[(*n)++];
	memset(p, 0, sizeof *p);
	return p;
}

/* ---- the alert URL ---------------------------------------------------------- */

/* Accept http:// and https:// URLs without user or password.  origin gets
 * "scheme://host[:port]", the only part of the URL ever put in a message:
 * webhook paths are often secrets themselves.  *plain is set for http to a
 * host other than a loopback address. */
int alert_url_check(cs_ctx *ctx, const char *url, char *origin, size_t len, int *plain)
{
	secret_url u;

	if (secret_url_parse(&u, url) || u.form != SECRET_URL_SCHEME ||
	    !((u.scheme.n == 4 && !strncasecmp(u.scheme.p, "http", 4)) ||
	      (u.scheme.n == 5 && !strncasecmp(u.scheme.p, "https", 5))))
		return ctx_err(ctx, CS_EINVAL, "invalid alert URL: expected http://HOST/... or https://HOST/...");
	if (u.user.p)
		return ctx_err(ctx, CS_EINVAL, "the alert URL must not hold credentials; use --token-file");
	/* the scheme in lower case, as libcurl says it: only http and https pass */
	snprintf(origin, len, "%s://%.*s%s%.*s", u.scheme.n == 5 ? "https" : "http",
		 (int)u.host.n, u.host.p, u.port.p ? ":" : "", (int)u.port.n, u.port.p ? u.port.p : "");
	alert_printable(origin);
	*plain = u.scheme.n == 4 && !secret_host_loopback(u.host.p, u.host.n);
	return CS_OK;
}

/* ---- posting ------------------------------------------------------------------ */

typedef struct poster {
	CURL *curl;
	struct curl_slist *hdr;
	char origin[512];
	char errbuf[CURL_ERROR_SIZE];
} poster;

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p, (void)arg;
	return size * n;
}

/* Wipe the headers (one holds the token) before freeing them. */
static void poster_release(poster *ps)
{
	for (struct curl_slist *s = ps->hdr; s; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_fn.slist_free_all(ps->hdr);
	curl_fn.easy_cleanup(ps->curl);
	ps->hdr = NULL;
	ps->curl = NULL;
}

/* One handle for every post of the run: http and https only, no redirects,
 * peer and host verified, bounded in time, the response thrown away. */
static int poster_init(cs_ctx *ctx, poster *ps, const char *url, const char *token, int timeout)
{
	struct curl_slist *s;
	long total = (long)timeout * 1000L, conn = total < 5000 ? total : 5000;

	if (!(ps->curl = curl_fn.easy_init()))
		return ctx_err(ctx, CS_ERROR, "cannot start libcurl");
	if (!(s = curl_fn.slist_append(NULL, "Content-Type: application/json")))
		return ctx_err_oom(ctx);
	ps->hdr = s;
	if (!(s = curl_fn.slist_append(ps->hdr, "Expect:")))
		return ctx_err_oom(ctx);
	if (token) {
		sbuf auth = {0};
		sb_puts(&auth, "Authorization: Bearer ");
		sb_puts(&auth, token);
		s = auth.oom ? NULL : curl_fn.slist_append(ps->hdr, auth.p);
		if (auth.p)
			explicit_bzero(auth.p, auth.n);
		sb_free(&auth);
		if (!s)
			return ctx_err_oom(ctx);
	}
	ps->errbuf[0] = 0;
	if (curl_fn.easy_setopt(ps->curl, CURLOPT_URL, url) ||
	    curl_secure(ps->curl, conn, total) ||
	    curl_fn.easy_setopt(ps->curl, CURLOPT_HTTPHEADER, ps->hdr) ||
	    curl_fn.easy_setopt(ps->curl, CURLOPT_WRITEFUNCTION, discard) ||
	    curl_fn.easy_setopt(ps->curl, CURLOPT_ERRORBUFFER, ps->errbuf))
		return ctx_err(ctx, CS_ERROR, "cannot set up libcurl for the alert");
	return CS_OK;
}

/* POST body; CS_OK on a 2xx answer, else CS_ERROR with the reason (which
 * names the URL's origin only). */
static int post(cs_ctx *ctx, poster *ps, const char *body, size_t len)
{
	long code = 0;
	CURLcode cc;

	ps->errbuf[0] = 0;
	curl_fn.easy_setopt(ps->curl, CURLOPT_POSTFIELDS, body);
	curl_fn.easy_setopt(ps->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	if ((cc = curl_fn.easy_perform(ps->curl)) != CURLE_OK)
		return ctx_err(ctx, CS_ERROR, "cannot post alert to '%s': %s", ps->origin,
			      ps->errbuf[0] ? ps->errbuf : curl_fn.easy_strerror(cc));
	curl_fn.easy_getinfo(ps->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299)
		return ctx_err(ctx, CS_ERROR, "cannot post alert to '%s': HTTP %ld", ps->origin, code);
	return CS_OK;
}

/* The alert's JSON (docs/HEALTH.md).  A recovery has severity "ok" and the
 * problem's last message after "cleared: ". */
static char *alert_json(const cs_ctx *ctx, const cs_problem *p, int recovery, double now)
{
	sbuf b = {0};
	char iso[32];

	sb_puts(&b, "{\"source\": \"coordsync\", \"event\": ");
	sb_puts(&b, recovery ? "\"recovery\"" : "\"problem\"");
	sb_puts(&b, ", \"key\": ");
	json_put_string(&b, p->key);
	sb_puts(&b, ", \"check\": ");
	json_put_string(&b, p->check);
	sb_printf(&b, ", \"severity\": \"%s\"", recovery ? "ok" : cs_health_severity_name(p->severity));
	if (recovery)
		sb_printf(&b, ", \"previous_severity\": \"%s\"", cs_health_severity_name(p->severity));
	sb_puts(&b, ", \"server\": ");
	if (p->server)
		json_put_string(&b, p->server);
	else
		sb_puts(&b, "null");
	sb_puts(&b, ", \"message\": ");
	if (recovery) {
		sbuf m = {0};
		sb_puts(&m, "cleared: ");
		sb_puts(&m, p->message);
		json_put_string(&b, m.oom ? "cleared" : m.p);
		sb_free(&m);
	} else {
		json_put_string(&b, p->message);
	}
	sb_puts(&b, ", \"values\": ");
	sb_puts(&b, recovery ? "{}" : p->values);
	util_time_iso(p->first_seen, iso);
	sb_puts(&b, ", \"first_seen\": ");
	json_put_string(&b, iso);
	util_time_iso(now, iso);
	sb_puts(&b, ", \"time\": ");
	json_put_string(&b, iso);
	sb_puts(&b, ", \"reporter\": ");
	if (ctx->server)
		json_put_string(&b, ctx->server);
	else
		sb_puts(&b, "null");
	sb_puts(&b, "}\n");
	return sb_detach(&b);
}

/* ---- alert state ------------------------------------------------------------ */

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return t ? t : "";
}

static int exec_key(cs_ctx *ctx, const char *sql, const char *key)
{
	sqlite3_stmt *st = NULL;
	int rc;
	if (!(rc = db_prepare(ctx, &st, sql)) && !(rc = db_bind_text(ctx, st, ":k", key)) &&
	    (rc = db_step(ctx, st)) == SQLITE_DONE)
		rc = CS_OK;
	sqlite3_finalize(st);
	return rc;
}

/* Record this run's problems in `alerts` and find what needs posting:
 * problems never notified (or that worsened from warning to critical) and
 * notified problems that are gone.  Gone problems that were never notified
 * are forgotten.  One transaction. */
int alert_state(cs_ctx *ctx, cs_health *h, double now)
{
	sqlite3_stmt *st = NULL;
	sbuf keys = {0};
	char *kj = NULL;
	int rc;

	sb_putc(&keys, '[');
	for (int i = 0; i < h->nproblems; i++) {
		if (i)
			sb_putc(&keys, ',');
		json_put_string(&keys, h->problems[i].key);
	}
	sb_putc(&keys, ']');
	if (!(kj = sb_detach(&keys)))
		return ctx_err_oom(ctx);
	if ((rc = db_begin(ctx)))
		goto done;
	for (int i = 0; i < h->nproblems; i++) {
		cs_problem *p = &h->problems[i];
		if ((rc = db_prepare(ctx, &st,
				     "INSERT INTO alerts(key, severity, server, message, first_seen,"
				     " last_seen, notified) VALUES(:k, :s, :v, :m, :t, :t, 0)"
				     " ON CONFLICT(key) DO UPDATE SET"
				     " notified = CASE WHEN excluded.severity = 'critical' AND"
				     "  severity = 'warning' THEN 0 ELSE notified END,"
				     " severity = excluded.severity, server = excluded.server,"
				     " message = excluded.message, last_seen = excluded.last_seen"
				     " RETURNING first_seen, notified")) ||
		    (rc = db_bind_text(ctx, st, ":k", p->key)) ||
		    (rc = db_bind_text(ctx, st, ":s", cs_health_severity_name(p->severity))) ||
		    (rc = db_bind_text(ctx, st, ":v", p->server)) ||
		    (rc = db_bind_text(ctx, st, ":m", p->message)) ||
		    (rc = db_bind_real(ctx, st, ":t", now)))
			goto done;
		if ((rc = db_step(ctx, st)) != SQLITE_ROW) {
			if (rc == SQLITE_DONE)
				rc = ctx_err(ctx, CS_ERROR, "internal: no alert row for '%s'", p->key);
			goto done;
		}
		p->first_seen = sqlite3_column_double(st, 0);
		p->alert = sqlite3_column_int(st, 1) ? CS_ALERT_EARLIER : CS_ALERT_PENDING;
		sqlite3_finalize(st);
		st = NULL;
	}
	if ((rc = db_prepare(ctx, &st, "SELECT key, severity, server, message, first_seen"
				       " FROM alerts WHERE notified AND key NOT IN"
				       " (SELECT value FROM json_each(:keys)) ORDER BY key")) ||
	    (rc = db_bind_text(ctx, st, ":keys", kj)))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		cs_problem *p = alert_problem_new(&h->cleared, &h->ncleared);
		const char *key = col_text(st, 0), *colon = strchr(key, ':');
		const char *server = (const char *)sqlite3_column_text(st, 2);
		if (!p) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
		p->key = strdup(key);
		p->check = colon ? strndup(key, (size_t)(colon - key)) : strdup(key);
		p->server = util_strdup(server);
		p->message = strdup(col_text(st, 3));
		p->values = strdup("{}");
		p->severity = strcmp(col_text(st, 1), "critical") ? CS_HEALTH_WARNING
								   : CS_HEALTH_CRITICAL;
		p->first_seen = sqlite3_column_double(st, 4);
		p->alert = CS_ALERT_PENDING;
		if (!p->key || !p->check || !p->message || !p->values || (server && !p->server)) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
	}
	if (rc != SQLITE_DONE)
		goto done;
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = db_prepare(ctx, &st, "DELETE FROM alerts WHERE NOT notified AND key NOT IN"
				       " (SELECT value FROM json_each(:keys))")) ||
	    (rc = db_bind_text(ctx, st, ":keys", kj)) || (rc = db_step(ctx, st)) != SQLITE_DONE)
		goto done;
	rc = db_commit(ctx);
done:
	sqlite3_finalize(st);
	if (rc)
		db_rollback(ctx);
	free(kj);
	return rc;
}

/* Post every pending alert, then every pending recovery, recording each
 * delivery at once.  The first failure stops the run's posting (the rest
 * would likely fail the same way, each taking the timeout); what was not
 * delivered stays pending for the next run.  Only errors of the mirror
 * are returned; a failed post leaves its reason in h->alert_error. */
int alert_post(cs_ctx *ctx, cs_health *h, const char *url, int timeout, double now,
	       const char *token, const char *origin)
{
	poster ps = {0};
	int rc, failed = 0;

	snprintf(ps.origin, sizeof ps.origin, "%s", origin);
	if ((rc = poster_init(ctx, &ps, url, token, timeout))) {
		failed = 1;
		if (!(h->alert_error = strdup(ctx->err)))
			rc = ctx_err_oom(ctx);
		else
			rc = CS_OK;
	}
	for (int pass = 0; pass < 2 && !rc; pass++) {
		cs_problem *list = pass ? h->cleared : h->problems;
		int n = pass ? h->ncleared : h->nproblems;
		for (int i = 0; i < n && !rc; i++) {
			cs_problem *p = &list[i];
			char *body;
			if (p->alert != CS_ALERT_PENDING)
				continue;
			if (failed) {
				h->pending++;
				continue;
			}
			if (!(body = alert_json(ctx, p, pass, now))) {
				rc = ctx_err_oom(ctx);
				break;
			}
			if (post(ctx, &ps, body, strlen(body))) {
				failed = 1;
				h->pending++;
				if (!(h->alert_error = strdup(ctx->err)))
					rc = ctx_err_oom(ctx);
			} else {
				p->alert = CS_ALERT_SENT;
				h->sent++;
				rc = exec_key(ctx, pass ? "DELETE FROM alerts WHERE key = :k"
							: "UPDATE alerts SET notified = 1 WHERE key = :k",
					      p->key);
			}
			free(body);
		}
	}
	poster_release(&ps);
	return rc;
}
