/* The decisions: locks, jobs, messages, status and heartbeats.  Each is a
 * cs_decide_fn: SQL over the freshly imported mirror that marks the records
 * it changes dirty; cs_decide turns that into one commit and one push. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cs_int.h"
#include "json_int.h"

/* ---- helpers ------------------------------------------------------------- */

static double now_s(void)
{
	return floor(cs_now());
}

/* Text of a new record (obj) in the seed's layout at the given indent. */
static char *render(const cJSON *obj, int indent)
{
	sbuf b = {0};
	json_put_value(&b, obj, indent, 2);
	return sb_detach(&b);
}

static void add_time(cJSON *o, const char *key, double t)
{
	char iso[32];
	cs_time_iso(t, iso);
	cJSON_AddStringToObject(o, key, iso);
}

/* Whether s is valid UTF-8: json_put_string would write any other byte as
 * U+FFFD, so two different keys could become one. */
static int utf8_ok(const char *s)
{
	sbuf b = {0};
	int ok;
	sb_putc(&b, '"');
	for (const char *p = s; *p; p++)   /* only the bytes' UTF-8 is checked */
		sb_putc(&b, (unsigned char)*p < 0x20 || *p == '"' || *p == '\\' ? 'x' : *p);
	sb_putc(&b, '"');
	ok = !b.oom && json_text_check(b.p, b.n) == b.n;
	sb_free(&b);
	return ok;
}

/* The value whose text is s[start, end), which json_text_check and
 * json_parse_span accept, as cJSON whose numbers are raw items holding
 * their text: written again (json_put_value), they keep every digit ("1.0"
 * stays "1.0"), and the rest is written in the seed's layout.  NULL when out
 * of memory, or when an object in it has a key twice. */
static cJSON *exact_value(const char *s, size_t start, size_t end)
{
	size_t i = json_skip_ws(s, end, start), ve, err;
	jscan sc = {0};
	cJSON *v = NULL;
	char *t;

	if (i >= end || !(ve = json_skip_value(s, end, i, &err)))
		return NULL;
	if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
		if (!(t = strndup(s + i, ve - i)))
			return NULL;
		v = cJSON_CreateRaw(t);
		free(t);
		return v;
	}
	if (s[i] != '{' && s[i] != '[')
		return json_parse_span(s, i, ve, &err);
	if (json_members(s, end, i, s[i], &sc, &ve, &err) ||
	    !(v = s[i] == '{' ? cJSON_CreateObject() : cJSON_CreateArray()))
		goto done;
	for (size_t m = 0; m < sc.n && v; m++) {
		cJSON *c = exact_value(s, sc.m[m].val.start, sc.m[m].val.end);
		char *k = s[i] == '{' ? json_string_value(s, sc.m[m].key) : NULL;
		if (!c || (s[i] == '{' && (!k || cJSON_GetObjectItemCaseSensitive(v, k) ||
					   !cJSON_AddItemToObject(v, k, c))) ||
		    (s[i] == '[' && !cJSON_AddItemToArray(v, c))) {
			cJSON_Delete(c);
			cJSON_Delete(v);
			v = NULL;
		}
		free(k);
	}
done:
	jscan_free(&sc);
	return v;
}

/* Text t as one JSON value for exact_value, or NULL: it must pass the
 * importer's text check and parse as exactly one value. */
static cJSON *exact_parse(const char *t)
{
	size_t len = strlen(t), err_at;
	cJSON *v;
	if (!len || json_text_check(t, len) != len || !(v = json_parse_span(t, 0, len, &err_at)))
		return NULL;
	cJSON_Delete(v);
	return exact_value(t, 0, len);
}

/* A --set VALUE as *out: its JSON value when VALUE, without surrounding
 * whitespace, is exactly one JSON value that passes the importer's text
 * check (numbers keep their text: exact_value); else VALUE as a string.
 * CS_EINVAL when VALUE is not UTF-8. */
static int kv_value(cs_ctx *ctx, const char *key, const char *val, cJSON **out)
{
	size_t len = strlen(val), s = json_skip_ws(val, len, 0), e = len;
	char *t;

	while (e > s && strchr(" \t\r\n", val[e - 1]))
		e--;
	if (!(t = strndup(val + s, e - s)))
		return cs_err_oom(ctx);
	*out = exact_parse(t);
	free(t);
	if (*out)
		return CS_OK;
	if (!utf8_ok(val))
		return cs_err(ctx, CS_EINVAL, "--set '%s': the value is not valid UTF-8", key);
	return (*out = cJSON_CreateString(val)) ? CS_OK : cs_err_oom(ctx);
}

/* "KEY=VALUE" as member KEY of o (kv_value).  A KEY that o already has is
 * a usage error: a patch never carries two edits for one key. */
static int add_kv(cs_ctx *ctx, cJSON *o, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char key[128];
	cJSON *v;
	int rc;
	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key)
		return cs_err(ctx, CS_EINVAL, "expected KEY=VALUE, not '%s'", kv);
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = 0;
	if (!utf8_ok(key))
		return cs_err(ctx, CS_EINVAL, "--set: the key '%s' is not valid UTF-8", key);
	if (cJSON_GetObjectItemCaseSensitive(o, key))
		return cs_err(ctx, CS_EINVAL, "--set '%s' is given twice", key);
	if ((rc = kv_value(ctx, key, eq + 1, &v)))
		return rc;
	if (!cJSON_AddItemToObject(o, key, v)) {
		cJSON_Delete(v);
		return cs_err_oom(ctx);
	}
	return CS_OK;
}

/* All of kv[0, n) as a new object *out (add_kv). */
static int kv_object(cs_ctx *ctx, const char *const *kv, int n, cJSON **out)
{
	int rc = CS_OK;
	if (n > CS_MAX_KV)
		return cs_err(ctx, CS_EINVAL, "at most %d --set", CS_MAX_KV);
	if (!(*out = cJSON_CreateObject()))
		return cs_err_oom(ctx);
	for (int i = 0; i < n && !rc; i++)
		rc = add_kv(ctx, *out, kv[i]);
	if (rc) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	return rc;
}

/* The first member name o holds twice, or NULL. */
static const char *twice(const cJSON *o)
{
	for (const cJSON *a = o ? o->child : NULL; a; a = a->next)
		for (const cJSON *b = a->next; b; b = b->next)
			if (a->string && b->string && !strcmp(a->string, b->string))
				return a->string;
	return NULL;
}

/* ---- locks ------------------------------------------------------------------ */

typedef struct lock_arg {
	const char *name;
	int ttl;
	int op;               /* 'a' acquire, 'r' renew, 'x' release, 'c' cleanup */
	cs_lock_info *info;
	int released;
} lock_arg;

