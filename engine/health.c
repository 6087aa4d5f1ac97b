/* Fleet health: stale heartbeats, stuck jobs, expired locks, message
 * backlogs, clock skew and files that do not import, found with SQL over the
 * mirror; the alerts they raise are alert.c's (docs/HEALTH.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "util.h"
#include "json.h"
#include "db.h"
#include "clock.h"
#include "secret.h"
#include "identity.h"
#include "handle.h"
#include "alert.h"

/* A monitoring plugin's range ([@]start:end): a value outside [lo, hi]
 * (inside it, with '@') raises the threshold's alert. */
typedef struct hrange {
	double lo, hi;
	int inside;
} hrange;

/* The options with their defaults filled in, and the run's clock. */
typedef struct hcfg {
	cs_health_opts o;
	double now;
	char *ignore;         /* JSON array of the servers to leave out */
	hrange warn, crit;    /* on heartbeat ages */
	char warn_text[64], crit_text[64];
} hcfg;

/* One number of a range: all of s, finite. */
static int range_num(const char *s, size_t n, double *out)
{
	char buf[64], *end;
	if (!n || n >= sizeof buf || strspn(s, "0123456789.+-eE") < n)
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	*out = strtod(buf, &end);
	return *end || !isfinite(*out) ? -1 : 0;
}

/* Parse s as the monitoring plugins' guidelines define a range: "10"
 * (0 to 10), "10:" (10 to infinity), "~:10" (minus infinity to 10),
 * "10:20", and any of them after '@' (alert inside).  -1 when s is not
 * one, or start is above end. */
static int range_parse(const char *s, hrange *r)
{
	const char *colon;
	r->inside = *s == '@';
	s += r->inside;
	r->lo = 0;
	r->hi = INFINITY;
	if (!(colon = strchr(s, ':'))) {
		if (range_num(s, strlen(s), &r->hi))
			return -1;
	} else {
		if (colon - s == 1 && *s == '~')
			r->lo = -INFINITY;
		else if (colon > s && range_num(s, (size_t)(colon - s), &r->lo))
			return -1;
		if (colon[1] && range_num(colon + 1, strlen(colon + 1), &r->hi))
			return -1;
	}
	return r->lo > r->hi ? -1 : 0;
}

static int range_alert(const hrange *r, double v)
{
	int in = v >= r->lo && v <= r->hi;
	return r->inside ? in : !in;
}

/* ---- the problem list --------------------------------------------------- */

static void problem_release(cs_problem *p)
{
	free(p->key);
	free(p->check);
	free(p->server);
	free(p->message);
	free(p->values);
}

void cs_health_free(cs_health *h)
{
	if (!h)
		return;
	for (int i = 0; i < h->nproblems; i++)
		problem_release(&h->problems[i]);
	for (int i = 0; i < h->ncleared; i++)
		problem_release(&h->cleared[i]);
	for (int i = 0; i < h->nbeats; i++)
		free(h->beats[i].server);
	free(h->beats);
	free(h->problems);
	free(h->cleared);
	free(h->alert_error);
	free(h);
}

/* Record a problem of check about subject.  values holds a JSON object's
 * members without braces; it is consumed.  The message is fmt. */
static int add_problem(cs_ctx *ctx, cs_health *h, const char *check, const char *subject,
		       int severity, const char *server, sbuf *values, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));
static int add_problem(cs_ctx *ctx, cs_health *h, const char *check, const char *subject,
		       int severity, const char *server, sbuf *values, const char *fmt, ...)
{
	sbuf key = {0}, msg = {0}, val = {0};
	char line[1024];
	cs_problem *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	alert_printable(line);
	sb_printf(&key, "%s:%s", check, subject);
	sb_puts(&msg, line);
	sb_putc(&val, '{');
	if (values->n)
		sb_put(&val, values->p, values->n);
	sb_putc(&val, '}');
	sb_free(values);
	if (!(p = alert_problem_new(&h->problems, &h->nproblems))) {
		sb_free(&key);
		sb_free(&msg);
		sb_free(&val);
		return ctx_err_oom(ctx);
	}
	p->key = sb_detach(&key);
	p->message = sb_detach(&msg);
	p->values = sb_detach(&val);
	p->check = util_strdup(check);
	p->server = util_strdup(server);
	p->severity = severity;
	if (!p->key || !p->message || !p->values || !p->check || (server && !p->server))
		return ctx_err_oom(ctx);
	if (severity > h->status)
		h->status = severity;
	return CS_OK;
}

