/* Fleet health: stale heartbeats, stuck jobs, expired locks, message
 * backlogs, clock skew and files that do not import, found with SQL over the
 * mirror; and alerts posted with libcurl once per problem, with their state
 * in the mirror's `alerts` table (schema/002_history.sql, docs/HEALTH.md). */
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cs_int.h"

#define TOKEN_MAX 4096

/* The options with their defaults filled in, and the run's clock. */
typedef struct hcfg {
	cs_health_opts o;
	double now;
	char *ignore;         /* JSON array of the servers to leave out */
} hcfg;

/* ---- libcurl, opened when an alert is set up ------------------------------- */
/* Only alerts use libcurl, and linking it would load some twenty more
 * shared libraries into every process: about 5 ms of each `job claim`.  So
 * it is opened with dlopen when a run has an alert to post. */

static struct {
	void *lib;
	CURLcode (*global_init)(long);
	void (*global_cleanup)(void);
	CURLU *(*url)(void);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
	CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
	void (*url_cleanup)(CURLU *);
	void (*free)(void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	void (*easy_cleanup)(CURL *);
} cu;

static int curl_open(cs_ctx *ctx)
{
	static const struct { const char *name; size_t off; } fns[] = {
#define FN(f) {"curl_" #f, offsetof(__typeof__(cu), f)}
		FN(global_init), FN(global_cleanup), FN(url), FN(url_set), FN(url_get),
		FN(url_cleanup), FN(free), FN(slist_append), FN(slist_free_all), FN(easy_init),
		FN(easy_setopt), FN(easy_perform), FN(easy_getinfo), FN(easy_strerror),
		FN(easy_cleanup),
#undef FN
	};
	void *lib;

	if (cu.lib)
		return CS_OK;
	if (!(lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL)))
		return cs_err(ctx, CS_ERROR, "alerts need libcurl (libcurl.so.4): %s", dlerror());
	for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
		void *f = dlsym(lib, fns[i].name);
		if (!f) {
			dlclose(lib);
			return cs_err(ctx, CS_ERROR, "libcurl.so.4 lacks %s", fns[i].name);
		}
		memcpy((char *)&cu + fns[i].off, &f, sizeof f);
	}
	cu.lib = lib;
	return CS_OK;
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
	free(h->problems);
	free(h->cleared);
	free(h->alert_error);
	free(h);
}

/* Replace control characters: messages end up on status lines and logs. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Append a new problem to *list (n entries) and return it, or NULL on oom. */
static cs_problem *grow(cs_problem **list, int *n)
{
	cs_problem *p = realloc(*list, (size_t)(*n + 1) * sizeof **list);
	if (!p)
		return NULL;
	*list = p;
	p = &p[(*n)++];
	memset(p, 0, sizeof *p);
	return p;
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
	printable(line);
	sb_printf(&key, "%s:%s", check, subject);
	sb_puts(&msg, line);
	sb_putc(&val, '{');
	if (values->n)
		sb_put(&val, values->p, values->n);
	sb_putc(&val, '}');
	sb_free(values);
	if (!(p = grow(&h->problems, &h->nproblems))) {
		sb_free(&key);
		sb_free(&msg);
		sb_free(&val);
		return cs_err_oom(ctx);
	}
	p->key = sb_detach(&key);
	p->message = sb_detach(&msg);
	p->values = sb_detach(&val);
	p->check = cs_strdup(check);
	p->server = cs_strdup(server);
	p->severity = severity;
	if (!p->key || !p->message || !p->values || !p->check || (server && !p->server))
		return cs_err_oom(ctx);
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
	cs_time_iso(t, iso);
	put_str(b, k, iso);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return t ? t : "";
}

/* ---- the checks ------------------------------------------------------------ */
/* Each runs one statement over the mirror and adds what it finds. */

/* Every server the mirror knows of must have a heartbeat that changed
 * within max_age.  Its age is what this host can trust, never the
 * heartbeat's own time: how long this host has watched it unchanged (its
 * boot clock, schema/007's watch), or how long two other servers' clocks
 * went on committing after it (watch_quiet), whichever is longer.  One far
 * in the future by the wall clock is a clock problem, reported as skew. */