static int lock_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	lock_arg *a = p;
	sqlite3_stmt *st = NULL;
	double now = now_s();
	const char *holder = NULL;
	double expires = 0, lease = 0, watched = -1;
	long long fence = 0;
	cs_boot boot;
	int rc, exists = 0;

	if ((rc = cs_clock_boot(ctx, &boot)))
		return rc;
	if (a->op == 'c') {
		rc = DB_RUN(ctx, "UPDATE locks SET locked_by=NULL, locked_at=NULL, expires_at=NULL,"
				 " dirty=1 WHERE locked_by IS NOT NULL AND expires_at < :t AND"
				 " (locked_by = :s OR name IN (SELECT name FROM lock_free_after a"
				 "  WHERE a.boot_id = :bid AND :boot - a.seen_boot >="
				 "  coalesce(a.lease, 0) + :d))",
				DB_REAL(":t", now - ctx->lock_delay), DB_TEXT(":s", ctx->server),
				DB_TEXT(":bid", boot.id), DB_REAL(":boot", boot.now),
				DB_REAL(":d", ctx->lock_delay));
		if (rc < 0)
			return rc;
		a->released = rc;
		sb_puts(msg, "Cleanup expired locks");
		return CS_OK;
	}
	if ((rc = db_prepare(ctx, &st, "SELECT locked_by, expires_at, max(coalesce(fence, 0),"
				       " coalesce((SELECT fence FROM lock_fences f WHERE f.name=l.name), 0)),"
				       " (SELECT coalesce(lease, 0) FROM lock_free_after a WHERE a.name=l.name),"
				       " (SELECT :boot - seen_boot FROM lock_free_after a WHERE a.name=l.name"
				       "  AND a.boot_id = :bid)"
				       " FROM locks l WHERE name=:n")) ||
	    (rc = db_bind_text(ctx, st, ":n", a->name)) ||
	    (rc = db_bind_real(ctx, st, ":boot", boot.now)) ||
	    (rc = db_bind_text(ctx, st, ":bid", boot.id)))
		goto done;
	if ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		exists = 1;
		holder = (const char *)sqlite3_column_text(st, 0);
		expires = sqlite3_column_double(st, 1);
		fence = sqlite3_column_int64(st, 2);
		lease = sqlite3_column_double(st, 3);
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			watched = sqlite3_column_double(st, 4);
	} else if (rc != SQLITE_DONE) {
		goto done;
	}
	rc = CS_OK;
	if (a->info) {
		snprintf(a->info->holder, sizeof a->info->holder, "%s", holder ? holder : "");
		a->info->expires_at = expires;
		a->info->fence = fence;
	}
	int mine = holder && !strcmp(holder, ctx->server);
	/* Another server's lock stays taken for lock_delay seconds after it
	 * expires: clocks differ between servers.  And not before this host
	 * has watched it for its lease plus the lock-delay (lock_free_after),
	 * by its boot clock: a clock minutes ahead, here or at the holder, or
	 * a step of this host's wall clock, would otherwise take a live lock.
	 * No watch in this boot (watched < 0) is no time watched. */
	double wait_watch = lease + ctx->lock_delay - watched;
	int free_now = !holder || (expires + ctx->lock_delay < now && watched >= 0 &&
				   wait_watch <= 0);

	if (a->op == 'x') {
		if (!mine) {
			rc = cs_err(ctx, CS_EREFUSED, "cannot release '%s': %s", a->name,
				    holder ? "held by another server" : "not held");
			if (holder)
				cs_err(ctx, CS_EREFUSED, "cannot release '%s': held by %s", a->name, holder);
			goto done;
		}
		rc = DB_RUN(ctx, "UPDATE locks SET locked_by=NULL, locked_at=NULL, expires_at=NULL,"
				 " dirty=1 WHERE name=:n", DB_TEXT(":n", a->name));
		sb_printf(msg, "Lock %s released by %s", a->name, ctx->server);
		goto done;
	}
	if (a->op == 'r' && !mine) {
		rc = cs_err(ctx, CS_EREFUSED, "cannot renew '%s': %s%s", a->name,
			    holder ? "held by " : "not held by ", holder ? holder : ctx->server);
		goto done;
	}
	if (!mine && !free_now) {
		char iso[32];
		cs_time_iso(expires, iso);
		if (expires + ctx->lock_delay < now)
			rc = cs_err(ctx, CS_EREFUSED, "cannot lock '%s': held by %s until %s by its"
				    " clock, but this server has watched that grant for less than its"
				    " lease (free here in %.0fs): clocks may differ", a->name, holder, iso,
				    ceil(watched < 0 ? lease + ctx->lock_delay : wait_watch));
		else
			rc = cs_err(ctx, CS_EREFUSED, "cannot lock '%s': held by %s until %s", a->name,
				    holder, iso);
		goto done;
	}
	if (!mine) {
		/* A new grant: above every fence this clone has seen for the lock,
		 * in the file, in its memory (lock_fences, kept across rebuilds and
		 * accept-history) and in the lock's history, so that a dropped
		 * entry or a rewound remote cannot make a fence repeat. */
		long long seen = 0;
		if ((rc = db_int(ctx, &seen, "SELECT max(coalesce((SELECT fence FROM lock_fences"
				 " WHERE name=:a), 0), coalesce((SELECT max(fence) FROM lock_history"
				 " WHERE name=:a), 0))", a->name)))
			goto done;
		if (seen > fence)
			fence = seen;
		if (fence >= 9007199254740991LL) {   /* 2^53 - 1: JSON's last exact integer */
			rc = cs_err(ctx, CS_EREFUSED, "cannot lock '%s': its fence %lld is at the limit",
				    a->name, fence);
			goto done;
		}
		fence++;
	}
	if (!exists) {
		cJSON *o = cJSON_CreateObject();
		char *text;
		if (!o)
			return cs_err_oom(ctx);
		cJSON_AddStringToObject(o, "locked_by", ctx->server);
		cJSON_AddNumberToObject(o, "locked_at", now);
		cJSON_AddNumberToObject(o, "expires_at", now + a->ttl);
		cJSON_AddNumberToObject(o, "fence", (double)fence);
		text = render(o, 4);
		cJSON_Delete(o);
		if (!text)
			return cs_err_oom(ctx);
		rc = model_add(ctx, "locks", a->name, text);
		free(text);
	} else {
		rc = DB_RUN(ctx, "UPDATE locks SET locked_by=:s, locked_at=CASE WHEN :m THEN"
				 " coalesce(locked_at, :t) ELSE :t END, expires_at=:e, fence=:f,"
				 " dirty=1 WHERE name=:n",
				DB_TEXT(":n", a->name), DB_TEXT(":s", ctx->server),
				DB_INT(":m", mine), DB_REAL(":t", now),
				DB_REAL(":e", now + a->ttl), DB_INT(":f", fence));
	}
	if (rc >= 0)
		rc = DB_RUN(ctx, "INSERT INTO lock_fences(name, fence) VALUES(:n, :f) ON CONFLICT(name)"
				 " DO UPDATE SET fence=max(fence, excluded.fence)",
				DB_TEXT(":n", a->name), DB_INT(":f", fence));
	if (rc >= 0) {
		rc = CS_OK;
		sb_printf(msg, "Lock %s %s by %s", a->name, mine ? "renewed" : "acquired", ctx->server);
		if (a->info) {
			snprintf(a->info->holder, sizeof a->info->holder, "%s", ctx->server);
			a->info->expires_at = now + a->ttl;
			a->info->fence = fence;
		}
	}
done:
	sqlite3_finalize(st);
	return rc < 0 ? rc : CS_OK;
}

static int check_name(cs_ctx *ctx, const char *what, const char *name)
{
	if (!cs_valid_id(name))
		return cs_err(ctx, CS_EINVAL, "invalid %s '%s': use 1-64 of [A-Za-z0-9._-], no leading dot",
			      what, name ? name : "");
	return CS_OK;
}

int cs_lock_acquire(cs_ctx *ctx, const char *name, int ttl, int wait, cs_lock_info *info)
{
	lock_arg a = {name, ttl, 'a', info, 0};
	double deadline = cs_mono() + (wait > 0 ? wait : 0);
	int rc;
	if ((rc = check_name(ctx, "lock name", name)))
		return rc;
	if (ttl <= 0)
		return cs_err(ctx, CS_EINVAL, "--ttl must be positive");
	for (;;) {
		rc = cs_decide(ctx, lock_fn, &a);
		if (rc != CS_EREFUSED || cs_mono() >= deadline)
			return rc;
		/* Poll: at most once a second, as the seed's min(5, ttl/10). */
		double left = deadline - cs_mono();
		double step = left < 1 ? left : 1;
		struct timespec ts = {(time_t)step, (long)((step - floor(step)) * 1e9)};
		nanosleep(&ts, NULL);
	}
}

int cs_lock_renew(cs_ctx *ctx, const char *name, int ttl, cs_lock_info *info)
{
	lock_arg a = {name, ttl, 'r', info, 0};
	int rc;
	if ((rc = check_name(ctx, "lock name", name)))
		return rc;
	return cs_decide(ctx, lock_fn, &a);
}

int cs_lock_release(cs_ctx *ctx, const char *name)
{
	lock_arg a = {name, 0, 'x', NULL, 0};
	int rc;
	if ((rc = check_name(ctx, "lock name", name)))
		return rc;
	return cs_decide(ctx, lock_fn, &a);
}

int cs_lock_cleanup(cs_ctx *ctx, int *released)
{
	lock_arg a = {NULL, 0, 'c', NULL, 0};
	int rc = cs_decide(ctx, lock_fn, &a);
	*released = a.released;
	return rc;
}

/* ---- jobs --------------------------------------------------------------------- */

typedef struct job_arg {
	int op;               /* 'a' add, 'c' claim, 'd' done, 'f' fail, 'x' cancel, 'r' rescue,
			       * 'q' requeue a claim that was not delivered */
	const char *id;
	const char *text;
	int priority, max_attempts, older_than;
	const char *const *kv;
	int nkv;
	char *out_id;
	int count;
} job_arg;

/* Fields of a job that its life sets (claim, done, fail, rescue): never
 * --set by job add. */
static const char *const job_lifecycle[] = {
	"id", "status", "assigned_to", "attempts", "fence", "created_at", "started_at",
	"completed_at", "finished_at", "claimed_by", "result", "error", NULL};

#define JOB_PRIORITY_MAX 1000000      /* as job add's --priority */
#define JOB_MAX_ATTEMPTS_MAX 1000000