static int has_problem(const cs_health *h, const char *check, const char *subject)
{
	size_t n = strlen(check);
	for (int i = 0; i < h->nproblems; i++)
		if (!strncmp(h->problems[i].key, check, n) && h->problems[i].key[n] == ':' &&
		    !strcmp(h->problems[i].key + n + 1, subject))
			return 1;
	return 0;
}

/* Warning past limit, critical past twice the limit. */
static int grade(double v, double limit)
{
	return v > 2 * limit ? CS_HEALTH_CRITICAL : CS_HEALTH_WARNING;
}

static void put_key(sbuf *b, const char *k)
{
	if (b->n)
		sb_puts(b, ", ");
	json_put_string(b, k);
	sb_puts(b, ": ");
}

static void put_num(sbuf *b, const char *k, double v)
{
	put_key(b, k);
	sb_printf(b, "%.0f", v);
}

static void put_str(sbuf *b, const char *k, const char *v)
{
	put_key(b, k);
	if (v)
		json_put_string(b, v);
	else
		sb_puts(b, "null");
}

static void put_time(sbuf *b, const char *k, double t)
{
	char iso[32];
	util_time_iso(t, iso);
	put_str(b, k, iso);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return t ? t : "";
}

/* ---- the checks ------------------------------------------------------------ */
/* A check is one statement over the mirror: each row it gives is a problem,
 * or nothing.  The table below says, per check, what it reads (the
 * statement, and the values it binds beyond :ignore, the servers to leave
 * out) and how a row becomes a problem; run_check does the rest. */

/* One check's run: what its bind and row functions see. */
typedef struct hrun {
	cs_ctx *ctx;
	cs_health *h;
	const hcfg *c;
	clock_reading boot;         /* heartbeats: this host's boot clock */
	char mine[37];        /* duplicates: this clone's instance id */
	sbuf ahead;           /* order skew: the servers reported for skew */
	int oom;              /* a row function ran out of memory */
} hrun;

/* What a row found: severity CS_HEALTH_OK for nothing.  check (the
 * table's unless set), subject and server point into the row, valid until
 * the next step. */
typedef struct hfind {
	const char *check, *subject, *server;
	int severity;
	sbuf values;          /* a JSON object's members, without braces */
	char msg[1024];
} hfind;

typedef struct hcheck {
	const char *check;                         /* the problems' check */
	const char *sql;                           /* what it reads */
	int (*bind)(hrun *r, sqlite3_stmt *st);    /* its values; NULL: only :ignore */
	void (*row)(hrun *r, sqlite3_stmt *st, hfind *f);   /* a row into f */
} hcheck;

/* The message of f, printf-style. */
static void say(hfind *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(hfind *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof f->msg, fmt, ap);
	va_end(ap);
}

/* A remote state the last sync refused to import, kept in meta until a
 * sync passes: a rewritten or deleted branch (history_rewrite, until the
 * remote is back or accept-history), or a commit whose signature
 * coordsync.verify=require refused (signature_refused).  The mirror stays at
 * its last good head and no decision goes out from this clone meanwhile. */
static void row_refused(hrun *r, sqlite3_stmt *st, hfind *f)
{
	const char *msg = (const char *)sqlite3_column_text(st, 0);
	if (!msg)
		return;
	put_str(&f->values, "error", msg);
	f->subject = r->ctx->branch;
	f->severity = CS_HEALTH_CRITICAL;
	say(f, "%s", msg);
}

/* Coordination files whose newest version did not import: every sync fails
 * and the mirror holds the last good rows. */
static void row_file(hrun *r, sqlite3_stmt *st, hfind *f)
{
	const char *path = col_text(st, 0), *err = col_text(st, 1);
	(void)r;
	put_str(&f->values, "path", path);
	put_str(&f->values, "error", err);
	f->subject = path;
	f->severity = CS_HEALTH_CRITICAL;
	say(f, "%s does not import: %s", path, err);
}