static int check_heartbeats(cs_ctx *ctx, cs_health *h, const hcfg *c)
{
	sqlite3_stmt *st = NULL;
	cs_boot boot;
	int rc;

	if ((rc = cs_clock_boot(ctx, &boot)) ||
	    (rc = db_prepare(ctx, &st, "SELECT f.id, s.heartbeat_at, max(coalesce((SELECT :boot -"
				       " w.since_boot FROM watch_current w WHERE w.kind = 'heartbeat'"
				       " AND w.key = f.id AND w.boot_id = :bid), 0), coalesce((SELECT"
				       " q.quiet FROM watch_quiet q WHERE q.kind = 'heartbeat' AND"
				       " q.key = f.id), 0)) FROM fleet_ids f"
				       " LEFT JOIN servers s ON s.id = f.id"
				       " WHERE f.id NOT IN (SELECT value FROM json_each(:ignore))"
				       " ORDER BY f.id")) ||
	    (rc = db_bind_text(ctx, st, ":ignore", c->ignore)) ||
	    (rc = db_bind_real(ctx, st, ":boot", boot.now)) ||
	    (rc = db_bind_text(ctx, st, ":bid", boot.id)))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		const char *id = col_text(st, 0);
		double at = sqlite3_column_double(st, 1), ahead = floor(at - c->now);
		double age = floor(sqlite3_column_double(st, 2));
		sbuf v = {0};
		rc = CS_OK;
		h->servers++;
		if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
			put_str(&v, "age", NULL);
			put_num(&v, "max_age", c->o.max_age);
			put_str(&v, "heartbeat_at", NULL);
			rc = add_problem(ctx, h, "stale", id, CS_HEALTH_CRITICAL, id, &v,
					 "%s has no heartbeat", id);
		} else if (age > c->o.max_age) {
			put_num(&v, "age", age);
			put_num(&v, "max_age", c->o.max_age);
			put_time(&v, "heartbeat_at", at);
			rc = add_problem(ctx, h, "stale", id, grade(age, c->o.max_age), id, &v,
					 "%s heartbeat %.0fs old", id, age);
		} else if (ahead > c->o.max_skew) {
			put_num(&v, "skew", -ahead);
			put_num(&v, "max_skew", c->o.max_skew);
			put_str(&v, "source", "clock");
			put_time(&v, "heartbeat_at", at);
			rc = add_problem(ctx, h, "skew", id, grade(ahead, c->o.max_skew), id, &v,
					 "%s heartbeat is %.0fs in the future", id, ahead);
		}
		if (rc)
			goto done;
	}
	if (rc == SQLITE_DONE)
		rc = CS_OK;
done:
	sqlite3_finalize(st);
	return rc;
}

/* Running jobs started more than `stuck` seconds ago.  A running job with
 * no started_at cannot be timed and is left out. */
static int check_jobs(cs_ctx *ctx, cs_health *h, const hcfg *c)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = db_prepare(ctx, &st, "SELECT id, assigned_to, started_at FROM jobs"
				       " WHERE status = 'running' AND started_at < :t"
				       " ORDER BY started_at, id")) ||
	    (rc = db_bind_real(ctx, st, ":t", c->now - c->o.stuck)))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		const char *id = col_text(st, 0);
		const char *on = (const char *)sqlite3_column_text(st, 1);
		double at = sqlite3_column_double(st, 2), run = floor(c->now - at);
		sbuf v = {0};
		put_str(&v, "job", id);
		put_num(&v, "running", run);
		put_num(&v, "stuck", c->o.stuck);
		put_time(&v, "started_at", at);
		if ((rc = add_problem(ctx, h, "stuck", id, grade(run, c->o.stuck), on, &v,
				      "job %s running %.0fs on %s", id, run, on ? on : "(nobody)")))
			goto done;
	}
	if (rc == SQLITE_DONE)
		rc = CS_OK;
done:
	sqlite3_finalize(st);
	return rc;
}

/* Locks still marked held after expires_at plus the lock-delay, the grace
 * every other server gives them. */
static int check_locks(cs_ctx *ctx, cs_health *h, const hcfg *c)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = db_prepare(ctx, &st, "SELECT name, locked_by, expires_at FROM locks"
				       " WHERE locked_by IS NOT NULL AND expires_at < :t"
				       " ORDER BY name")) ||
	    (rc = db_bind_real(ctx, st, ":t", c->now - ctx->lock_delay)))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		const char *name = col_text(st, 0), *by = col_text(st, 1);
		double at = sqlite3_column_double(st, 2), ago = floor(c->now - at);
		sbuf v = {0};
		put_str(&v, "lock", name);
		put_str(&v, "holder", by);
		put_num(&v, "expired", ago);
		put_time(&v, "expires_at", at);
		put_num(&v, "lock_delay", ctx->lock_delay);
		if ((rc = add_problem(ctx, h, "lock", name, CS_HEALTH_WARNING, by, &v,
				      "lock %s held by %s expired %.0fs ago", name, by, ago)))
			goto done;
	}
	if (rc == SQLITE_DONE)
		rc = CS_OK;