/* Check the --set values of a new job: no lifecycle field, and priority,
 * max_attempts and run_after as the importer and the options take them. */
static int job_kv_check(cs_ctx *ctx, const cJSON *set)
{
	for (const cJSON *it = set->child; it; it = it->next) {
		const char *k = it->string;
		cJSON *v;
		double d;
		int ok, rc;
		for (int i = 0; job_lifecycle[i]; i++)
			if (!strcmp(k, job_lifecycle[i]))
				return !strcmp(k, "id")
					       ? cs_err(ctx, CS_EINVAL, "use --id to set a job's id")
					       : cs_err(ctx, CS_EINVAL, "--set '%s': a job's %s is set by"
							" its life (claim, done, fail, rescue), not by job add",
							k, k);
		if (strcmp(k, "priority") && strcmp(k, "max_attempts") && strcmp(k, "run_after"))
			continue;
		/* A raw item is a number: its text as given. */
		v = cJSON_IsRaw(it) ? cJSON_Parse(it->valuestring) : cJSON_Duplicate(it, 1);
		if (!v)
			return cs_err_oom(ctx);
		if (!strcmp(k, "run_after")) {
			ok = cJSON_IsNull(v) || !model_time_value(v, &d);
		} else {
			long long lo = strcmp(k, "priority") ? 1 : -JOB_PRIORITY_MAX;
			long long hi = strcmp(k, "priority") ? JOB_MAX_ATTEMPTS_MAX : JOB_PRIORITY_MAX;
			/* An integer literal, as the option takes it. */
			ok = cJSON_IsRaw(it) && !strpbrk(it->valuestring, ".eE") &&
			     v->valuedouble >= (double)lo && v->valuedouble <= (double)hi;
		}
		cJSON_Delete(v);
		if (!ok) {
			sbuf b = {0};
			json_put_value(&b, it, 0, 0);
			if (!strcmp(k, "run_after"))
				rc = cs_err(ctx, CS_EINVAL, "--set 'run_after': %s is not a time"
					    " (ISO-8601 or epoch seconds, years 1 to 9999)", b.p ? b.p : "?");
			else
				rc = cs_err(ctx, CS_EINVAL, "--set '%s': %s is not an integer from %d to %d",
					    k, b.p ? b.p : "?", strcmp(k, "priority") ? 1 : -JOB_PRIORITY_MAX,
					    strcmp(k, "priority") ? JOB_MAX_ATTEMPTS_MAX : JOB_PRIORITY_MAX);
			sb_free(&b);
			return rc;
		}
	}
	return CS_OK;
}

static int job_add(cs_ctx *ctx, job_arg *a, sbuf *msg)
{
	double now = now_s();
	cJSON *o = cJSON_CreateObject(), *set = NULL;
	char *text = NULL;
	long long n;
	int rc;

	if (!o)
		return cs_err_oom(ctx);
	if ((rc = kv_object(ctx, a->kv, a->nkv, &set)) || (rc = job_kv_check(ctx, set)))
		goto done;
	if ((rc = db_int(ctx, &n, "SELECT count(*) FROM jobs WHERE id=:a", a->out_id)))
		goto done;
	if (n) {
		rc = cs_err(ctx, CS_EREFUSED, "job '%s' already exists", a->out_id);
		goto done;
	}
	cJSON_AddStringToObject(o, "id", a->out_id);
	cJSON_AddStringToObject(o, "status", "queued");
	cJSON_AddNullToObject(o, "assigned_to");
	if (!cJSON_GetObjectItemCaseSensitive(set, "priority"))
		cJSON_AddNumberToObject(o, "priority", a->priority);
	add_time(o, "created_at", now);
	cJSON_AddNullToObject(o, "started_at");
	cJSON_AddNumberToObject(o, "attempts", 0);
	if (!cJSON_GetObjectItemCaseSensitive(set, "max_attempts"))
		cJSON_AddNumberToObject(o, "max_attempts", a->max_attempts);
	/* The --set members go after coordsync's own, each once. */
	while (set->child) {
		cJSON *it = cJSON_DetachItemViaPointer(set, set->child);
		cJSON_AddItemToObject(o, it->string, it);
	}
	if (!(text = render(o, 4))) {
		rc = cs_err_oom(ctx);
		goto done;
	}
	/* The columns come from the record itself, so --set priority=3 and the
	 * like are typed, and checked, as an import would type them. */
	if (!(rc = model_add(ctx, "jobs", NULL, text)))
		sb_printf(msg, "Job %s added by %s", a->out_id, ctx->server);
done:
	free(text);
	cJSON_Delete(set);
	cJSON_Delete(o);
	return rc;
}

static int job_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	job_arg *a = p;
	double now = now_s();
	char *cur = NULL;
	int rc = CS_OK;

	switch (a->op) {
	case 'a':
		return job_add(ctx, a, msg);
	case 'c':
		free(a->out_id);
		a->out_id = NULL;
		/* The seed's order: priority, then created_at; ord breaks ties. */
		if ((rc = db_text(ctx, &a->out_id,
				  "SELECT id FROM jobs WHERE status='queued' AND assigned_to IS NULL"
				  " AND (run_after IS NULL OR run_after <= unixepoch('now'))"
				  /* A counter at its limit cannot count the claim: skip it. */
				  " AND coalesce(attempts, 0) < 9007199254740991"
				  " AND coalesce(fence, 0) < 9007199254740991"
				  " ORDER BY priority, created_at, ord LIMIT 1", NULL)))
			return rc;
		if (!a->out_id) {
			/* While jobs.json does not import, the queue is not known:
			 * an error, not an empty queue a worker would idle on. */
			char *err = NULL;
			if ((rc = db_text(ctx, &err, "SELECT error FROM files WHERE path=:a AND"
						     " error IS NOT NULL", "coordination/jobs.json")))
				return rc;
			if (err) {
				rc = cs_err(ctx, CS_ERROR, "cannot claim: 'coordination/jobs.json' does not"
					    " import: %s", err);
				free(err);
				return rc;
			}
			return cs_err(ctx, CS_EREFUSED, "no queued job");
		}
		rc = DB_RUN(ctx, "UPDATE jobs SET status='running', assigned_to=:s, started_at=:t,"
				 " attempts=coalesce(attempts, 0) + 1, fence=coalesce(fence, 0) + 1,"
				 " dirty=1 WHERE id=:i",
				DB_TEXT(":s", ctx->server), DB_REAL(":t", now),
				DB_TEXT(":i", a->out_id));
		if (rc >= 0)
			sb_printf(msg, "Job %s claimed by %s", a->out_id, ctx->server);
		return rc < 0 ? rc : CS_OK;
	case 'r': {
		/* Stale means quiet for older_than seconds by evidence this host
		 * can trust, never by another server's timestamps: the claim,
		 * and the holder's heartbeat if it has one, have not changed
		 * while this host watched them (its boot clock), or commits of
		 * two other clocks went on that long after them (watch_quiet).
		 * A clone that has watched nothing yet and has no such commits
		 * waits older_than seconds of its own. */
		cs_boot boot;
		if ((rc = cs_clock_boot(ctx, &boot)))
			return rc;
		rc = DB_RUN(ctx, "UPDATE jobs SET status='queued', assigned_to=NULL, started_at=NULL,"
				 " fence=coalesce(fence, 0) + 1, dirty=1"
				 " WHERE status='running' AND coalesce(fence, 0) < 9007199254740991 AND (coalesce((SELECT :boot - w.since_boot"
				 "  FROM watch_current w WHERE w.kind = 'claim' AND w.key = jobs.id"
				 "  AND w.boot_id = :bid), 0) >= :n OR coalesce((SELECT q.quiet FROM"
				 "  watch_quiet q WHERE q.kind = 'claim' AND q.key = jobs.id), 0) >= :n)"
				 " AND (NOT EXISTS(SELECT 1 FROM servers s WHERE s.id = jobs.assigned_to"
				 "  AND s.heartbeat_json IS NOT NULL) OR coalesce((SELECT :boot - w.since_boot"
				 "  FROM watch_current w WHERE w.kind = 'heartbeat' AND w.key = jobs.assigned_to"
				 "  AND w.boot_id = :bid), 0) >= :n OR coalesce((SELECT q.quiet FROM"
				 "  watch_quiet q WHERE q.kind = 'heartbeat' AND q.key = jobs.assigned_to), 0)"
				 "  >= :n)",
				DB_REAL(":boot", boot.now), DB_TEXT(":bid", boot.id),
				DB_REAL(":n", a->older_than));
		if (rc < 0)
			return rc;
		a->count = rc;
		sb_printf(msg, "Rescued %d job%s for %s", rc, rc == 1 ? "" : "s", ctx->server);
		return CS_OK;
	}
	}
	/* done, fail, cancel: the job must exist and be in a fitting state. */
	if ((rc = db_text(ctx, &cur, "SELECT status || ' ' || coalesce(assigned_to, '') FROM jobs"
				     " WHERE id=:a", a->id)))
		return rc;
	if (!cur)
		return cs_err(ctx, CS_ENOTFOUND, "no job '%s'", a->id);
	if (a->op == 'x') {
		rc = DB_RUN(ctx, "UPDATE jobs SET status='cancelled', completed_at=:t, dirty=1"
				 " WHERE id=:i AND status IN ('queued', 'running')",
				DB_REAL(":t", now), DB_TEXT(":i", a->id));
		if (rc == 0)
			rc = cs_err(ctx, CS_EREFUSED, "cannot cancel '%s': it is %s", a->id, cur);
		else if (rc > 0)
			sb_printf(msg, "Job %s cancelled by %s", a->id, ctx->server);
		free(cur);
		return rc < 0 ? rc : CS_OK;
	}
	/* Only the holder finishes a running job.  A rescue requeues it and
	 * raises its fence, so a late finish from the old holder lands here. */
	rc = DB_RUN(ctx, "SELECT 1 FROM jobs WHERE id=:i AND status='running' AND assigned_to=:s",
			DB_TEXT(":i", a->id), DB_TEXT(":s", ctx->server));
	if (rc == 0) {
		rc = cs_err(ctx, CS_EREFUSED, "job '%s' is not running on %s (it is %s)", a->id,
			    ctx->server, cur);
		free(cur);
		return rc;
	}
	free(cur);
	if (rc < 0)
		return rc;
	if (a->op == 'q') {
		/* As a rescue does: the attempt stays counted, the fence rises,
		 * so the claim that was not delivered can finish nothing. */
		rc = DB_RUN(ctx, "UPDATE jobs SET status='queued', assigned_to=NULL, started_at=NULL,"
				 " fence=coalesce(fence, 0) + 1, error=:e, dirty=1 WHERE id=:i",
				DB_TEXT(":e", a->text), DB_TEXT(":i", a->id));
		sb_printf(msg, "Job %s requeued by %s: claim not delivered", a->id, ctx->server);
	} else if (a->op == 'd') {
		rc = DB_RUN(ctx, "UPDATE jobs SET status='done', completed_at=:t, result=:r, dirty=1"
				 " WHERE id=:i",
				DB_REAL(":t", now), DB_TEXT(":r", a->text), DB_TEXT(":i", a->id));
		sb_printf(msg, "Job %s done by %s", a->id, ctx->server);
	} else {
		/* Retry with exponential backoff while attempts remain. */
		rc = DB_RUN(ctx, "UPDATE jobs SET error=:e, dirty=1,"
				 " status=CASE WHEN coalesce(attempts, 1) < coalesce(max_attempts, 1)"
				 "   THEN 'queued' ELSE 'failed' END,"
				 " assigned_to=CASE WHEN coalesce(attempts, 1) < coalesce(max_attempts, 1)"
				 "   THEN NULL ELSE assigned_to END,"
				 " run_after=CASE WHEN coalesce(attempts, 1) < coalesce(max_attempts, 1)"
				 "   THEN :t + min(3600, 15 * (1 << max(0, min(coalesce(attempts, 1) - 1, 8))))"
				 "   ELSE run_after END,"
				 " completed_at=CASE WHEN coalesce(attempts, 1) < coalesce(max_attempts, 1)"
				 "   THEN NULL ELSE :t END"
				 " WHERE id=:i",
				DB_TEXT(":e", a->text), DB_REAL(":t", now), DB_TEXT(":i", a->id));
		sb_printf(msg, "Job %s failed on %s", a->id, ctx->server);
	}
	return rc < 0 ? rc : CS_OK;
}