/* Every server the mirror knows of must have a heartbeat that changed
 * within max_age.  Its age is what this host can trust, never the
 * heartbeat's own time: how long this host has watched it unchanged (its
 * boot clock, schema/007's watch), or how long two other servers' clocks
 * went on committing after it (watch_quiet), whichever is longer.  One far
 * in the future by the wall clock is a clock problem, reported as skew. */
static int bind_heartbeats(hrun *r, sqlite3_stmt *st)
{
	int rc;
	if ((rc = clock_boot(r->ctx, &r->boot)) ||
	    (rc = db_bind_real(r->ctx, st, ":boot", r->boot.now)))
		return rc;
	return db_bind_text(r->ctx, st, ":bid", r->boot.id);
}

/* Note server id's heartbeat age (-1: none) for the performance data;
 * r->oom when out of memory. */
static void note_beat(hrun *r, const char *id, double age)
{
	cs_health *h = r->h;
	cs_health_beat *nb;
	if (!(h->nbeats & (h->nbeats - 1))) {   /* 0, 1, 2, 4...: full */
		size_t cap = h->nbeats ? 2 * (size_t)h->nbeats : 1;
		if (!(nb = realloc(h->beats, cap * sizeof *nb))) {
			r->oom = 1;
			return;
		}
		h->beats = nb;
	}
	if (!(h->beats[h->nbeats].server = util_strdup(id))) {
		r->oom = 1;
		return;
	}
	h->beats[h->nbeats++].age = age;
}

static void row_heartbeat(hrun *r, sqlite3_stmt *st, hfind *f)
{
	const hcfg *c = r->c;
	const char *id = col_text(st, 0);
	double at = sqlite3_column_double(st, 1), ahead = floor(at - c->now);
	double age = floor(sqlite3_column_double(st, 2));
	int none = sqlite3_column_type(st, 1) == SQLITE_NULL;
	int sev = none ? CS_HEALTH_CRITICAL : range_alert(&c->crit, age) ? CS_HEALTH_CRITICAL
		  : range_alert(&c->warn, age) ? CS_HEALTH_WARNING : CS_HEALTH_OK;

	r->h->servers++;
	note_beat(r, id, none ? -1 : age);
	r->h->stale += sev != CS_HEALTH_OK;
	f->subject = f->server = id;
	if (none) {
		put_str(&f->values, "age", NULL);
		put_num(&f->values, "max_age", c->o.max_age);
		put_str(&f->values, "heartbeat_at", NULL);
		f->severity = CS_HEALTH_CRITICAL;
		say(f, "%s has no heartbeat", id);
	} else if (sev != CS_HEALTH_OK) {
		put_num(&f->values, "age", age);
		put_num(&f->values, "max_age", c->o.max_age);
		put_str(&f->values, "warning", c->warn_text);
		put_str(&f->values, "critical", c->crit_text);
		put_time(&f->values, "heartbeat_at", at);
		f->severity = sev;
		say(f, "%s heartbeat %.0fs old", id, age);
	} else if (ahead > c->o.max_skew) {
		put_num(&f->values, "skew", -ahead);
		put_num(&f->values, "max_skew", c->o.max_skew);
		put_str(&f->values, "source", "clock");
		put_time(&f->values, "heartbeat_at", at);
		f->check = "skew";
		f->severity = grade(ahead, c->o.max_skew);
		say(f, "%s heartbeat is %.0fs in the future", id, ahead);
	}
}

/* Running jobs started more than `stuck` seconds ago.  A running job with
 * no started_at cannot be timed and is left out. */
static int bind_jobs(hrun *r, sqlite3_stmt *st)
{
	return db_bind_real(r->ctx, st, ":t", r->c->now - r->c->o.stuck);
}

static void row_job(hrun *r, sqlite3_stmt *st, hfind *f)
{
	const hcfg *c = r->c;
	const char *id = col_text(st, 0);
	const char *on = (const char *)sqlite3_column_text(st, 1);
	double at = sqlite3_column_double(st, 2), run = floor(c->now - at);

	put_str(&f->values, "job", id);
	put_num(&f->values, "running", run);
	put_num(&f->values, "stuck", c->o.stuck);
	put_time(&f->values, "started_at", at);
	f->subject = id;
	f->server = on;
	f->severity = grade(run, c->o.stuck);
	say(f, "job %s running %.0fs on %s", id, run, on ? on : "(nobody)");
}