done:
	sqlite3_finalize(st);
	return rc;
}

/* Unread messages per server, with `msg inbox`'s meaning of unread: a
 * direct message whose flag is not set; a broadcast from another server
 * that this one is not in read_by for (unless a seed tool set the flag and
 * no read_by). */
static int check_backlog(cs_ctx *ctx, cs_health *h, const hcfg *c)
{
	static const char sql[] =
		"SELECT f.id, count(*), sum(m.timestamp < :old), min(m.timestamp)"
		" FROM fleet_ids f JOIN messages m ON"
		"  (m.to_server = f.id AND NOT coalesce(m.read, 0)) OR"
		"  (m.to_server = 'all' AND m.from_server IS NOT f.id AND"
		"   NOT (coalesce(m.read, 0) AND m.read_by IS NULL) AND"
		"   NOT EXISTS(SELECT 1 FROM json_each(coalesce(m.read_by, '[]')) WHERE value = f.id))"
		" WHERE f.id NOT IN (SELECT value FROM json_each(:ignore))"
		" GROUP BY f.id ORDER BY f.id";
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = db_prepare(ctx, &st, sql)) ||
	    (rc = db_bind_real(ctx, st, ":old", c->now - c->o.backlog_age)) ||
	    (rc = db_bind_text(ctx, st, ":ignore", c->ignore)))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		const char *id = col_text(st, 0);
		long long n = sqlite3_column_int64(st, 1), old = sqlite3_column_int64(st, 2);
		int timed = sqlite3_column_type(st, 3) != SQLITE_NULL;
		double oldest = timed ? floor(c->now - sqlite3_column_double(st, 3)) : 0;
		int sev = CS_HEALTH_OK;
		sbuf v = {0};
		if (n > c->o.backlog_count)
			sev = grade((double)n, c->o.backlog_count);
		if (old && grade(oldest, c->o.backlog_age) > sev)
			sev = grade(oldest, c->o.backlog_age);
		if (sev == CS_HEALTH_OK)
			continue;
		put_num(&v, "unread", (double)n);
		put_num(&v, "older", (double)old);
		if (timed)
			put_num(&v, "oldest_age", oldest);
		else
			put_str(&v, "oldest_age", NULL);
		put_num(&v, "backlog_count", c->o.backlog_count);
		put_num(&v, "backlog_age", c->o.backlog_age);
		if ((rc = timed ? add_problem(ctx, h, "backlog", id, sev, id, &v,
					      "%s has %lld unread message%s, oldest %.0fs", id, n,
					      n == 1 ? "" : "s", oldest)
				: add_problem(ctx, h, "backlog", id, sev, id, &v,
					      "%s has %lld unread message%s", id, n, n == 1 ? "" : "s")))
			goto done;
	}
	if (rc == SQLITE_DONE)
		rc = CS_OK;
done:
	sqlite3_finalize(st);
	return rc;
}

/* The newest heartbeat commit of each server whose commit time and the
 * heartbeat's own timestamp differ by more than max_skew.  Nothing when the
 * history is empty. */
static int check_skew(cs_ctx *ctx, cs_health *h, const hcfg *c)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = db_prepare(ctx, &st, "SELECT server, skew, commit_id FROM server_history h"
				       " WHERE file = 'heartbeat' AND seq = (SELECT max(seq)"
				       "  FROM server_history WHERE server = h.server AND"
				       "  file = 'heartbeat' AND skew IS NOT NULL)"
				       " AND server NOT IN (SELECT value FROM json_each(:ignore))"
				       " AND abs(skew) > :max ORDER BY server")) ||
	    (rc = db_bind_text(ctx, st, ":ignore", c->ignore)) ||
	    (rc = db_bind_real(ctx, st, ":max", c->o.max_skew)))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		const char *id = col_text(st, 0);
		double skew = round(sqlite3_column_double(st, 1));
		sbuf v = {0};
		if (has_problem(h, "skew", id))
			continue;
		put_num(&v, "skew", skew);
		put_num(&v, "max_skew", c->o.max_skew);
		put_str(&v, "source", "commit");
		put_str(&v, "commit", col_text(st, 2));
		if ((rc = add_problem(ctx, h, "skew", id, grade(fabs(skew), c->o.max_skew), id, &v,
				      "%s heartbeat time is %.0fs %s its commit", id, fabs(skew),
				      skew > 0 ? "behind" : "ahead of")))
			goto done;
	}
	if (rc == SQLITE_DONE)
		rc = CS_OK;
