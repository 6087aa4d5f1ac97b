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

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run sql with named binds given as ":name", type ('t' text, 'i' int, 'r'
 * real), value... ending with NULL.  Returns the number of rows changed, or
 * a negative code. */
static int exec_binds(cs_ctx *ctx, const char *sql, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	const char *name;
	int rc = CS_OK;

	if ((rc = db_prepare(ctx, &st, sql)))
		return rc;
	va_start(ap, sql);
	while (!rc && (name = va_arg(ap, const char *))) {
		int t = va_arg(ap, int);
		if (t == 't')
			rc = db_bind_text(ctx, st, name, va_arg(ap, const char *));
		else if (t == 'i')
			rc = db_bind_int(ctx, st, name, va_arg(ap, long long));
		else
			rc = db_bind_real(ctx, st, name, va_arg(ap, double));
	}
	va_end(ap);
	if (!rc && (rc = db_step(ctx, st)) == SQLITE_DONE)
		rc = sqlite3_stmt_readonly(st) ? 0 : sqlite3_changes(ctx->db);
	else if (rc == SQLITE_ROW)
		rc = 1;
	sqlite3_finalize(st);
	return rc;
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

/* "KEY=VALUE": VALUE is JSON when it parses as JSON, else a string. */
static int add_kv(cs_ctx *ctx, cJSON *o, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char key[128];
	cJSON *v;
	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key)
		return cs_err(ctx, CS_EINVAL, "expected KEY=VALUE, not '%s'", kv);
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = 0;
	if (!(v = cJSON_Parse(eq + 1)))
		v = cJSON_CreateString(eq + 1);
	if (!v)
		return cs_err_oom(ctx);
	if (cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, v);
	else
		cJSON_AddItemToObject(o, key, v);
	return CS_OK;
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
	double expires = 0, free_after = 0;
	long long fence = 0;
	int rc, exists = 0;

	if (a->op == 'c') {
		rc = exec_binds(ctx, "UPDATE locks SET locked_by=NULL, locked_at=NULL, expires_at=NULL,"
				     " dirty=1 WHERE locked_by IS NOT NULL AND expires_at < :t AND"
				     " (locked_by = :s OR coalesce((SELECT free_after FROM lock_free_after a"
				     "  WHERE a.name = locks.name), 0) < :t)",
				":t", 'r', now - ctx->lock_delay, ":s", 't', ctx->server, NULL);
		if (rc < 0)
			return rc;
		a->released = rc;
		sb_puts(msg, "Cleanup expired locks");
		return CS_OK;
	}
	if ((rc = db_prepare(ctx, &st, "SELECT locked_by, expires_at, max(coalesce(fence, 0),"
				       " coalesce((SELECT fence FROM lock_fences f WHERE f.name=l.name), 0)),"
				       " (SELECT free_after FROM lock_free_after a WHERE a.name=l.name)"
				       " FROM locks l WHERE name=:n")) ||
	    (rc = db_bind_text(ctx, st, ":n", a->name)))
		goto done;
	if ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		exists = 1;
		holder = (const char *)sqlite3_column_text(st, 0);
		expires = sqlite3_column_double(st, 1);
		fence = sqlite3_column_int64(st, 2);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			free_after = sqlite3_column_double(st, 3);
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
	 * has watched it for its lease (lock_free_after): a clock minutes
	 * ahead, here or at the holder, would otherwise take a live lock. */
	int free_now = !holder || (expires + ctx->lock_delay < now &&
				   free_after + ctx->lock_delay < now);

	if (a->op == 'x') {
		if (!mine) {
			rc = cs_err(ctx, CS_EREFUSED, "cannot release '%s': %s", a->name,
				    holder ? "held by another server" : "not held");
			if (holder)
				cs_err(ctx, CS_EREFUSED, "cannot release '%s': held by %s", a->name, holder);
			goto done;
		}
		rc = exec_binds(ctx, "UPDATE locks SET locked_by=NULL, locked_at=NULL, expires_at=NULL,"
				     " dirty=1 WHERE name=:n", ":n", 't', a->name, NULL);
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
				    ceil(free_after + ctx->lock_delay - now));
		else
			rc = cs_err(ctx, CS_EREFUSED, "cannot lock '%s': held by %s until %s", a->name,
				    holder, iso);
		goto done;
	}
	if (!mine)
		fence++;   /* a new grant */
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
		rc = exec_binds(ctx, "UPDATE locks SET locked_by=:s, locked_at=CASE WHEN :m THEN"
				     " coalesce(locked_at, :t) ELSE :t END, expires_at=:e, fence=:f,"
				     " dirty=1 WHERE name=:n",
				":n", 't', a->name, ":s", 't', ctx->server, ":m", 'i', (long long)mine,
				":t", 'r', now, ":e", 'r', now + a->ttl, ":f", 'i', fence, NULL);
	}
	if (rc >= 0)
		rc = exec_binds(ctx, "INSERT INTO lock_fences(name, fence) VALUES(:n, :f) ON CONFLICT(name)"
				     " DO UPDATE SET fence=max(fence, excluded.fence)",
				":n", 't', a->name, ":f", 'i', fence, NULL);
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
	double deadline = mono() + (wait > 0 ? wait : 0);
	int rc;
	if ((rc = check_name(ctx, "lock name", name)))
		return rc;
	if (ttl <= 0)
		return cs_err(ctx, CS_EINVAL, "--ttl must be positive");
	for (;;) {
		rc = cs_decide(ctx, lock_fn, &a);
		if (rc != CS_EREFUSED || mono() >= deadline)
			return rc;
		/* Poll: at most once a second, as the seed's min(5, ttl/10). */
		double left = deadline - mono();
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
	int op;               /* 'a' add, 'c' claim, 'd' done, 'f' fail, 'x' cancel, 'r' rescue */
	const char *id;
	const char *text;
	int priority, max_attempts, older_than;
	const char *const *kv;
	int nkv;
	char *out_id;
	int count;
} job_arg;