int cs_job_add(cs_ctx *ctx, char **id_out, const char *id, int priority,
	       const char *const *kv, int n)
{
	job_arg a = {'a', NULL, NULL, priority, 1, 0, kv, n, NULL, 0};
	int rc;
	*id_out = NULL;
	if (id && (rc = check_name(ctx, "job id", id)))
		return rc;
	if (!(a.out_id = id ? strdup(id) : cs_uuid()))
		return cs_err_oom(ctx);
	/* The --set list is checked before any work (and again in job_add). */
	{
		cJSON *set = NULL;
		if (!(rc = kv_object(ctx, kv, n, &set)))
			rc = job_kv_check(ctx, set);
		cJSON_Delete(set);
		if (rc) {
			free(a.out_id);
			return rc;
		}
	}
	rc = cs_decide(ctx, job_fn, &a);
	if (rc)
		free(a.out_id);
	else
		*id_out = a.out_id;
	return rc;
}

int cs_job_claim(cs_ctx *ctx, char **id_out)
{
	job_arg a = {'c', NULL, NULL, 0, 0, 0, NULL, 0, NULL, 0};
	int rc = cs_decide(ctx, job_fn, &a);
	*id_out = NULL;
	if (rc)
		free(a.out_id);
	else
		*id_out = a.out_id;
	return rc;
}

static int job_op(cs_ctx *ctx, int op, const char *id, const char *text)
{
	job_arg a = {op, id, text, 0, 0, 0, NULL, 0, NULL, 0};
	if (!id || !*id)
		return cs_err(ctx, CS_EINVAL, "missing job id");
	return cs_decide(ctx, job_fn, &a);
}

int cs_job_done(cs_ctx *ctx, const char *id, const char *result)
{
	return job_op(ctx, 'd', id, result);
}

int cs_job_fail(cs_ctx *ctx, const char *id, const char *error)
{
	return job_op(ctx, 'f', id, error);
}

int cs_job_requeue(cs_ctx *ctx, const char *id, const char *why)
{
	return job_op(ctx, 'q', id, why);
}

int cs_job_cancel(cs_ctx *ctx, const char *id)
{
	return job_op(ctx, 'x', id, NULL);
}

int cs_job_rescue(cs_ctx *ctx, int older_than, int *rescued)
{
	job_arg a = {'r', NULL, NULL, 0, 0, older_than, NULL, 0, NULL, 0};
	int rc = cs_decide(ctx, job_fn, &a);
	*rescued = a.count;
	return rc;
}

/* ---- status, heartbeat and messages --------------------------------------------- */
/* These are also intents: with defer they wait in the outbox, and each apply
 * is idempotent, so replaying one after a crash changes nothing twice. */

/* The text of a server file: cur (NULL: none yet) with the members of set.
 * Members it has are replaced in place, others appended (model_patch). */
static int server_file_text(cs_ctx *ctx, const char *cur, const cJSON *set, char **text)
{
	const char *keys[CS_MAX_KV + 2];
	char *vals[CS_MAX_KV + 2];
	int n = 0, rc = CS_OK;
	const cJSON *it;

	*text = NULL;
	if (!cur)
		return (*text = render(set, 0)) ? CS_OK : cs_err_oom(ctx);
	cJSON_ArrayForEach(it, set) {
		sbuf b = {0};
		if (n == CS_MAX_KV + 2) {
			rc = cs_err(ctx, CS_ERROR, "an intent sets more than %d members", CS_MAX_KV + 1);
			break;
		}
		json_put_value(&b, it, 2, 2);
		keys[n] = it->string;
		if (!(vals[n++] = sb_detach(&b))) {
			n--;
			rc = cs_err_oom(ctx);
			break;
		}
	}
	if (!rc)
		rc = model_patch(ctx, cur, keys, vals, n, text);
	for (int i = 0; i < n; i++)
		free(vals[i]);
	return rc;
}

/* Set members of this server's status.json or heartbeat.json, written at
 * time at.  A deferred one (not direct) never replaces a newer one: when
 * the file already holds a later timestamp (a direct update made after
 * the intent was recorded), it is left as it is and the intent is spent.
 * The same second is not older: replaying the intent changes nothing. */