/* Locks still marked held after expires_at plus the lock-delay, the grace
 * every other server gives them. */
static int bind_locks(hrun *r, sqlite3_stmt *st)
{
	return db_bind_real(r->ctx, st, ":t", r->c->now - r->ctx->lock_delay);
}

static void row_lock(hrun *r, sqlite3_stmt *st, hfind *f)
{
	const char *name = col_text(st, 0), *by = col_text(st, 1);
	double at = sqlite3_column_double(st, 2), ago = floor(r->c->now - at);

	r->h->expired_locks++;
	put_str(&f->values, "lock", name);
	put_str(&f->values, "holder", by);
	put_num(&f->values, "expired", ago);
	put_time(&f->values, "expires_at", at);
	put_num(&f->values, "lock_delay", r->ctx->lock_delay);
	f->subject = name;
	f->server = by;
	f->severity = CS_HEALTH_WARNING;
	say(f, "lock %s held by %s expired %.0fs ago", name, by, ago);
}

/* Unread messages per server, with `msg inbox`'s meaning of unread: the
 * view message_unread (queries/message_unread.sql) holds the rule. */
static int bind_backlog(hrun *r, sqlite3_stmt *st)
{
	return db_bind_real(r->ctx, st, ":old", r->c->now - r->c->o.backlog_age);
}

static void row_backlog(hrun *r, sqlite3_stmt *st, hfind *f)
{
	const hcfg *c = r->c;
	const char *id = col_text(st, 0);
	long long n = sqlite3_column_int64(st, 1), old = sqlite3_column_int64(st, 2);
	int timed = sqlite3_column_type(st, 3) != SQLITE_NULL;
	double oldest = timed ? floor(c->now - sqlite3_column_double(st, 3)) : 0;
	int sev = CS_HEALTH_OK;

	r->h->unread += n;
	if (n > c->o.backlog_count)
		sev = grade((double)n, c->o.backlog_count);
	if (old && grade(oldest, c->o.backlog_age) > sev)
		sev = grade(oldest, c->o.backlog_age);
	if (sev == CS_HEALTH_OK)
		return;
	put_num(&f->values, "unread", (double)n);
	put_num(&f->values, "older", (double)old);
	if (timed)
		put_num(&f->values, "oldest_age", oldest);
	else
		put_str(&f->values, "oldest_age", NULL);
	put_num(&f->values, "backlog_count", c->o.backlog_count);
	put_num(&f->values, "backlog_age", c->o.backlog_age);
	f->subject = f->server = id;
	f->severity = sev;
	if (timed)
		say(f, "%s has %lld unread message%s, oldest %.0fs", id, n, n == 1 ? "" : "s",
		    oldest);
	else
		say(f, "%s has %lld unread message%s", id, n, n == 1 ? "" : "s");
}

/* The newest heartbeat commit of each server whose commit time and the
 * heartbeat's own timestamp differ by more than max_skew.  Nothing when the
 * history is empty. */
static int bind_skew(hrun *r, sqlite3_stmt *st)
{
	return db_bind_real(r->ctx, st, ":max", r->c->o.max_skew);
}

static void row_skew(hrun *r, sqlite3_stmt *st, hfind *f)
{
	const char *id = col_text(st, 0);
	double skew = round(sqlite3_column_double(st, 1));

	if (has_problem(r->h, "skew", id))
		return;
	put_num(&f->values, "skew", skew);
	put_num(&f->values, "max_skew", r->c->o.max_skew);
	put_str(&f->values, "source", "commit");
	put_str(&f->values, "commit", col_text(st, 2));
	f->subject = f->server = id;
	f->severity = grade(fabs(skew), r->c->o.max_skew);
	say(f, "%s heartbeat time is %.0fs %s its commit", id, fabs(skew),
	    skew > 0 ? "behind" : "ahead of");
}

/* A commit is made after its parent, so a commit whose time is older than
 * its first parent's says that its author's clock is behind the parent
 * author's, by at least the difference.  Over the last 1000 commits, each
 * server's 20 newest commits that follow another author's; a server already
 * reported (its heartbeat is in the future) is not blamed for the commit
 * after it, and only servers of the fleet are (an author such as a person
 * committing by hand is not a server).  Finds a clock that is behind,
 * which heartbeats only show as staleness. */