done:
	sqlite3_finalize(st);
	return rc;
}

/* A commit is made after its parent, so a commit whose time is older than
 * its first parent's says that its author's clock is behind the parent
 * author's, by at least the difference.  Over the last 1000 commits, each
 * server's 20 newest commits that follow another author's; a server already
 * reported (its heartbeat is in the future) is not blamed for the commit
 * after it, and only servers of the fleet are (an author such as a person
 * committing by hand is not a server).  Finds a clock that is behind,
 * which heartbeats only show as staleness. */
static int check_order_skew(cs_ctx *ctx, cs_health *h, const hcfg *c)
{
	sqlite3_stmt *st = NULL;
	sbuf ahead = {0};
	int rc;

	/* The servers already reported for skew, as a JSON array. */
	sb_putc(&ahead, '[');
	for (int i = 0; i < h->nproblems; i++)
		if (!strcmp(h->problems[i].check, "skew") && h->problems[i].server) {
			if (ahead.n > 1)
				sb_putc(&ahead, ',');
			json_put_string(&ahead, h->problems[i].server);
		}
	sb_putc(&ahead, ']');
	if (ahead.oom) {
		rc = cs_err_oom(ctx);
		goto done;
	}
	if ((rc = db_prepare(ctx, &st,
			     "WITH recent AS (SELECT seq, author, committed_at, commit_id"
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
			     " GROUP BY author HAVING max(behind) > :max ORDER BY author")) ||
	    (rc = db_bind_text(ctx, st, ":ignore", c->ignore)) ||
	    (rc = db_bind_text(ctx, st, ":ahead", ahead.p)) ||
	    (rc = db_bind_real(ctx, st, ":max", c->o.max_skew)))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		const char *id = col_text(st, 0), *after = col_text(st, 3);
		double behind = round(sqlite3_column_double(st, 1));
		sbuf v = {0};
		if (has_problem(h, "skew", id))
			continue;
		put_num(&v, "skew", -behind);
		put_num(&v, "max_skew", c->o.max_skew);
		put_str(&v, "source", "order");
		put_str(&v, "commit", col_text(st, 2));
		put_str(&v, "after", after);
		if ((rc = add_problem(ctx, h, "skew", id, grade(behind, c->o.max_skew), id, &v,
				      "%s clock is at least %.0fs behind %s's: its commit is older than"
				      " the commit it follows", id, behind, after)))
			goto done;
	}
	if (rc == SQLITE_DONE)
		rc = CS_OK;
done:
	sb_free(&ahead);
	sqlite3_finalize(st);
	return rc;
}

/* Two clones using one server id (heartbeat_instances, schema/005): this
 * clone saw its own instance id in its server's heartbeat replaced by
 * another, or a server's heartbeat change back to the instance it had
 * before, within the last 2 * max_age (at least 10 minutes).  One change
 * alone is a clone replaced by a new one and is not reported. */
static int check_duplicates(cs_ctx *ctx, cs_health *h, const hcfg *c)
{
	sqlite3_stmt *st = NULL;
	char mine[37];
	double window = 2.0 * c->o.max_age < 600 ? 600 : 2.0 * c->o.max_age;
	int rc;

	if ((rc = cs_instance(ctx, mine, 0)))
		return rc;
	if ((rc = db_prepare(ctx, &st, "SELECT server, instance, previous, foreign_at >= :since"
				       " AND server IS :me, changes FROM heartbeat_instances"
				       " WHERE ((foreign_at >= :since AND server IS :me) OR flipped_at >= :since)"
				       " AND server NOT IN (SELECT value FROM json_each(:ignore))"
				       " ORDER BY server")) ||
	    (rc = db_bind_real(ctx, st, ":since", c->now - window)) ||
	    (rc = ctx->server ? db_bind_text(ctx, st, ":me", ctx->server)
			      : db_bind_null(ctx, st, ":me")) ||
	    (rc = db_bind_text(ctx, st, ":ignore", c->ignore)))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		const char *id = col_text(st, 0), *inst = col_text(st, 1), *prev = col_text(st, 2);
		int own = sqlite3_column_int(st, 3);
		sbuf v = {0};
		put_str(&v, "instance", inst);
		put_str(&v, "previous", prev);
		put_str(&v, "this_instance", own ? mine : NULL);
		put_num(&v, "changes", (double)sqlite3_column_int64(st, 4));
		if ((rc = own ? add_problem(ctx, h, "duplicate", id, CS_HEALTH_CRITICAL, id, &v,
					    "%s heartbeat was written by another clone (instance %.8s),"
					    " not this one (%.8s): two clones use server id %s", id,
					    strcmp(inst, mine) ? inst : prev, mine, id)
			      : add_problem(ctx, h, "duplicate", id, CS_HEALTH_CRITICAL, id, &v,
					    "%s heartbeat alternates between instances %.8s and %.8s:"
					    " two clones use server id %s", id, inst, prev, id)))
			goto done;
	}
	if (rc == SQLITE_DONE)
		rc = CS_OK;