static int apply_server_file(cs_ctx *ctx, int heartbeat, cJSON *set, double at, int direct)
{
	const char *col = heartbeat ? "heartbeat_json" : "status_json";
	char sql[256], *cur = NULL, *text = NULL;
	int rc;

	if (!direct) {
		rc = DB_RUN(ctx, heartbeat ? "SELECT 1 FROM servers WHERE id=:s AND heartbeat_at > :t"
					   : "SELECT 1 FROM servers WHERE id=:s AND status_at > :t",
				DB_TEXT(":s", ctx->server), DB_REAL(":t", at));
		if (rc)
			return rc < 0 ? rc : CS_OK;   /* 1: the file is newer */
	}
	cJSON_DeleteItemFromObjectCaseSensitive(set, "timestamp");   /* coordsync's own */
	add_time(set, "timestamp", at);
	snprintf(sql, sizeof sql, "SELECT %s FROM servers WHERE id=:a", col);
	if ((rc = db_text(ctx, &cur, sql, ctx->server)))
		return rc;
	rc = server_file_text(ctx, cur, set, &text);
	/* The export checks it again; here an intent that breaks it fails alone. */
	if (!rc)
		rc = model_check_record(ctx, heartbeat ? "heartbeat.json" : "status.json", ctx->server,
					text);
	free(cur);
	if (rc) {
		free(text);
		return rc;
	}
	if (heartbeat) {
		rc = DB_RUN(ctx, "INSERT INTO servers(id, heartbeat_at, heartbeat_json, heartbeat_dirty)"
				 " VALUES(:s, :t, :j, 1) ON CONFLICT(id) DO UPDATE SET"
				 " heartbeat_at=:t, heartbeat_json=:j, heartbeat_dirty=1",
				DB_TEXT(":s", ctx->server), DB_REAL(":t", at), DB_TEXT(":j", text));
		if (rc >= 0)
			rc = cs_note_instances(ctx);   /* this clone's own id, as written */
	} else
		rc = DB_RUN(ctx, "INSERT INTO servers(id, status, status_at, status_json, status_dirty)"
				 " VALUES(:s, json_extract(:j, '$.status'), :t, :j, 1)"
				 " ON CONFLICT(id) DO UPDATE SET status=json_extract(:j, '$.status'),"
				 " status_at=:t, status_json=:j, status_dirty=1",
				DB_TEXT(":s", ctx->server), DB_REAL(":t", at), DB_TEXT(":j", text));
	free(text);
	return rc < 0 ? rc : CS_OK;
}

static int apply_msg(cs_ctx *ctx, const cJSON *in, double at)
{
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(in, "id"));
	const char *to = cJSON_GetStringValue(cJSON_GetObjectItem(in, "to"));
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(in, "type"));
	const char *subject = cJSON_GetStringValue(cJSON_GetObjectItem(in, "subject"));
	const char *body = cJSON_GetStringValue(cJSON_GetObjectItem(in, "body"));
	cJSON *o;
	char *text;
	long long have;
	int rc;

	if (!id || !to || !type || !subject)
		return cs_err(ctx, CS_ERROR, "malformed message intent");
	if ((rc = db_int(ctx, &have, "SELECT count(*) FROM messages WHERE id=:a", id)) || have)
		return rc;       /* already delivered */
	if (!(o = cJSON_CreateObject()))
		return cs_err_oom(ctx);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "from", ctx->server);
	cJSON_AddStringToObject(o, "to", to);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "subject", subject);
	if (body)
		cJSON_AddStringToObject(o, "body", body);
	else
		cJSON_AddNullToObject(o, "body");
	add_time(o, "timestamp", at);
	cJSON_AddFalseToObject(o, "read");
	if (cJSON_GetStringValue(cJSON_GetObjectItem(in, "in_reply_to")))
		cJSON_AddStringToObject(o, "in_reply_to",
					cJSON_GetStringValue(cJSON_GetObjectItem(in, "in_reply_to")));
	text = render(o, 4);
	cJSON_Delete(o);
	if (!text)
		return cs_err_oom(ctx);
	rc = model_add(ctx, "messages", NULL, text);
	free(text);
	return rc;
}

/* Whether every member name in o, at any depth, is valid UTF-8: the writer
 * turns other bytes into U+FFFD, so two names could become one. */
static int names_utf8(const cJSON *o)
{
	for (const cJSON *it = o ? o->child : NULL; it; it = it->next)
		if ((it->string && !utf8_ok(it->string)) || !names_utf8(it))
			return 0;
	return 1;
}

/* The members an intent sets (*set, detached from or made for p): its
 * "set_json" (each value's JSON text, as cs_status_set writes it) as raw
 * items, or the "set" object of an intent written before it.  An intent
 * that names a member twice, or whose text is not one JSON value, is an
 * error and is not applied. */
static int intent_set(cs_ctx *ctx, cJSON *p, cJSON **set)
{
	cJSON *sj = cJSON_GetObjectItemCaseSensitive(p, "set_json");
	const char *dup;
	int rc = CS_OK;

	*set = NULL;
	if (!sj) {
		*set = cJSON_DetachItemFromObjectCaseSensitive(p, "set");
		if (!*set && !(*set = cJSON_CreateObject()))
			return cs_err_oom(ctx);
	} else if (!cJSON_IsObject(sj)) {
		return cs_err(ctx, CS_ERROR, "malformed intent: 'set_json' is not an object");
	} else if (!(*set = cJSON_CreateObject())) {
		return cs_err_oom(ctx);
	} else {
		for (const cJSON *it = sj->child; it && !rc; it = it->next) {
			const char *t = cJSON_GetStringValue(it);
			cJSON *v = t && it->string ? exact_parse(t) : NULL;
			if (!v) {
				rc = cs_err(ctx, CS_ERROR, "malformed intent: the value of '%s' is not"
					    " one JSON value", it->string ? it->string : "");
				break;
			}
			if (!cJSON_AddItemToObject(*set, it->string, v)) {
				cJSON_Delete(v);
				rc = cs_err_oom(ctx);
			}
		}
	}
	if (!rc && !cJSON_IsObject(*set))
		rc = cs_err(ctx, CS_ERROR, "malformed intent: 'set' is not an object");
	if (!rc && cJSON_GetArraySize(*set) > CS_MAX_KV + 1)   /* --set and the status */
		rc = cs_err(ctx, CS_ERROR, "malformed intent: it sets more than %d members",
			    CS_MAX_KV + 1);
	if (!rc && !names_utf8(*set))
		rc = cs_err(ctx, CS_ERROR, "malformed intent: a member name is not valid UTF-8");
	if (!rc && (dup = twice(*set)))
		rc = cs_err(ctx, CS_ERROR, "malformed intent: it sets '%s' twice", dup);
	if (rc) {
		cJSON_Delete(*set);
		*set = NULL;
	}
	return rc;
}

static int apply_intent_as(cs_ctx *ctx, const char *kind, cJSON *p, sbuf *msg);

/* Apply one intent: kind is "status", "heartbeat" or "msg"; p its payload.
 * A payload marked "direct" (intent_fn) is applied now; any other comes
 * from the outbox.  A deferred intent is applied as the server that
 * recorded it (its "server", the command's --server), not as the clone's
 * server that happens to flush it; an intent written before it recorded
 * one is applied as ctx->server. */
static int apply_intent(cs_ctx *ctx, const char *kind, cJSON *p, sbuf *msg)
{
	cJSON *who = cJSON_GetObjectItemCaseSensitive(p, "server");
	const char *id = cJSON_GetStringValue(who);
	char *own = ctx->server;
	int rc;

	if (!who || (own && id && !strcmp(id, own)))
		return apply_intent_as(ctx, kind, p, msg);
	if (!id || !cs_valid_id(id) || cs_reserved_id(id))
		return cs_err(ctx, CS_ERROR, "malformed %s intent: invalid server id '%s'", kind,
			      id ? id : "");
	ctx->server = (char *)id;
	rc = apply_intent_as(ctx, kind, p, msg);
	ctx->server = own;
	return rc;
}

static int apply_intent_as(cs_ctx *ctx, const char *kind, cJSON *p, sbuf *msg)
{
	double at = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "at"));
	int direct = cJSON_IsTrue(cJSON_GetObjectItem(p, "direct"));
	cJSON *set;
	int rc;
	if (!(at >= CS_TIME_MIN && at <= CS_TIME_MAX))
		return cs_err(ctx, CS_ERROR, "malformed %s intent: no valid time 'at'", kind);
	if (!strcmp(kind, "msg")) {
		const char *to = cJSON_GetStringValue(cJSON_GetObjectItem(p, "to"));
		rc = apply_msg(ctx, p, at);
		sb_printf(msg, "Message from %s to %s", ctx->server, to ? to : "?");
		return rc;
	}
	if ((rc = intent_set(ctx, p, &set)))
		return rc;
	rc = apply_server_file(ctx, !strcmp(kind, "heartbeat"), set, at, direct);
	if (!strcmp(kind, "heartbeat")) {
		sb_printf(msg, "%s heartbeat", ctx->server);
	} else {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(set, "status"));
		sb_printf(msg, "%s status: %s", ctx->server, name ? name : "?");
	}
	cJSON_Delete(set);
	return rc;
}