static int bind_order_skew(hrun *r, sqlite3_stmt *st)
{
	const cs_health *h = r->h;
	int rc;

	/* The servers already reported for skew, as a JSON array. */
	sb_putc(&r->ahead, '[');
	for (int i = 0; i < h->nproblems; i++)
		if (!strcmp(h->problems[i].check, "skew") && h->problems[i].server) {
			if (r->ahead.n > 1)
				sb_putc(&r->ahead, ',');
			json_put_string(&r->ahead, h->problems[i].server);
		}
	sb_putc(&r->ahead, ']');
	if (r->ahead.oom)
		return ctx_err_oom(r->ctx);
	if ((rc = db_bind_text(r->ctx, st, ":ahead", r->ahead.p)))
		return rc;
	return bind_skew(r, st);
}

static void row_order_skew(hrun *r, sqlite3_stmt *st, hfind *f)
{
	const char *id = col_text(st, 0), *after = col_text(st, 3);
	double behind = round(sqlite3_column_double(st, 1));

	if (has_problem(r->h, "skew", id))
		return;
	put_num(&f->values, "skew", -behind);
	put_num(&f->values, "max_skew", r->c->o.max_skew);
	put_str(&f->values, "source", "order");
	put_str(&f->values, "commit", col_text(st, 2));
	put_str(&f->values, "after", after);
	f->subject = f->server = id;
	f->severity = grade(behind, r->c->o.max_skew);
	say(f, "%s clock is at least %.0fs behind %s's: its commit is older than"
	    " the commit it follows", id, behind, after);
}

/* Two clones using one server id (heartbeat_instances, schema/005): this
 * clone saw its own instance id in its server's heartbeat replaced by
 * another, or a server's heartbeat change back to the instance it had
 * before, within the last 2 * max_age (at least 10 minutes).  One change
 * alone is a clone replaced by a new one and is not reported. */
static int bind_duplicates(hrun *r, sqlite3_stmt *st)
{
	cs_ctx *ctx = r->ctx;
	double window = 2.0 * r->c->o.max_age < 600 ? 600 : 2.0 * r->c->o.max_age;
	int rc;

	if ((rc = identity_instance(ctx, r->mine, 0)) ||
	    (rc = db_bind_real(ctx, st, ":since", r->c->now - window)))
		return rc;
	return ctx->server ? db_bind_text(ctx, st, ":me", ctx->server) : db_bind_null(ctx, st, ":me");
}

static void row_duplicate(hrun *r, sqlite3_stmt *st, hfind *f)
{
	const char *id = col_text(st, 0), *inst = col_text(st, 1), *prev = col_text(st, 2);
	const char *mine = r->mine;
	int own = sqlite3_column_int(st, 3);

	put_str(&f->values, "instance", inst);
	put_str(&f->values, "previous", prev);
	put_str(&f->values, "this_instance", own ? mine : NULL);
	put_num(&f->values, "changes", (double)sqlite3_column_int64(st, 4));
	f->subject = f->server = id;
	f->severity = CS_HEALTH_CRITICAL;
	if (own)
		say(f, "%s heartbeat was written by another clone (instance %.8s),"
		    " not this one (%.8s): two clones use server id %s", id,
		    strcmp(inst, mine) ? inst : prev, mine, id);
	else
		say(f, "%s heartbeat alternates between instances %.8s and %.8s:"
		    " two clones use server id %s", id, inst, prev, id);
}

/* The checks, in the order they run: a later one sees the problems of the
 * earlier ones (skew after heartbeats, order skew after both). */