static int job_add(cs_ctx *ctx, job_arg *a, sbuf *msg)
{
	double now = now_s();
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	long long n;
	int rc;

	if (!o)
		return cs_err_oom(ctx);
	if ((rc = db_int(ctx, &n, "SELECT count(*) FROM jobs WHERE id=:a", a->out_id)))
		goto done;
	if (n) {
		rc = cs_err(ctx, CS_EREFUSED, "job '%s' already exists", a->out_id);
		goto done;
	}
	cJSON_AddStringToObject(o, "id", a->out_id);
	cJSON_AddStringToObject(o, "status", "queued");
	cJSON_AddNullToObject(o, "assigned_to");
	cJSON_AddNumberToObject(o, "priority", a->priority);
	add_time(o, "created_at", now);
	cJSON_AddNullToObject(o, "started_at");
	cJSON_AddNumberToObject(o, "attempts", 0);
	cJSON_AddNumberToObject(o, "max_attempts", a->max_attempts);
	for (int i = 0; i < a->nkv && !rc; i++)
		rc = add_kv(ctx, o, a->kv[i]);
	if (rc)
		goto done;
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
		rc = exec_binds(ctx, "UPDATE jobs SET status='running', assigned_to=:s, started_at=:t,"
				     " attempts=coalesce(attempts, 0) + 1, fence=coalesce(fence, 0) + 1,"
				     " dirty=1 WHERE id=:i",
				":s", 't', ctx->server, ":t", 'r', now, ":i", 't', a->out_id, NULL);
		if (rc >= 0)
			sb_printf(msg, "Job %s claimed by %s", a->out_id, ctx->server);
		return rc < 0 ? rc : CS_OK;
	case 'r':
		rc = exec_binds(ctx, "UPDATE jobs SET status='queued', assigned_to=NULL, started_at=NULL,"
				     " fence=coalesce(fence, 0) + 1, dirty=1"
				     " WHERE status='running' AND coalesce(started_at, 0) <= :old AND"
				     " coalesce((SELECT heartbeat_at FROM servers WHERE id=assigned_to), 0) <= :old",
				":old", 'r', now - a->older_than, NULL);
		if (rc < 0)
			return rc;
		a->count = rc;
		sb_printf(msg, "Rescued %d job%s for %s", rc, rc == 1 ? "" : "s", ctx->server);
		return CS_OK;
	}
	/* done, fail, cancel: the job must exist and be in a fitting state. */
	if ((rc = db_text(ctx, &cur, "SELECT status || ' ' || coalesce(assigned_to, '') FROM jobs"
				     " WHERE id=:a", a->id)))
		return rc;
	if (!cur)
		return cs_err(ctx, CS_ENOTFOUND, "no job '%s'", a->id);
	if (a->op == 'x') {
		rc = exec_binds(ctx, "UPDATE jobs SET status='cancelled', completed_at=:t, dirty=1"
				     " WHERE id=:i AND status IN ('queued', 'running')",
				":t", 'r', now, ":i", 't', a->id, NULL);
		if (rc == 0)
			rc = cs_err(ctx, CS_EREFUSED, "cannot cancel '%s': it is %s", a->id, cur);
		else if (rc > 0)
			sb_printf(msg, "Job %s cancelled by %s", a->id, ctx->server);
		free(cur);
		return rc < 0 ? rc : CS_OK;
	}
	/* Only the holder finishes a running job.  A rescue requeues it and
	 * raises its fence, so a late finish from the old holder lands here. */
	rc = exec_binds(ctx, "SELECT 1 FROM jobs WHERE id=:i AND status='running' AND assigned_to=:s",
			":i", 't', a->id, ":s", 't', ctx->server, NULL);
	if (rc == 0) {
		rc = cs_err(ctx, CS_EREFUSED, "job '%s' is not running on %s (it is %s)", a->id,
			    ctx->server, cur);
		free(cur);
		return rc;
	}
	free(cur);
	if (rc < 0)
		return rc;
	if (a->op == 'd') {
		rc = exec_binds(ctx, "UPDATE jobs SET status='done', completed_at=:t, result=:r, dirty=1"
				     " WHERE id=:i",
				":t", 'r', now, ":r", 't', a->text, ":i", 't', a->id, NULL);
		sb_printf(msg, "Job %s done by %s", a->id, ctx->server);
	} else {
		/* Retry with exponential backoff while attempts remain. */
		rc = exec_binds(ctx, "UPDATE jobs SET error=:e, dirty=1,"
				     " status=CASE WHEN coalesce(attempts, 1) < coalesce(max_attempts, 1)"
				     "   THEN 'queued' ELSE 'failed' END,"
				     " assigned_to=CASE WHEN coalesce(attempts, 1) < coalesce(max_attempts, 1)"
				     "   THEN NULL ELSE assigned_to END,"
				     " run_after=CASE WHEN coalesce(attempts, 1) < coalesce(max_attempts, 1)"
				     "   THEN :t + min(3600, 15 * (1 << (coalesce(attempts, 1) - 1)))"
				     "   ELSE run_after END,"
				     " completed_at=CASE WHEN coalesce(attempts, 1) < coalesce(max_attempts, 1)"
				     "   THEN NULL ELSE :t END"
				     " WHERE id=:i",
				":e", 't', a->text, ":t", 'r', now, ":i", 't', a->id, NULL);
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
	for (int i = 0; i < n; i++)
		if (!strncmp(kv[i], "id=", 3)) {
			free(a.out_id);
			return cs_err(ctx, CS_EINVAL, "use --id to set a job's id");
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

/* Set members of this server's status.json or heartbeat.json. */
static int apply_server_file(cs_ctx *ctx, int heartbeat, cJSON *set, double at)
{
	const char *col = heartbeat ? "heartbeat_json" : "status_json";
	char sql[256], *cur = NULL, *text = NULL;
	const char *keys[CS_MAX_KV + 2];
	char *vals[CS_MAX_KV + 2];
	int n = 0, rc;
	const cJSON *it;

	add_time(set, "timestamp", at);
	snprintf(sql, sizeof sql, "SELECT %s FROM servers WHERE id=:a", col);
	if ((rc = db_text(ctx, &cur, sql, ctx->server)))
		return rc;
	if (cur) {
		cJSON_ArrayForEach(it, set) {
			sbuf b = {0};
			if (n == CS_MAX_KV + 2)
				break;
			json_put_value(&b, it, 2, 2);
			keys[n] = it->string;
			if (!(vals[n++] = sb_detach(&b))) {
				n--;
				rc = cs_err_oom(ctx);
				break;
			}
		}
		if (!rc)
			rc = model_patch(ctx, cur, keys, vals, n, &text);
		for (int i = 0; i < n; i++)
			free(vals[i]);
	} else if (!(text = render(set, 0))) {
		rc = cs_err_oom(ctx);
	}
	free(cur);
	if (rc)
		return rc;
	if (heartbeat)
		rc = exec_binds(ctx, "INSERT INTO servers(id, heartbeat_at, heartbeat_json, heartbeat_dirty)"
				     " VALUES(:s, :t, :j, 1) ON CONFLICT(id) DO UPDATE SET"
				     " heartbeat_at=:t, heartbeat_json=:j, heartbeat_dirty=1",
				":s", 't', ctx->server, ":t", 'r', at, ":j", 't', text, NULL);
	else
		rc = exec_binds(ctx, "INSERT INTO servers(id, status, status_at, status_json, status_dirty)"
				     " VALUES(:s, json_extract(:j, '$.status'), :t, :j, 1)"
				     " ON CONFLICT(id) DO UPDATE SET status=json_extract(:j, '$.status'),"
				     " status_at=:t, status_json=:j, status_dirty=1",
				":s", 't', ctx->server, ":t", 'r', at, ":j", 't', text, NULL);
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

/* Apply one intent: kind is "status", "heartbeat" or "msg"; p its payload. */
static int apply_intent(cs_ctx *ctx, const char *kind, cJSON *p, sbuf *msg)
{
	double at = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "at"));
	cJSON *set;
	int rc;
	if (!strcmp(kind, "msg")) {
		const char *to = cJSON_GetStringValue(cJSON_GetObjectItem(p, "to"));
		rc = apply_msg(ctx, p, at);
		sb_printf(msg, "Message from %s to %s", ctx->server, to ? to : "?");
		return rc;
	}
	set = cJSON_DetachItemFromObject(p, "set");
	if (!set && !(set = cJSON_CreateObject()))
		return cs_err_oom(ctx);
	rc = apply_server_file(ctx, !strcmp(kind, "heartbeat"), set, at);
	if (!strcmp(kind, "heartbeat"))
		sb_printf(msg, "%s heartbeat", ctx->server);
	else
		sb_printf(msg, "%s status: %s", ctx->server,
			  cJSON_GetStringValue(cJSON_GetObjectItem(set, "status")));
	cJSON_Delete(set);
	return rc;
}

typedef struct intent_arg {
	const char *kind;
	cJSON *payload;
	int applied;
} intent_arg;

static int intent_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	intent_arg *a = p;
	cJSON *copy = cJSON_Duplicate(a->payload, 1);
	int rc;
	if (!copy)
		return cs_err_oom(ctx);
	rc = apply_intent(ctx, a->kind, copy, msg);
	cJSON_Delete(copy);
	return rc;
}