typedef struct intent_arg {
	const char *kind;
	cJSON *payload;
	int applied;
	int check_to;         /* a message: its recipient must be a known server */
} intent_arg;

/* 1 when id is a server the remote knows: this one, one with a status.json
 * or heartbeat.json (a servers row), or a top-level directory of the tree
 * decided on (ctx->base), else of the last fetched remote head.  0 when
 * not; a negative code on error. */
static int known_server(cs_ctx *ctx, const char *id)
{
	git_tree *own = NULL;
	git_commit *c = NULL;
	git_oid head;
	const git_tree_entry *e;
	char ref[256];
	long long n = 0;
	int rc, yes = 0;

	if (ctx->server && !strcmp(id, ctx->server))
		return 1;
	if ((rc = db_int(ctx, &n, "SELECT count(*) FROM servers WHERE id=:a", id)))
		return rc;
	if (n)
		return 1;
	snprintf(ref, sizeof ref, "refs/remotes/origin/%s", ctx->branch);
	if (!ctx->base && !git_reference_name_to_id(&head, ctx->repo, ref) &&
	    !git_commit_lookup(&c, ctx->repo, &head))
		git_commit_tree(&own, c);
	git_error_clear();
	git_commit_free(c);
	if ((ctx->base || own) && (e = git_tree_entry_byname(ctx->base ? ctx->base : own, id)))
		yes = git_tree_entry_type(e) == GIT_OBJECT_TREE;
	git_tree_free(own);
	return yes;
}

/* CS_OK when a message may go to `to`: "all", or a known server.  Outside
 * a decision (a deferred message) the remote is as this clone last saw it. */
static int check_recipient(cs_ctx *ctx, const char *to)
{
	int rc;
	if (!strcmp(to, "all"))
		return CS_OK;
	if ((rc = known_server(ctx, to)) < 0)
		return rc;
	if (!rc)
		return cs_err(ctx, CS_EINVAL, "unknown recipient '%s': no server directory or heartbeat"
			      " on the remote%s (a typo?); --force sends it anyway", to,
			      ctx->base ? "" : " as of this clone's last sync");
	return CS_OK;
}

static int intent_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	intent_arg *a = p;
	cJSON *copy;
	int rc;
	if (a->check_to &&
	    (rc = check_recipient(ctx, cJSON_GetStringValue(cJSON_GetObjectItem(a->payload, "to")))))
		return rc;
	if (!(copy = cJSON_Duplicate(a->payload, 1)) || !cJSON_AddTrueToObject(copy, "direct")) {
		cJSON_Delete(copy);
		return cs_err_oom(ctx);
	}
	rc = apply_intent(ctx, a->kind, copy, msg);
	cJSON_Delete(copy);
	return rc;
}

/* Deliver now (one decision) or queue in the outbox.  check_to: a message
 * whose recipient must be known, checked in the decision, or for a deferred
 * one now, against the mirror and the last fetched head (so that an intent
 * never waits in the outbox for a server that does not exist). */
static int intent(cs_ctx *ctx, const char *kind, cJSON *payload, int defer, int check_to)
{
	intent_arg a = {kind, payload, 0, check_to && !defer};
	char *text;
	int rc = CS_OK;
	if (!ctx->server)
		rc = cs_err(ctx, CS_EINVAL, "no server id: pass --server or set coordsync.server");
	else if (!defer)
		rc = cs_decide(ctx, intent_fn, &a);
	else if (check_to &&
		 (rc = check_recipient(ctx, cJSON_GetStringValue(cJSON_GetObjectItem(payload, "to")))))
		rc = rc < 0 ? rc : CS_ERROR;   /* refused: nothing queued */
	else if (!cJSON_AddStringToObject(payload, "server", ctx->server) ||
		 !(text = cJSON_PrintUnformatted(payload)))
		rc = cs_err_oom(ctx);
	else {
		/* The outbox file, not the mirror: it waits for no decision's
		 * push and no rebuild replaces it (outbox.c). */
		rc = ob_add(ctx, kind, text);
		cJSON_free(text);
	}
	cJSON_Delete(payload);
	return rc;
}

/* The payload of a status intent: STATUS and the --set list, each value as
 * its JSON text in "set_json" (a string), so the outbox, which parses the
 * payload again, keeps numbers' digits; and "at", now. */
static int status_payload(cs_ctx *ctx, const char *status, const char *const *kv, int n,
			  cJSON **out)
{
	cJSON *p = NULL, *set = NULL, *sj = NULL;
	int rc;
	*out = NULL;
	if (!status || !*status)
		return cs_err(ctx, CS_EINVAL, "missing status");
	if ((rc = kv_object(ctx, kv, n, &set)))
		return rc;
	if (cJSON_GetObjectItemCaseSensitive(set, "status"))
		rc = cs_err(ctx, CS_EINVAL, "--set 'status' collides with the STATUS argument");
	else if (cJSON_GetObjectItemCaseSensitive(set, "timestamp"))
		rc = cs_err(ctx, CS_EINVAL, "'timestamp' is set by coordsync");
	else if (!(p = cJSON_CreateObject()) || !(sj = cJSON_AddObjectToObject(p, "set_json")))
		rc = cs_err_oom(ctx);
	if (!rc) {
		sbuf b = {0};
		json_put_string(&b, status);
		if (b.oom || !utf8_ok(status) || !cJSON_AddStringToObject(sj, "status", b.p))
			rc = b.oom ? cs_err_oom(ctx) : cs_err(ctx, CS_EINVAL, "status is not valid UTF-8");
		sb_free(&b);
	}
	for (const cJSON *it = set->child; it && !rc; it = it->next) {
		sbuf b = {0};
		json_put_value(&b, it, 0, 0);
		if (b.oom || !cJSON_AddStringToObject(sj, it->string, b.p))
			rc = cs_err_oom(ctx);
		sb_free(&b);
	}
	if (!rc && !cJSON_AddNumberToObject(p, "at", now_s()))
		rc = cs_err_oom(ctx);
	cJSON_Delete(set);
	if (rc)
		cJSON_Delete(p);
	else
		*out = p;
	return rc;
}

int cs_status_set(cs_ctx *ctx, const char *status, const char *const *kv, int n, int defer)
{
	cJSON *p;
	int rc = status_payload(ctx, status, kv, n, &p);
	return rc ? rc : intent(ctx, "status", p, defer, 0);
}

int ops_status_payload(cs_ctx *ctx, const char *status, const char *const *kv, int n, char **out)
{
	cJSON *p;
	int rc = status_payload(ctx, status, kv, n, &p);
	*out = NULL;
	if (rc)
		return rc;
	{
		char *t = cJSON_PrintUnformatted(p);
		if (!t || !(*out = strdup(t)))
			rc = cs_err_oom(ctx);
		cJSON_free(t);
	}
	cJSON_Delete(p);
	return rc;
}

int ops_intent_text(cs_ctx *ctx, const char *payload, const char *cur, char **out)
{
	cJSON *p = cJSON_Parse(payload), *set = NULL;
	double at;
	int rc;
	*out = NULL;
	if (!cJSON_IsObject(p)) {
		cJSON_Delete(p);
		return cs_err(ctx, CS_ERROR, "an intent is not a JSON object");
	}
	at = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "at"));
	if (!(at >= CS_TIME_MIN && at <= CS_TIME_MAX))
		rc = cs_err(ctx, CS_ERROR, "malformed intent: no valid time 'at'");
	else if (!(rc = intent_set(ctx, p, &set))) {
		/* as apply_server_file does */
		cJSON_DeleteItemFromObjectCaseSensitive(set, "timestamp");
		add_time(set, "timestamp", at);
		rc = server_file_text(ctx, cur, set, out);
	}
	cJSON_Delete(set);
	cJSON_Delete(p);
	return rc;
}

/* The heartbeat carries this clone's instance id (identity.c): two clones
 * that use one server id overwrite each other's, which health reports. */
int cs_heartbeat(cs_ctx *ctx, int defer)
{
	cJSON *p = cJSON_CreateObject(), *set = cJSON_CreateObject();
	char inst[37];
	int rc;
	if (!p || !set || !cJSON_AddItemToObject(p, "set", set)) {
		cJSON_Delete(p);
		cJSON_Delete(set);
		return cs_err_oom(ctx);
	}
	if (ctx->server && (rc = cs_instance(ctx, inst, 1))) {
		cJSON_Delete(p);
		return rc;
	}
	if (ctx->server)
		cJSON_AddStringToObject(set, "instance", inst);
	cJSON_AddNumberToObject(p, "at", now_s());
	return intent(ctx, "heartbeat", p, defer, 0);
}