static const hcheck checks[] = {
	{"history", "SELECT value FROM meta WHERE key='history_rewrite'", NULL, row_refused},
	{"signature", "SELECT value FROM meta WHERE key='signature_refused'", NULL, row_refused},
	{"file", "SELECT path, error FROM files WHERE error IS NOT NULL ORDER BY path", NULL,
	 row_file},
	{"stale", "SELECT f.id, s.heartbeat_at, max(coalesce((SELECT :boot -"
		  " w.since_boot FROM watch_current w WHERE w.kind = 'heartbeat'"
		  " AND w.key = f.id AND w.boot_id = :bid), 0), coalesce((SELECT"
		  " q.quiet FROM watch_quiet q WHERE q.kind = 'heartbeat' AND"
		  " q.key = f.id), 0)) FROM fleet_ids f"
		  " LEFT JOIN servers s ON s.id = f.id"
		  " WHERE f.id NOT IN (SELECT value FROM json_each(:ignore))"
		  " ORDER BY f.id", bind_heartbeats, row_heartbeat},
	{"stuck", "SELECT id, assigned_to, started_at FROM jobs"
		  " WHERE status = 'running' AND started_at < :t"
		  " ORDER BY started_at, id", bind_jobs, row_job},
	{"lock", "SELECT name, locked_by, expires_at FROM locks"
		 " WHERE locked_by IS NOT NULL AND expires_at < :t"
		 " ORDER BY name", bind_locks, row_lock},
	{"backlog", "SELECT f.id, count(*), sum(m.timestamp < :old), min(m.timestamp)"
		    " FROM fleet_ids f JOIN message_unread u ON u.server = f.id"
		    " JOIN messages m ON m.id = u.id"
		    " WHERE f.id NOT IN (SELECT value FROM json_each(:ignore))"
		    " GROUP BY f.id ORDER BY f.id", bind_backlog, row_backlog},
	{"skew", "SELECT server, skew, commit_id FROM server_history h"
		 " WHERE file = 'heartbeat' AND seq = (SELECT max(seq)"
		 "  FROM server_history WHERE server = h.server AND"
		 "  file = 'heartbeat' AND skew IS NOT NULL)"
		 " AND server NOT IN (SELECT value FROM json_each(:ignore))"
		 " AND abs(skew) > :max ORDER BY server", bind_skew, row_skew},
	{"skew", "WITH recent AS (SELECT seq, author, committed_at, commit_id"
		 "  FROM history_commits WHERE seq > (SELECT max(seq) FROM history_commits) - 1000),"
		 " pairs AS (SELECT c.author, c.commit_id, p.author AS after,"
		 "  p.committed_at - c.committed_at AS behind, row_number() OVER"
		 "  (PARTITION BY c.author ORDER BY c.seq DESC) AS k"
		 "  FROM recent c JOIN recent p ON p.seq = c.seq - 1"
		 "  WHERE p.author IS NOT c.author AND c.author IS NOT NULL"
		 "  AND p.author NOT IN (SELECT value FROM json_each(:ahead)))"
		 " SELECT author, max(behind), commit_id, after FROM pairs WHERE k <= 20"
		 " AND author IN (SELECT id FROM fleet_ids)"
		 " AND author NOT IN (SELECT value FROM json_each(:ignore))"
		 " GROUP BY author HAVING max(behind) > :max ORDER BY author",
	 bind_order_skew, row_order_skew},
	{"duplicate", "SELECT server, instance, previous, foreign_at >= :since"
		      " AND server IS :me, changes FROM heartbeat_instances"
		      " WHERE ((foreign_at >= :since AND server IS :me) OR flipped_at >= :since)"
		      " AND server NOT IN (SELECT value FROM json_each(:ignore))"
		      " ORDER BY server", bind_duplicates, row_duplicate},
};

/* Run check k: prepare its statement, bind :ignore when it reads it and
 * its own values, and add a problem for every row that is one. */
static int run_check(cs_ctx *ctx, cs_health *h, const hcfg *c, const hcheck *k)
{
	hrun r = {ctx, h, c, {0, NULL}, "", {0}, 0};
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = db_prepare(ctx, &st, k->sql)) ||
	    (sqlite3_bind_parameter_index(st, ":ignore") &&
	     (rc = db_bind_text(ctx, st, ":ignore", c->ignore))) ||
	    (k->bind && (rc = k->bind(&r, st))))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		hfind f = {k->check, NULL, NULL, CS_HEALTH_OK, {0}, ""};
		k->row(&r, st, &f);
		rc = r.oom ? ctx_err_oom(ctx) : CS_OK;
		if (!rc && f.severity != CS_HEALTH_OK)
			rc = add_problem(ctx, h, f.check, f.subject, f.severity, f.server, &f.values,
					 "%s", f.msg);
		sb_free(&f.values);
		if (rc)
			goto done;
	}
	if (rc == SQLITE_DONE)
		rc = CS_OK;
done:
	sb_free(&r.ahead);
	sqlite3_finalize(st);
	return rc;
}