/* Deliver now (one decision) or queue in the outbox. */
static int intent(cs_ctx *ctx, const char *kind, cJSON *payload, int defer)
{
	intent_arg a = {kind, payload, 0};
	char *text;
	int rc;
	if (!ctx->server)
		rc = cs_err(ctx, CS_EINVAL, "no server id: pass --server or set coordsync.server");
	else if (!defer)
		rc = cs_decide(ctx, intent_fn, &a);
	else if (!(text = cJSON_PrintUnformatted(payload)))
		rc = cs_err_oom(ctx);
	else {
		rc = exec_binds(ctx, "INSERT INTO outbox(kind, payload, created_at) VALUES(:k, :p, :t)",
				":k", 't', kind, ":p", 't', text, ":t", 'r', cs_now(), NULL);
		rc = rc < 0 ? rc : CS_OK;
		cJSON_free(text);
	}
	cJSON_Delete(payload);
	return rc;
}

int cs_status_set(cs_ctx *ctx, const char *status, const char *const *kv, int n, int defer)
{
	cJSON *p = cJSON_CreateObject(), *set = cJSON_CreateObject();
	int rc = CS_OK;
	if (!p || !set) {
		cJSON_Delete(p);
		cJSON_Delete(set);
		return cs_err_oom(ctx);
	}
	cJSON_AddItemToObject(p, "set", set);
	cJSON_AddNumberToObject(p, "at", now_s());
	if (!status || !*status)
		rc = cs_err(ctx, CS_EINVAL, "missing status");
	else if (n > CS_MAX_KV)
		rc = cs_err(ctx, CS_EINVAL, "at most %d --set", CS_MAX_KV);
	for (int i = 0; i < n && !rc; i++)
		if (!(rc = add_kv(ctx, set, kv[i])) && cJSON_GetObjectItem(set, "timestamp"))
			rc = cs_err(ctx, CS_EINVAL, "'timestamp' is set by coordsync");
	if (rc) {
		cJSON_Delete(p);
		return rc;
	}
	cJSON_AddStringToObject(set, "status", status);
	return intent(ctx, "status", p, defer);
}