int cs_msg_send(cs_ctx *ctx, char **id_out, const char *to, const char *type,
		const char *subject, const char *body, int defer)
{
	static const char *const types[] = {"info", "warning", "error", "request", NULL};
	cJSON *p;
	char *id;
	int ok = 0, rc;

	*id_out = NULL;
	for (int i = 0; types[i]; i++)
		ok |= type && !strcmp(type, types[i]);
	if (!ok)
		return cs_err(ctx, CS_EINVAL, "message type must be info, warning, error or request");
	if (!to || (strcmp(to, "all") && !cs_valid_id(to)))
		return cs_err(ctx, CS_EINVAL, "invalid recipient '%s'", to ? to : "");
	if (strcmp(to, "all") && cs_reserved_id(to))
		return cs_err(ctx, CS_EINVAL, "invalid recipient '%s': a reserved name, not a server", to);
	if (!subject || !*subject)
		return cs_err(ctx, CS_EINVAL, "missing subject");
	if (!(id = cs_uuid()) || !(p = cJSON_CreateObject())) {
		free(id);
		return cs_err_oom(ctx);
	}
	cJSON_AddStringToObject(p, "id", id);
	cJSON_AddStringToObject(p, "to", to);
	cJSON_AddStringToObject(p, "type", type);
	cJSON_AddStringToObject(p, "subject", subject);
	if (body)
		cJSON_AddStringToObject(p, "body", body);
	cJSON_AddNumberToObject(p, "at", now_s());
	if ((rc = intent(ctx, "msg", p, defer & CS_DEFER, !(defer & CS_FORCE))))
		free(id);
	else
		*id_out = id;
	return rc;
}

static int read_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	const char *id = p;
	char *to = NULL;
	int rc;
	if ((rc = db_text(ctx, &to, "SELECT to_server FROM messages WHERE id=:a", id)))
		return rc;
	if (!to)
		return cs_err(ctx, CS_ENOTFOUND, "no message '%s'", id);
	if (!strcmp(to, ctx->server)) {
		rc = DB_RUN(ctx, "UPDATE messages SET read=1, dirty=1 WHERE id=:i AND NOT"
				 " coalesce(read, 0)", DB_TEXT(":i", id));
	} else if (!strcmp(to, "all")) {
		/* A broadcast is read per server, in read_by; the seed's flag turns
		 * true once every other server the mirror knows of has read it:
		 * here any server that acts (a heartbeat or status, a job, a lock,
		 * a message sent), wider than fleet_ids, so that the flag does not
		 * hide it from a seed server without a heartbeat.  Recipients do
		 * not count: a typo is not a server. */
		rc = DB_RUN(ctx, "UPDATE messages SET read_by=json_insert(coalesce(read_by, '[]'),"
				 " '$[#]', :s), dirty=1 WHERE id=:i AND NOT EXISTS(SELECT 1 FROM"
				 " json_each(coalesce(read_by, '[]')) WHERE value=:s)",
				DB_TEXT(":i", id), DB_TEXT(":s", ctx->server));
		if (rc >= 0)
			rc = DB_RUN(ctx, "UPDATE messages SET read=1, dirty=1 WHERE id=:i AND NOT coalesce(read, 0)"
					 " AND NOT EXISTS(SELECT 1 FROM (SELECT id FROM servers"
					 "  UNION SELECT assigned_to FROM jobs WHERE assigned_to IS NOT NULL"
					 "  UNION SELECT locked_by FROM locks WHERE locked_by IS NOT NULL"
					 "  UNION SELECT from_server FROM messages WHERE from_server IS NOT NULL)"
					 " AS f WHERE f.id != from_server"
					 " AND f.id != :s AND f.id NOT IN (SELECT value FROM json_each(read_by)))",
					DB_TEXT(":i", id), DB_TEXT(":s", ctx->server));
	} else {
		rc = cs_err(ctx, CS_EREFUSED, "message '%s' is for %s, not %s", id, to, ctx->server);
	}
	free(to);
	if (rc >= 0)
		sb_printf(msg, "Message %s marked read by %s", id, ctx->server);
	return rc < 0 ? rc : CS_OK;
}

int cs_msg_read(cs_ctx *ctx, const char *id)
{
	if (!id || !*id)
		return cs_err(ctx, CS_EINVAL, "missing message id");
	return cs_decide(ctx, read_fn, (void *)id);
}

/* ---- the outbox ------------------------------------------------------------------ */

typedef struct flush_arg {
	ob_intent *it;
	int n;
	int count;          /* applied in the last attempt */
} flush_arg;

/* Apply every pending intent, each in a savepoint: one that fails is rolled
 * back and marked to be set aside, and the others still go out. */
static int outbox_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	flush_arg *a = p;
	int rc = CS_OK;

	a->count = 0;
	for (int i = 0; i < a->n && !rc; i++) {
		ob_intent *in = &a->it[i];
		cJSON *pl = cJSON_Parse(in->payload);
		sbuf one = {0};
		int bad;

		free(in->error);
		in->error = NULL;
		in->state = 0;
		if ((rc = db_exec(ctx, "SAVEPOINT intent")))
			break;
		if (!pl)
			bad = cs_err(ctx, CS_ERROR, "intent %lld is not JSON", in->seq);
		else if (!in->kind || (strcmp(in->kind, "msg") && strcmp(in->kind, "status") &&
				       strcmp(in->kind, "heartbeat")))
			bad = cs_err(ctx, CS_ERROR, "intent %lld has an unknown kind '%s'", in->seq,
				     in->kind ? in->kind : "");
		else
			bad = apply_intent(ctx, in->kind, pl, &one);
		cJSON_Delete(pl);
		if (bad) {
			in->state = -1;
			in->error = cs_strdup(ctx->err);
			if ((rc = db_exec(ctx, "ROLLBACK TO intent; RELEASE intent")))
				break;
			sb_free(&one);
			continue;
		}
		if ((rc = db_exec(ctx, "RELEASE intent")))
			break;
		CS_FAULT("outbox");
		if (!a->count)
			sb_put(msg, one.p, one.n);
		sb_free(&one);
		in->state = 1;
		a->count++;
	}
	if (!rc && a->count > 1) {
		msg->n = 0;
		sb_printf(msg, "%s: %d deferred updates", ctx->server, a->count);
	}
	if (!rc && !a->count)
		sb_printf(msg, "%s: deferred updates", ctx->server);   /* nothing changes */
	return rc;
}

/* Intents are deleted from the outbox file after the push that carries
 * them: a crash in between applies them again, which changes nothing.
 * One flush runs up to OB_FLUSH_ROUNDS decisions: after coordsync died
 * twice while pushing, ob_pending hands out one suspect intent at a time,
 * and a single decision would leave every other pending intent for later
 * cycles, one intent a cycle (history checker, seed 3: a burst of kill -9
 * left six deferred messages to a sync each).  The rounds end when the
 * outbox has nothing pending, or a decision fails. */
#define OB_FLUSH_ROUNDS 32

static int flush_round(cs_ctx *ctx, int *delivered, int *any)
{
	flush_arg a = {NULL, 0, 0};
	int rc;

	*delivered = 0;
	*any = 0;
	if ((rc = ob_pending(ctx, &a.it, &a.n)) || !a.n)
		goto done;
	*any = 1;
	if ((rc = cs_decide(ctx, outbox_fn, &a))) {
		/* Nothing went out: all stay pending, and this flush came back. */
		char saved[sizeof ctx->err];
		memcpy(saved, ctx->err, sizeof saved);
		for (int i = 0; i < a.n; i++)
			a.it[i].state = 0;
		ob_settle(ctx, a.it, a.n);
		memcpy(ctx->err, saved, sizeof saved);
		goto done;
	}
	for (int i = 0; i < a.n; i++)
		if (a.it[i].state < 0)
			cs_notice(ctx, "deferred %s intent %lld set aside: %s (see `coordsync outbox"
				  " list`)", a.it[i].kind ? a.it[i].kind : "?", a.it[i].seq,
				  a.it[i].error ? a.it[i].error : "");
	/* The decision is on the remote, and that is what counts: an outbox
	 * that cannot be written now (a full disk) is settled by the next
	 * sync, which applies the delivered intents again as no-ops; this
	 * flush then stops (another round would push them again). */
	if (ob_settle(ctx, a.it, a.n)) {
		cs_notice(ctx, "the deferred intents are on the remote but the outbox could not"
			  " record it: %s; the next sync applies them again, changing nothing",
			  ctx->err);
		*any = 0;
	}
	*delivered = a.count;
done:
	ob_free(a.it, a.n);
	return rc;
}