done:
	sqlite3_finalize(st);
	return rc;
}

/* Coordination files whose newest version did not import: every sync fails
 * and the mirror holds the last good rows. */
static int check_files(cs_ctx *ctx, cs_health *h)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = db_prepare(ctx, &st, "SELECT path, error FROM files WHERE error IS NOT NULL"
				       " ORDER BY path")))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		const char *path = col_text(st, 0), *err = col_text(st, 1);
		sbuf v = {0};
		put_str(&v, "path", path);
		put_str(&v, "error", err);
		if ((rc = add_problem(ctx, h, "file", path, CS_HEALTH_CRITICAL, NULL, &v,
				      "%s does not import: %s", path, err)))
			goto done;
	}
	if (rc == SQLITE_DONE)
		rc = CS_OK;
done:
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

/* A rewritten or deleted remote branch that the last sync refused (meta
 * history_rewrite, kept until the remote is back or accept-history): no
 * decision goes out from this clone meanwhile. */
static int check_history(cs_ctx *ctx, cs_health *h)
{
	char *msg = NULL;
	int rc;
	sbuf v = {0};

	if ((rc = db_text(ctx, &msg, "SELECT value FROM meta WHERE key='history_rewrite'", NULL)) ||
	    !msg)
		goto done;
	put_str(&v, "error", msg);
	rc = add_problem(ctx, h, "history", ctx->branch, CS_HEALTH_CRITICAL, NULL, &v, "%s", msg);
done:
	free(msg);
	return rc;
}

static int check_order(const char *check)
{
	static const char *const order[] = {"sync", "history", "file", "stale", "stuck", "lock",
					    "backlog", "skew", "duplicate", "outbox", NULL};
	int i;
	for (i = 0; order[i] && strcmp(order[i], check); i++)
		;
	return i;
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

/* ---- the alert URL and the token ----------------------------------------- */

/* Accept http:// and https:// URLs without user or password.  origin gets
 * "scheme://host[:port]", the only part of the URL ever put in a message:
 * webhook paths are often secrets themselves.  *plain is set for http to a
 * host other than a loopback address. */
static int check_url(cs_ctx *ctx, const char *url, char *origin, size_t len, int *plain)
{
	CURLU *u = cu.url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL;
	int rc = CS_OK;

	if (!u)
		return cs_err_oom(ctx);
	if (cu.url_set(u, CURLUPART_URL, url, 0) ||
	    cu.url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    cu.url_get(u, CURLUPART_HOST, &host, 0) ||
	    (strcasecmp(scheme, "http") && strcasecmp(scheme, "https"))) {
		rc = cs_err(ctx, CS_EINVAL, "invalid alert URL: expected http://HOST/... or https://HOST/...");
		goto done;
	}
	cu.url_get(u, CURLUPART_USER, &user, 0);
	cu.url_get(u, CURLUPART_PASSWORD, &pass, 0);
	if (user || pass) {
		rc = cs_err(ctx, CS_EINVAL, "the alert URL must not hold credentials; use --token-file");
		goto done;
	}
	cu.url_get(u, CURLUPART_PORT, &port, 0);
	snprintf(origin, len, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
	printable(origin);
	*plain = !strcasecmp(scheme, "http") && !cs_host_loopback(host, strlen(host));
done:
	cu.free(scheme);
	cu.free(host);
	cu.free(port);
	cu.free(user);
	cu.free(pass);
	cu.url_cleanup(u);
	return rc;
}

int cs_host_loopback(const char *host, size_t n)
{
	if (n == 9 && !strncasecmp(host, "localhost", 9))
		return 1;
	if (n == 5 && !strncmp(host, "[::1]", 5))
		return 1;
	if (n < 5 || strncmp(host, "127.", 4))
		return 0;
	for (size_t i = 4; i < n; i++)     /* 127.0.0.1, not 127.example.com */
		if (!strchr("0123456789.", host[i]) || !host[i])
			return 0;
	return 1;
}

/* Check that fd, opened from path, is a regular file owned by this user
 * with no permissions for group or others.  what names the kind of file in
 * the message ("token file"). */
static int secret_fd_check(cs_ctx *ctx, int fd, const char *what, const char *path)
{
	struct stat sb;

	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode))
		return cs_err(ctx, CS_EINVAL, "%s '%s' is not a regular file", what, path);
	if (sb.st_uid != geteuid())
		return cs_err(ctx, CS_EINVAL, "%s '%s' is owned by uid %u, not by this user (uid %u)",
			      what, path, (unsigned)sb.st_uid, (unsigned)geteuid());
	if (sb.st_mode & 077)
		return cs_err(ctx, CS_EINVAL, "%s '%s' has mode %04o: it must be 0600 (chmod 600)",
			      what, path, (unsigned)(sb.st_mode & 07777));
	return CS_OK;
}