/* The jobs queued and running, for the performance data. */
static int count_jobs(cs_ctx *ctx, cs_health *h)
{
	sqlite3_stmt *st = NULL;
	/* Each count reads its partial index (jobs_queue, jobs_running). */
	int rc = db_prepare(ctx, &st, "SELECT (SELECT count(*) FROM jobs WHERE status = 'queued'),"
				      " (SELECT count(*) FROM jobs WHERE status = 'running')");
	if (!rc && (rc = db_step(ctx, st)) == SQLITE_ROW) {
		h->queued = sqlite3_column_int64(st, 0);
		h->running = sqlite3_column_int64(st, 1);
	}
	rc = rc < 0 ? rc : CS_OK;
	sqlite3_finalize(st);
	return rc;
}

/* Deferred intents of this clone that were set aside because they failed
 * to apply: a status, heartbeat or message that never went out.  The
 * outbox is this clone's own, so health reports its own intents only. */
typedef struct outbox_arg {
	cs_ctx *ctx;
	cs_health *h;
	int rc;
} outbox_arg;

static int outbox_one(const cs_intent *in, void *p)
{
	outbox_arg *a = p;
	char id[32];
	sbuf v = {0};
	if (!in->error)
		return CS_OK;
	snprintf(id, sizeof id, "%lld", in->id);
	put_str(&v, "kind", in->kind);
	put_str(&v, "error", in->error);
	return a->rc = add_problem(a->ctx, a->h, "outbox", id, CS_HEALTH_WARNING, a->ctx->server, &v,
				   "deferred %s intent %s was set aside: %s (coordsync outbox retry %s,"
				   " or drop it)", in->kind ? in->kind : "?", id, in->error, id);
}

static int check_outbox(cs_ctx *ctx, cs_health *h)
{
	outbox_arg a = {ctx, h, CS_OK};
	long long pending, held;
	int rc;
	/* Counting first reads without creating the outbox file. */
	if ((rc = cs_outbox_count(ctx, &pending, &held)) || !held)
		return rc;
	rc = cs_outbox_list(ctx, outbox_one, &a);
	return a.rc ? a.rc : rc;
}

/* A check's rank in the order problems of one severity are listed: sync
 * first, then the table's order, then the outbox. */
static int check_order(const char *check)
{
	size_t i, n = sizeof checks / sizeof *checks;
	if (!strcmp(check, "sync"))
		return 0;
	for (i = 0; i < n && strcmp(checks[i].check, check); i++)
		;
	if (i == n && !strcmp(check, "outbox"))
		return (int)n + 1;
	return (int)i + (i == n ? 2 : 1);
}

/* Worst first, then by check, then by key. */
static int problem_cmp(const void *a, const void *b)
{
	const cs_problem *p = a, *q = b;
	int d;
	if (p->severity != q->severity)
		return q->severity - p->severity;
	if ((d = check_order(p->check) - check_order(q->check)))
		return d;
	return strcmp(p->key, q->key);
}

/* ---- the entry point ---------------------------------------------------------- */