int cs_outbox_flush(cs_ctx *ctx, int *delivered)
{
	int rc = CS_OK, any = 1, n;

	*delivered = 0;
	for (int round = 0; round < OB_FLUSH_ROUNDS && any && !rc; round++) {
		rc = flush_round(ctx, &n, &any);
		*delivered += n;
	}
	return rc;
}

/* ---- auto-reply ---------------------------------------------------------------- */

typedef struct reply_arg {
	cJSON *rules;
	int replied, marked;
	sbuf log;
} reply_arg;

/* Case-insensitive substring test. */
static int contains_ci(const char *hay, const char *needle)
{
	return hay && needle && strcasestr(hay, needle) != NULL;
}

/* The rules of docs/auto_reply_rules.json at the remote head, checked. */
static int load_rules(cs_ctx *ctx, cJSON **out)
{
	char *text = NULL;
	size_t len;
	cJSON *doc = NULL;
	const cJSON *rules, *r;
	int rc;

	*out = NULL;
	if ((rc = cs_base_read(ctx, "docs/auto_reply_rules.json", &text, &len)) || !text)
		return rc;      /* no rules: nothing to do */
	doc = cJSON_ParseWithLength(text, len);
	rules = cJSON_GetObjectItemCaseSensitive(doc, "rules");
	if (!cJSON_IsArray(rules)) {
		rc = cs_err(ctx, CS_ERROR, "docs/auto_reply_rules.json: expected {\"rules\": [...]}");
		goto done;
	}
	cJSON_ArrayForEach(r, rules) {
		const char *act = cJSON_GetStringValue(cJSON_GetObjectItem(r, "action"));
		const cJSON *rep = cJSON_GetObjectItem(r, "reply");
		if (!cJSON_GetStringValue(cJSON_GetObjectItem(r, "contains")) || !act ||
		    (strcmp(act, "reply") && strcmp(act, "mark")) ||
		    (!strcmp(act, "reply") && !cJSON_GetStringValue(cJSON_GetObjectItem(rep, "subject")))) {
			rc = cs_err(ctx, CS_ERROR, "docs/auto_reply_rules.json: each rule needs \"contains\","
				    " \"action\" reply or mark, and a reply with a subject");
			goto done;
		}
	}
	*out = cJSON_DetachItemFromObject(doc, "rules");
done:
	cJSON_Delete(doc);
	free(text);
	return rc;
}

/* Append remote text s to an auto-reply log, whose contract is one line
 * per action: a line feed or carriage return in s is written as \n or \r,
 * the form the command line's escaping gives them (cli/format.c), which
 * escapes the rest when it prints the line. */
static void log_text(sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n' || *s == '\r')
			sb_puts(b, *s == '\n' ? "\\n" : "\\r");
		else
			sb_putc(b, *s);
	}
}

/* Every unread message to this server or to all, not from it, that a rule
 * matches: replied to and marked read, or only marked, all in one commit,
 * so a crash or a refused push never replies twice. */
static int reply_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	reply_arg *a = p;
	sqlite3_stmt *st = NULL;
	cJSON *pending = cJSON_CreateArray();
	const cJSON *row;
	int rc;

	a->replied = a->marked = 0;
	sb_free(&a->log);      /* a retry starts a fresh log */
	cJSON_Delete(a->rules);
	if ((rc = load_rules(ctx, &a->rules)) || !a->rules) {
		cJSON_Delete(pending);
		return rc;
	}
	if ((rc = db_prepare(ctx, &st,
			     "SELECT id, from_server, type, subject FROM messages"
			     " WHERE (to_server = :s OR (to_server = 'all' AND from_server IS NOT :s))"
			     " AND from_server IS NOT :s AND CASE WHEN to_server = 'all' THEN"
			     "   NOT (coalesce(read, 0) AND read_by IS NULL) AND NOT EXISTS(SELECT 1"
			     "   FROM json_each(coalesce(read_by, '[]')) WHERE value = :s)"
			     " ELSE NOT coalesce(read, 0) END ORDER BY timestamp, ord")) ||
	    (rc = db_bind_text(ctx, st, ":s", ctx->server)))
		goto done;
	/* Collect first: the loop below writes to the table being read. */
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		cJSON *m = cJSON_CreateArray();
		for (int i = 0; m && i < 4; i++) {
			const char *v = (const char *)sqlite3_column_text(st, i);
			cJSON_AddItemToArray(m, v ? cJSON_CreateString(v) : cJSON_CreateNull());
		}
		if (!m || !pending || !cJSON_AddItemToArray(pending, m)) {
			cJSON_Delete(m);
			rc = cs_err_oom(ctx);
			break;
		}
	}
	if (rc != SQLITE_DONE)
		goto done;
	rc = CS_OK;
	cJSON_ArrayForEach(row, pending) {
		const char *id = cJSON_GetStringValue(cJSON_GetArrayItem(row, 0));
		const char *from = cJSON_GetStringValue(cJSON_GetArrayItem(row, 1));
		const char *type = cJSON_GetStringValue(cJSON_GetArrayItem(row, 2));
		const char *subject = cJSON_GetStringValue(cJSON_GetArrayItem(row, 3));
		const cJSON *r, *hit = NULL;
		sbuf ignored = {0};
		cJSON_ArrayForEach(r, a->rules) {
			const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(r, "type"));
			if (contains_ci(subject, cJSON_GetStringValue(cJSON_GetObjectItem(r, "contains"))) &&
			    (!want || (type && !strcmp(want, type)))) {
				hit = r;
				break;
			}
		}
		if (!hit)
			continue;       /* no rule: stays unread */
		if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(hit, "action")), "reply")) {
			const cJSON *rep = cJSON_GetObjectItem(hit, "reply");
			const char *rt = cJSON_GetStringValue(cJSON_GetObjectItem(rep, "type"));
			char *rid = cs_uuid();
			cJSON *in = cJSON_CreateObject();
			if (!rid || !in || !from || !cs_valid_server_id(from)) {
				free(rid);
				cJSON_Delete(in);
				if (!rid || !in) {
					rc = cs_err_oom(ctx);
					break;
				}
				continue;   /* a sender we cannot address (or "all") */
			}
			cJSON_AddStringToObject(in, "id", rid);
			cJSON_AddStringToObject(in, "to", from);
			cJSON_AddStringToObject(in, "type", rt ? rt : "info");
			cJSON_AddStringToObject(in, "subject",
						cJSON_GetStringValue(cJSON_GetObjectItem(rep, "subject")));
			if (cJSON_GetStringValue(cJSON_GetObjectItem(rep, "body")))
				cJSON_AddStringToObject(in, "body",
							cJSON_GetStringValue(cJSON_GetObjectItem(rep, "body")));
			cJSON_AddStringToObject(in, "in_reply_to", id);
			rc = apply_msg(ctx, in, now_s());
			cJSON_Delete(in);
			if (!rc) {
				a->replied++;
				sb_puts(&a->log, "auto-reply: replied to ");
				log_text(&a->log, id);
				sb_puts(&a->log, " from ");
				log_text(&a->log, from);
				sb_puts(&a->log, " (\"");
				log_text(&a->log, subject ? subject : "");
				sb_printf(&a->log, "\") with %s\n", rid);
			}
			free(rid);
		} else {
			a->marked++;
			sb_puts(&a->log, "auto-reply: marked ");
			log_text(&a->log, id);
			sb_puts(&a->log, " from ");
			log_text(&a->log, from ? from : "?");
			sb_puts(&a->log, " (\"");
			log_text(&a->log, subject ? subject : "");
			sb_puts(&a->log, "\") read\n");
		}
		if (!rc)
			rc = read_fn(ctx, (void *)id, &ignored);
		sb_free(&ignored);
		if (rc)
			break;
	}
	sb_printf(msg, "%s: auto-reply (%d replied, %d marked read)", ctx->server, a->replied,
		  a->marked);
done:
	cJSON_Delete(pending);
	sqlite3_finalize(st);
	return rc;
}

int cs_autoreply(cs_ctx *ctx, int *replied, int *marked, char **log)
{
	reply_arg a = {NULL, 0, 0, {0}};
	int rc = cs_decide(ctx, reply_fn, &a);
	*replied = rc ? 0 : a.replied;
	*marked = rc ? 0 : a.marked;
	*log = rc ? NULL : sb_detach(&a.log);
	sb_free(&a.log);
	cJSON_Delete(a.rules);
	return rc;
}