int cs_heartbeat(cs_ctx *ctx, int defer)
{
	cJSON *p = cJSON_CreateObject();
	if (!p)
		return cs_err_oom(ctx);
	cJSON_AddNumberToObject(p, "at", now_s());
	return intent(ctx, "heartbeat", p, defer);
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
	if ((rc = intent(ctx, "msg", p, defer)))
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
		rc = exec_binds(ctx, "UPDATE messages SET read=1, dirty=1 WHERE id=:i AND NOT"
				     " coalesce(read, 0)", ":i", 't', id, NULL);
	} else if (!strcmp(to, "all")) {
		/* A broadcast is read per server, in read_by; the seed's flag turns
		 * true once every other server the mirror knows of has read it. */
		rc = exec_binds(ctx, "UPDATE messages SET read_by=json_insert(coalesce(read_by, '[]'),"
				     " '$[#]', :s), dirty=1 WHERE id=:i AND NOT EXISTS(SELECT 1 FROM"
				     " json_each(coalesce(read_by, '[]')) WHERE value=:s)",
				":i", 't', id, ":s", 't', ctx->server, NULL);
		if (rc >= 0)
			rc = exec_binds(ctx, "UPDATE messages SET read=1, dirty=1 WHERE id=:i AND NOT coalesce(read, 0)"
					     " AND NOT EXISTS(SELECT 1 FROM fleet_ids AS f WHERE f.id != from_server"
					     " AND f.id != :s AND f.id NOT IN (SELECT value FROM json_each(read_by)))",
					":i", 't', id, ":s", 't', ctx->server, NULL);
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

static int outbox_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	int *count = p;
	sqlite3_stmt *st = NULL;
	long long last = 0;
	int rc;

	*count = 0;
	if ((rc = db_prepare(ctx, &st, "SELECT seq, kind, payload FROM outbox ORDER BY seq")))
		return rc;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		cJSON *pl = cJSON_Parse((const char *)sqlite3_column_text(st, 2));
		sbuf one = {0};
		if (!pl) {
			rc = cs_err(ctx, CS_ERROR, "outbox entry %lld is not JSON",
				    (long long)sqlite3_column_int64(st, 0));
			break;
		}
		rc = apply_intent(ctx, (const char *)sqlite3_column_text(st, 1), pl, &one);
		cJSON_Delete(pl);
		if (rc) {
			sb_free(&one);
			break;
		}
		CS_FAULT("outbox");
		if (!*count)
			sb_put(msg, one.p, one.n);
		sb_free(&one);
		last = sqlite3_column_int64(st, 0);
		(*count)++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;
	if (*count > 1) {
		msg->n = 0;
		sb_printf(msg, "%s: %d deferred updates", ctx->server, *count);
	}
	/* Gone in the same transaction as the push that carries them. */
	rc = exec_binds(ctx, "DELETE FROM outbox WHERE seq <= :l", ":l", 'i', last, NULL);
	return rc < 0 ? rc : CS_OK;
}

int cs_outbox_flush(cs_ctx *ctx, int *delivered)
{
	long long n;
	int rc;
	*delivered = 0;
	if ((rc = db_int(ctx, &n, "SELECT count(*) FROM outbox", NULL)) || !n)
		return rc;
	return cs_decide(ctx, outbox_fn, delivered);
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
			if (!rid || !in || !from || !cs_valid_id(from)) {
				free(rid);
				cJSON_Delete(in);
				if (!rid || !in) {
					rc = cs_err_oom(ctx);
					break;
				}
				continue;   /* a sender we cannot address */
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