static int fill_opts(cs_ctx *ctx, hcfg *c, const cs_health_opts *in)
{
	static const cs_health_opts zero;
	sbuf ig = {0};
	c->o = in ? *in : zero;
	if (!c->o.max_age)
		c->o.max_age = 300;
	if (!c->o.stuck)
		c->o.stuck = 3600;
	if (!c->o.backlog_age)
		c->o.backlog_age = 1800;
	if (!c->o.backlog_count)
		c->o.backlog_count = 50;
	if (!c->o.max_skew)
		c->o.max_skew = 120;
	if (!c->o.alert_timeout)
		c->o.alert_timeout = 10;
	if (c->o.max_age < 0 || c->o.stuck < 0 || c->o.backlog_age < 0 || c->o.backlog_count < 0 ||
	    c->o.max_skew < 0 || c->o.alert_timeout < 0 || c->o.alert_timeout > 60)
		return ctx_err(ctx, CS_EINVAL, "health limits must be positive (the alert timeout at most 60 s)");
	if (c->o.token_file && !c->o.alert_url)
		return ctx_err(ctx, CS_EINVAL, "a token file is for --alert");
	/* The heartbeat thresholds: given, or max_age and twice max_age. */
	snprintf(c->warn_text, sizeof c->warn_text, "%d", c->o.max_age);
	snprintf(c->crit_text, sizeof c->crit_text, "%lld", 2LL * c->o.max_age);
	if (c->o.warning)
		snprintf(c->warn_text, sizeof c->warn_text, "%s", c->o.warning);
	if (c->o.critical)
		snprintf(c->crit_text, sizeof c->crit_text, "%s", c->o.critical);
	if ((c->o.warning && strlen(c->o.warning) >= sizeof c->warn_text) ||
	    range_parse(c->warn_text, &c->warn))
		return ctx_err(ctx, CS_EINVAL, "bad warning range '%s': use N, N:, ~:N, N:M or @N:M"
			       " (seconds of heartbeat age)", c->o.warning);
	if ((c->o.critical && strlen(c->o.critical) >= sizeof c->crit_text) ||
	    range_parse(c->crit_text, &c->crit))
		return ctx_err(ctx, CS_EINVAL, "bad critical range '%s': use N, N:, ~:N, N:M or @N:M"
			       " (seconds of heartbeat age)", c->o.critical);
	sb_putc(&ig, '[');
	for (int i = 0; i < c->o.nignore; i++) {
		if (i)
			sb_putc(&ig, ',');
		json_put_string(&ig, c->o.ignore[i]);
	}
	sb_putc(&ig, ']');
	if (!(c->ignore = sb_detach(&ig)))
		return ctx_err_oom(ctx);
	c->now = util_now();
	return CS_OK;
}

int cs_health_check(cs_ctx *ctx, cs_health **out, const cs_health_opts *opts)
{
	hcfg c = {0};
	cs_health *h = NULL;
	char origin[512] = "", *token = NULL;
	int rc, plain = 0, curl_up = 0;

	*out = NULL;
	if ((rc = fill_opts(ctx, &c, opts)))
		goto done;
	/* Everything about the alert is checked before anything runs. */
	if (c.o.alert_url) {
		if ((rc = alert_open(ctx)))
			goto done;
		curl_up = 1;
		if ((rc = alert_url_check(ctx, c.o.alert_url, origin, sizeof origin, &plain)) ||
		    (c.o.token_file && (rc = secret_token_read(ctx, c.o.token_file, &token))))
			goto done;
		if (token && plain) {
			rc = ctx_err(ctx, CS_EINVAL, "refusing to send the token over plain http to '%s':"
						    " use https (or a loopback address)", origin);
			goto done;
		}
		/* Two runs at once must not both post the same alert. */
		if ((rc = handle_lock_clone(ctx)))
			goto done;
	}
	if (!(h = calloc(1, sizeof *h))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if (c.o.sync) {
		cs_sync_stats st;
		/* A file that does not import is reported by the check "file". */
		if (cs_sync(ctx, &st) && !st.files_failed) {
			sbuf v = {0};
			const char *who = ctx->server ? ctx->server : "mirror";
			char err[sizeof ctx->err];
			snprintf(err, sizeof err, "%s", ctx->err);
			put_str(&v, "error", err);
			if ((rc = add_problem(ctx, h, "sync", who, CS_HEALTH_CRITICAL, ctx->server, &v,
					      "sync failed: %s", err)))
				goto done;
		}
		c.now = util_now();
	}
	snprintf(h->warning, sizeof h->warning, "%s", c.warn_text);
	snprintf(h->critical, sizeof h->critical, "%s", c.crit_text);
	for (size_t i = 0; i < sizeof checks / sizeof *checks; i++)
		if ((rc = run_check(ctx, h, &c, &checks[i])))
			goto done;
	if ((rc = count_jobs(ctx, h)))
		goto done;
	if ((rc = check_outbox(ctx, h)))
		goto done;
	if (h->nproblems > 1)
		qsort(h->problems, (size_t)h->nproblems, sizeof *h->problems, problem_cmp);
	if (c.o.alert_url && ((rc = alert_state(ctx, h, c.now)) ||
			      (rc = alert_post(ctx, h, c.o.alert_url, c.o.alert_timeout, c.now,
						token, origin))))
		goto done;
	*out = h;
	h = NULL;
done:
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	if (curl_up)
		alert_close();
	free(c.ignore);
	cs_health_free(h);
	return rc;
}