int cs_secret_check(cs_ctx *ctx, const char *what, const char *path)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return cs_err(ctx, CS_EINVAL, "cannot read %s '%s': %s", what, path, strerror(errno));
	rc = secret_fd_check(ctx, fd, what, path);
	close(fd);
	return rc;
}

/* Read a token (the alert's bearer token, an http(s) remote's password): a
 * file that passes secret_fd_check, holding one line of printable ASCII.
 * Messages name the file, never its content.  *out is wiped and freed by
 * the caller. */
int cs_token_read(cs_ctx *ctx, const char *path, char **out)
{
	char buf[TOKEN_MAX + 2];
	size_t len = 0, start = 0;
	int fd, rc = CS_OK;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return cs_err(ctx, CS_EINVAL, "cannot read token file '%s': %s", path, strerror(errno));
	if ((rc = secret_fd_check(ctx, fd, "token file", path)))
		goto done;
	while (len < sizeof buf - 1) {
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = cs_err(ctx, CS_EINVAL, "cannot read token file '%s': %s", path,
				    strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > TOKEN_MAX) {
		rc = cs_err(ctx, CS_EINVAL, "token file '%s' is over %d bytes", path, TOKEN_MAX);
		goto done;
	}
	while (len && strchr(" \t\r\n", buf[len - 1]))
		len--;
	while (start < len && strchr(" \t\r\n", buf[start]))
		start++;
	buf[len] = 0;
	for (size_t i = start; i < len; i++)
		if (buf[i] < 0x21 || buf[i] > 0x7e) {
			rc = cs_err(ctx, CS_EINVAL, "token file '%s' must hold one token of printable ASCII",
				    path);
			goto done;
		}
	if (start == len)
		rc = cs_err(ctx, CS_EINVAL, "token file '%s' is empty", path);
	else if (!(*out = strdup(buf + start)))
		rc = cs_err_oom(ctx);
done:
	explicit_bzero(buf, sizeof buf);
	close(fd);
	return rc;
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
	cu.slist_free_all(ps->hdr);
	cu.easy_cleanup(ps->curl);
	ps->hdr = NULL;
	ps->curl = NULL;
}

/* One handle for every post of the run: http and https only, no redirects,
 * peer and host verified, bounded in time, the response thrown away. */
static int poster_init(cs_ctx *ctx, poster *ps, const char *url, const char *token, int timeout)
{
	struct curl_slist *s;
	long total = (long)timeout * 1000L, conn = total < 5000 ? total : 5000;

	if (!(ps->curl = cu.easy_init()))
		return cs_err(ctx, CS_ERROR, "cannot start libcurl");
	if (!(s = cu.slist_append(NULL, "Content-Type: application/json")))
		return cs_err_oom(ctx);
	ps->hdr = s;
	if (!(s = cu.slist_append(ps->hdr, "Expect:")))
		return cs_err_oom(ctx);
	if (token) {
		sbuf auth = {0};
		sb_puts(&auth, "Authorization: Bearer ");
		sb_puts(&auth, token);
		s = auth.oom ? NULL : cu.slist_append(ps->hdr, auth.p);
		if (auth.p)
			explicit_bzero(auth.p, auth.n);
		sb_free(&auth);
		if (!s)
			return cs_err_oom(ctx);
	}
	ps->errbuf[0] = 0;
	if (cu.easy_setopt(ps->curl, CURLOPT_URL, url) ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    cu.easy_setopt(ps->curl, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    cu.easy_setopt(ps->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") ||
#else
	    cu.easy_setopt(ps->curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) ||
	    cu.easy_setopt(ps->curl, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) ||
#endif
	    cu.easy_setopt(ps->curl, CURLOPT_FOLLOWLOCATION, 0L) ||
	    cu.easy_setopt(ps->curl, CURLOPT_SSL_VERIFYPEER, 1L) ||
	    cu.easy_setopt(ps->curl, CURLOPT_SSL_VERIFYHOST, 2L) ||
	    cu.easy_setopt(ps->curl, CURLOPT_CONNECTTIMEOUT_MS, conn) ||
	    cu.easy_setopt(ps->curl, CURLOPT_TIMEOUT_MS, total) ||
	    cu.easy_setopt(ps->curl, CURLOPT_NOSIGNAL, 1L) ||
	    cu.easy_setopt(ps->curl, CURLOPT_HTTPHEADER, ps->hdr) ||
	    cu.easy_setopt(ps->curl, CURLOPT_USERAGENT, "coordsync/0.1.0") ||
	    cu.easy_setopt(ps->curl, CURLOPT_WRITEFUNCTION, discard) ||
	    cu.easy_setopt(ps->curl, CURLOPT_ERRORBUFFER, ps->errbuf))
		return cs_err(ctx, CS_ERROR, "cannot set up libcurl for the alert");
	return CS_OK;
}

/* POST body; CS_OK on a 2xx answer, else CS_ERROR with the reason (which
 * names the URL's origin only). */
static int post(cs_ctx *ctx, poster *ps, const char *body, size_t len)
{
	long code = 0;
	CURLcode cc;

	ps->errbuf[0] = 0;
	cu.easy_setopt(ps->curl, CURLOPT_POSTFIELDS, body);
	cu.easy_setopt(ps->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	if ((cc = cu.easy_perform(ps->curl)) != CURLE_OK)
		return cs_err(ctx, CS_ERROR, "cannot post alert to '%s': %s", ps->origin,
			      ps->errbuf[0] ? ps->errbuf : cu.easy_strerror(cc));
	cu.easy_getinfo(ps->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299)
		return cs_err(ctx, CS_ERROR, "cannot post alert to '%s': HTTP %ld", ps->origin, code);
	return CS_OK;
}

/* The alert's JSON (docs/HEALTH.md).  A recovery has severity "ok" and the
 * problem's last message after "cleared: ". */
static char *alert_json(const cs_ctx *ctx, const cs_problem *p, int recovery, double now)
{
	static const char *const sev[] = {"ok", "warning", "critical", "unknown"};
	sbuf b = {0};
	char iso[32];

	sb_puts(&b, "{\"source\": \"coordsync\", \"event\": ");
	sb_puts(&b, recovery ? "\"recovery\"" : "\"problem\"");
	sb_puts(&b, ", \"key\": ");
	json_put_string(&b, p->key);
	sb_puts(&b, ", \"check\": ");
	json_put_string(&b, p->check);
	sb_printf(&b, ", \"severity\": \"%s\"", recovery ? "ok" : sev[p->severity & 3]);
	if (recovery)
		sb_printf(&b, ", \"previous_severity\": \"%s\"", sev[p->severity & 3]);
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
	cs_time_iso(p->first_seen, iso);
	sb_puts(&b, ", \"first_seen\": ");
	json_put_string(&b, iso);
	cs_time_iso(now, iso);
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
static int alert_state(cs_ctx *ctx, cs_health *h, const hcfg *c)
{
	static const char *const sev[] = {"ok", "warning", "critical", "unknown"};
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
		return cs_err_oom(ctx);
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
		    (rc = db_bind_text(ctx, st, ":s", sev[p->severity & 3])) ||
		    (rc = db_bind_text(ctx, st, ":v", p->server)) ||
		    (rc = db_bind_text(ctx, st, ":m", p->message)) ||
		    (rc = db_bind_real(ctx, st, ":t", c->now)))
			goto done;
		if ((rc = db_step(ctx, st)) != SQLITE_ROW) {
			if (rc == SQLITE_DONE)
				rc = cs_err(ctx, CS_ERROR, "internal: no alert row for '%s'", p->key);
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
		cs_problem *p = grow(&h->cleared, &h->ncleared);
		const char *key = col_text(st, 0), *colon = strchr(key, ':');
		const char *server = (const char *)sqlite3_column_text(st, 2);
		if (!p) {
			rc = cs_err_oom(ctx);
			goto done;
		}
		p->key = strdup(key);
		p->check = colon ? strndup(key, (size_t)(colon - key)) : strdup(key);
		p->server = cs_strdup(server);
		p->message = strdup(col_text(st, 3));
		p->values = strdup("{}");
		p->severity = strcmp(col_text(st, 1), "critical") ? CS_HEALTH_WARNING
								   : CS_HEALTH_CRITICAL;
		p->first_seen = sqlite3_column_double(st, 4);
		p->alert = CS_ALERT_PENDING;
		if (!p->key || !p->check || !p->message || !p->values || (server && !p->server)) {
			rc = cs_err_oom(ctx);
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
static int alert_post(cs_ctx *ctx, cs_health *h, const hcfg *c, const char *token,
		      const char *origin)
{
	poster ps = {0};
	int rc, failed = 0;

	snprintf(ps.origin, sizeof ps.origin, "%s", origin);
	if ((rc = poster_init(ctx, &ps, c->o.alert_url, token, c->o.alert_timeout))) {
		failed = 1;
		if (!(h->alert_error = strdup(ctx->err)))
			rc = cs_err_oom(ctx);
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
			if (!(body = alert_json(ctx, p, pass, c->now))) {
				rc = cs_err_oom(ctx);
				break;
			}
			if (post(ctx, &ps, body, strlen(body))) {
				failed = 1;
				h->pending++;
				if (!(h->alert_error = strdup(ctx->err)))
					rc = cs_err_oom(ctx);
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
		return cs_err(ctx, CS_EINVAL, "health limits must be positive (the alert timeout at most 60 s)");
	if (c->o.token_file && !c->o.alert_url)
		return cs_err(ctx, CS_EINVAL, "a token file is for --alert");
	sb_putc(&ig, '[');
	for (int i = 0; i < c->o.nignore; i++) {
		if (i)
			sb_putc(&ig, ',');
		json_put_string(&ig, c->o.ignore[i]);
	}
	sb_putc(&ig, ']');
	if (!(c->ignore = sb_detach(&ig)))
		return cs_err_oom(ctx);
	c->now = cs_now();
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
		if ((rc = curl_open(ctx)))
			goto done;
		if (cu.global_init(CURL_GLOBAL_DEFAULT)) {
			rc = cs_err(ctx, CS_ERROR, "cannot start libcurl");
			goto done;
		}
		curl_up = 1;
		if ((rc = check_url(ctx, c.o.alert_url, origin, sizeof origin, &plain)) ||
		    (c.o.token_file && (rc = cs_token_read(ctx, c.o.token_file, &token))))
			goto done;
		if (token && plain) {
			rc = cs_err(ctx, CS_EINVAL, "refusing to send the token over plain http to '%s':"
						    " use https (or a loopback address)", origin);
			goto done;
		}
		/* Two runs at once must not both post the same alert. */
		if ((rc = cs_lock_clone(ctx)))
			goto done;
	}
	if (!(h = calloc(1, sizeof *h))) {
		rc = cs_err_oom(ctx);
		goto done;
	}
	if (c.o.sync) {
		cs_sync_stats st;
		/* A file that does not import is reported by check_files. */
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
		c.now = cs_now();
	}
	if ((rc = check_history(ctx, h)) || (rc = check_files(ctx, h)) ||
	    (rc = check_heartbeats(ctx, h, &c)) ||
	    (rc = check_jobs(ctx, h, &c)) || (rc = check_locks(ctx, h, &c)) ||
	    (rc = check_backlog(ctx, h, &c)) || (rc = check_skew(ctx, h, &c)) ||
	    (rc = check_order_skew(ctx, h, &c)) || (rc = check_duplicates(ctx, h, &c)) ||
	    (rc = check_outbox(ctx, h)))
		goto done;
	if (h->nproblems > 1)
		qsort(h->problems, (size_t)h->nproblems, sizeof *h->problems, problem_cmp);
	if (c.o.alert_url && ((rc = alert_state(ctx, h, &c)) ||
			      (rc = alert_post(ctx, h, &c, token, origin))))
		goto done;
	*out = h;
	h = NULL;
done:
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	if (curl_up)
		cu.global_cleanup();
	free(c.ignore);
	cs_health_free(h);
	return rc;
}
