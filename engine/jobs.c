/* The job decisions: add, claim, done, fail, requeue, cancel and rescue.
 * Each is a decide_fn: SQL over the freshly imported mirror that marks
 * the records it changes dirty; decide_run turns that into one commit and
 * one push. */
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "util.h"
#include "json_int.h"
#include "db.h"
#include "clock.h"
#include "kinds.h"
#include "values.h"
#include "export.h"
#include "decide.h"
#include "lockstate.h"

/* One job to add: its id and its fields beyond coordsync's own (checked
 * by job_kv_check; numbers raw, as values_kv_object makes them). */
typedef struct job_new {
	char *id;
	cJSON *set;
} job_new;

typedef struct job_arg {
	const char *id;
	const char *text;
	int priority, max_attempts, older_than;
	job_new *jobs;        /* add: njobs of them, in one decision */
	int njobs;
	char *out_id;
	int count;
	int held;             /* claim: refused for the seed's job_assignment */
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
					       ? ctx_err(ctx, CS_EINVAL, "use --id to set a job's id")
					       : ctx_err(ctx, CS_EINVAL, "--set '%s': a job's %s is set by"
							" its life (claim, done, fail, rescue), not by job add",
							k, k);
		if (strcmp(k, "priority") && strcmp(k, "max_attempts") && strcmp(k, "run_after"))
			continue;
		/* A raw item is a number: its text as given. */
		v = cJSON_IsRaw(it) ? cJSON_Parse(it->valuestring) : cJSON_Duplicate(it, 1);
		if (!v)
			return ctx_err_oom(ctx);
		if (!strcmp(k, "run_after")) {
			ok = cJSON_IsNull(v) || !kinds_time_value(v, &d);
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
				rc = ctx_err(ctx, CS_EINVAL, "--set 'run_after': %s is not a time"
					    " (ISO-8601 or epoch seconds, years 1 to 9999)", b.p ? b.p : "?");
			else
				rc = ctx_err(ctx, CS_EINVAL, "--set '%s': %s is not an integer from %d to %d",
					    k, b.p ? b.p : "?", strcmp(k, "priority") ? 1 : -JOB_PRIORITY_MAX,
					    strcmp(k, "priority") ? JOB_MAX_ATTEMPTS_MAX : JOB_PRIORITY_MAX);
			sb_free(&b);
			return rc;
		}
	}
	return CS_OK;
}

/* Add job j (job_add_fn's part for one): CS_EREFUSED when its id exists. */
static int job_add_one(cs_ctx *ctx, const job_arg *a, const job_new *j, double now)
{
	cJSON *o = cJSON_CreateObject(), *set = cJSON_Duplicate(j->set, 1);
	char *text = NULL;
	long long n;
	int rc;

	if (!o || !set) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if ((rc = job_kv_check(ctx, set)))
		goto done;
	if ((rc = db_int(ctx, &n, "SELECT count(*) FROM jobs WHERE id=:a", j->id)))
		goto done;
	if (n) {
		rc = ctx_err(ctx, CS_EREFUSED, "job '%s' already exists", j->id);
		goto done;
	}
	cJSON_AddStringToObject(o, "id", j->id);
	cJSON_AddStringToObject(o, "status", "queued");
	cJSON_AddNullToObject(o, "assigned_to");
	if (!cJSON_GetObjectItemCaseSensitive(set, "priority"))
		cJSON_AddNumberToObject(o, "priority", a->priority);
	values_add_time(o, "created_at", now);
	cJSON_AddNullToObject(o, "started_at");
	cJSON_AddNumberToObject(o, "attempts", 0);
	if (!cJSON_GetObjectItemCaseSensitive(set, "max_attempts"))
		cJSON_AddNumberToObject(o, "max_attempts", a->max_attempts);
	/* The --set members go after coordsync's own, each once. */
	while (set->child) {
		cJSON *it = cJSON_DetachItemViaPointer(set, set->child);
		cJSON_AddItemToObject(o, it->string, it);
	}
	if (!(text = values_render(o, 4))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	/* The columns come from the record itself, so --set priority=3 and the
	 * like are typed, and checked, as an import would type them. */
	rc = export_add(ctx, "jobs", NULL, text);
done:
	free(text);
	cJSON_Delete(set);
	cJSON_Delete(o);
	return rc;
}

static int job_add_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	job_arg *a = p;
	double now = values_now();
	int rc = CS_OK;

	for (int i = 0; i < a->njobs && !rc; i++)
		if ((rc = job_add_one(ctx, a, &a->jobs[i], now)) && a->njobs > 1)
			rc = ctx_err(ctx, rc, "job %d of %d ('%s'): %s", i + 1, a->njobs,
				    a->jobs[i].id, ctx->err);
	if (!rc && a->njobs == 1)
		sb_printf(msg, "Job %s added by %s", a->jobs[0].id, ctx->server);
	else if (!rc)
		sb_printf(msg, "%d jobs added by %s (%s ... %s)", a->njobs, ctx->server,
			  a->jobs[0].id, a->jobs[a->njobs - 1].id);
	return rc;
}

static int job_claim_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	job_arg *a = p;
	double now = values_now();
	int rc;

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
			rc = ctx_err(ctx, CS_ERROR, "cannot claim: 'coordination/jobs.json' does not"
				    " import: %s", err);
			free(err);
			return rc;
		}
		return ctx_err(ctx, CS_EREFUSED, "no queued job");
	}
	/* A seed server claims under job_assignment with commits of its own
	 * and runs the job whether or not its claim was pushed: while another
	 * server holds it, do not claim (checked on the state decided on, so
	 * a grant pushed after this fetch makes our push a refused CAS). */
	if ((rc = lockstate_respect(ctx, LOCKSTATE_SEED_JOBS, "claim", &a->held)))
		return rc;
	rc = DB_RUN(ctx, "UPDATE jobs SET status='running', assigned_to=:s, started_at=:t,"
			 " attempts=coalesce(attempts, 0) + 1, fence=coalesce(fence, 0) + 1,"
			 " dirty=1 WHERE id=:i",
			DB_TEXT(":s", ctx->server), DB_REAL(":t", now),
			DB_TEXT(":i", a->out_id));
	if (rc >= 0)
		sb_printf(msg, "Job %s claimed by %s", a->out_id, ctx->server);
	return rc < 0 ? rc : CS_OK;
}

static int job_rescue_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	job_arg *a = p;
	clock_reading boot;
	int rc;

	/* Stale means quiet for older_than seconds by evidence this host
	 * can trust, never by another server's timestamps: the claim,
	 * and the holder's heartbeat if it has one, have not changed
	 * while this host watched them (its boot clock), or commits of
	 * two other clocks went on that long after them (watch_quiet).
	 * A clone that has watched nothing yet and has no such commits
	 * waits older_than seconds of its own. */
	if ((rc = clock_boot(ctx, &boot)))
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

/* Done, fail, requeue, cancel: job id must exist.  *cur (malloc'd) says
 * how it is, "STATUS HOLDER", for a refusal's message. */
static int job_find(cs_ctx *ctx, const char *id, char **cur)
{
	int rc;
	if ((rc = db_text(ctx, cur, "SELECT status || ' ' || coalesce(assigned_to, '') FROM jobs"
				    " WHERE id=:a", id)))
		return rc;
	if (!*cur)
		return ctx_err(ctx, CS_ENOTFOUND, "no job '%s'", id);
	return CS_OK;
}

/* Done, fail, requeue: CS_OK when job id is running on this server, else
 * CS_ENOTFOUND or CS_EREFUSED. */
static int job_held(cs_ctx *ctx, const char *id)
{
	char *cur = NULL;
	int rc;

	if ((rc = job_find(ctx, id, &cur)))
		return rc;
	/* Only the holder finishes a running job.  A rescue requeues it and
	 * raises its fence, so a late finish from the old holder lands here. */
	rc = DB_RUN(ctx, "SELECT 1 FROM jobs WHERE id=:i AND status='running' AND assigned_to=:s",
			DB_TEXT(":i", id), DB_TEXT(":s", ctx->server));
	if (rc == 0)
		rc = ctx_err(ctx, CS_EREFUSED, "job '%s' is not running on %s (it is %s)", id,
			    ctx->server, cur);
	free(cur);
	return rc < 0 ? rc : CS_OK;
}

static int job_cancel_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	job_arg *a = p;
	double now = values_now();
	char *cur = NULL;
	int rc;

	if ((rc = job_find(ctx, a->id, &cur)))
		return rc;
	rc = DB_RUN(ctx, "UPDATE jobs SET status='cancelled', completed_at=:t, dirty=1"
			 " WHERE id=:i AND status IN ('queued', 'running')",
			DB_REAL(":t", now), DB_TEXT(":i", a->id));
	if (rc == 0)
		rc = ctx_err(ctx, CS_EREFUSED, "cannot cancel '%s': it is %s", a->id, cur);
	else if (rc > 0)
		sb_printf(msg, "Job %s cancelled by %s", a->id, ctx->server);
	free(cur);
	return rc < 0 ? rc : CS_OK;
}

static int job_requeue_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	job_arg *a = p;
	int rc;

	if ((rc = job_held(ctx, a->id)))
		return rc;
	/* As a rescue does: the attempt stays counted, the fence rises,
	 * so the claim that was not delivered can finish nothing. */
	rc = DB_RUN(ctx, "UPDATE jobs SET status='queued', assigned_to=NULL, started_at=NULL,"
			 " fence=coalesce(fence, 0) + 1, error=:e, dirty=1 WHERE id=:i",
			DB_TEXT(":e", a->text), DB_TEXT(":i", a->id));
	sb_printf(msg, "Job %s requeued by %s: claim not delivered", a->id, ctx->server);
	return rc < 0 ? rc : CS_OK;
}

/* Finish job a->id, held by this server (job_held), with sql, which binds
 * :t (now), :x (a->text) and :i (the id). */
static int job_finish(cs_ctx *ctx, job_arg *a, const char *sql)
{
	int rc;
	if ((rc = job_held(ctx, a->id)))
		return rc;
	rc = DB_RUN(ctx, sql, DB_REAL(":t", values_now()), DB_TEXT(":x", a->text),
		    DB_TEXT(":i", a->id));
	return rc < 0 ? rc : CS_OK;
}

static int job_done_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	job_arg *a = p;
	int rc = job_finish(ctx, a, "UPDATE jobs SET status='done', completed_at=:t, result=:x,"
				    " dirty=1 WHERE id=:i");
	if (!rc)
		sb_printf(msg, "Job %s done by %s", a->id, ctx->server);
	return rc;
}

static int job_fail_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	job_arg *a = p;
	/* Retry with exponential backoff while attempts remain. */
	int rc = job_finish(ctx, a, "UPDATE jobs SET error=:x, dirty=1,"
			    " status=CASE WHEN coalesce(attempts, 1) < coalesce(max_attempts, 1)"
			    "   THEN 'queued' ELSE 'failed' END,"
			    " assigned_to=CASE WHEN coalesce(attempts, 1) < coalesce(max_attempts, 1)"
			    "   THEN NULL ELSE assigned_to END,"
			    " run_after=CASE WHEN coalesce(attempts, 1) < coalesce(max_attempts, 1)"
			    "   THEN :t + min(3600, 15 * (1 << max(0, min(coalesce(attempts, 1) - 1, 8))))"
			    "   ELSE run_after END,"
			    " completed_at=CASE WHEN coalesce(attempts, 1) < coalesce(max_attempts, 1)"
			    "   THEN NULL ELSE :t END"
			    " WHERE id=:i");
	if (!rc)
		sb_printf(msg, "Job %s failed on %s", a->id, ctx->server);
	return rc;
}

int cs_job_add(cs_ctx *ctx, char **id_out, const char *id, int priority,
	       const char *const *kv, int n)
{
	job_new j = {NULL, NULL};
	job_arg a = {NULL, NULL, priority, 1, 0, &j, 1, NULL, 0, 0};
	int rc;
	*id_out = NULL;
	if (id && (rc = values_check_name(ctx, "job id", id)))
		return rc;
	if (!(j.id = id ? strdup(id) : util_uuid()))
		return ctx_err_oom(ctx);
	/* The --set list is checked before any work (and again in job_add_fn). */
	if (!(rc = values_kv_object(ctx, kv, n, &j.set)) && !(rc = job_kv_check(ctx, j.set)))
		rc = decide_run(ctx, job_add_fn, &a);
	cJSON_Delete(j.set);
	if (rc)
		free(j.id);
	else
		*id_out = j.id;
	return rc;
}

#define JOB_BATCH_MAX 100000

/* Entry i (0-based) of a batch, object e, as *j: its "id" (or a new
 * UUID) and the rest as its fields, checked as job add checks --set. */
static int job_batch_entry(cs_ctx *ctx, const cJSON *e, job_new *j)
{
	cJSON *idv;
	int n = 0;
	if (!cJSON_IsObject(e))
		return ctx_err(ctx, CS_EINVAL, "not a JSON object");
	if (!(j->set = cJSON_Duplicate(e, 1)))
		return ctx_err_oom(ctx);
	for (const cJSON *it = j->set->child; it; it = it->next) {
		if (strlen(it->string) >= 128)
			return ctx_err(ctx, CS_EINVAL, "a key is longer than 127 bytes");
		n++;
	}
	if (n > CTX_MAX_KV + 1)
		return ctx_err(ctx, CS_EINVAL, "more than %d fields", CTX_MAX_KV + 1);
	if ((idv = cJSON_DetachItemFromObjectCaseSensitive(j->set, "id"))) {
		int ok = cJSON_IsString(idv);
		if (ok)
			j->id = strdup(idv->valuestring);
		cJSON_Delete(idv);
		if (!ok)
			return ctx_err(ctx, CS_EINVAL, "'id' is not a string");
		if (!j->id)
			return ctx_err_oom(ctx);
		if (!cs_valid_id(j->id))
			return ctx_err(ctx, CS_EINVAL, "invalid job id '%s': use 1-64 of"
				      " [A-Za-z0-9._-], no leading dot", j->id);
	} else if (!(j->id = util_uuid())) {
		return ctx_err_oom(ctx);
	}
	return job_kv_check(ctx, j->set);
}

static int by_id(const void *x, const void *y)
{
	const job_new *const *a = x, *const *b = y;
	int c = strcmp((*a)->id, (*b)->id);
	return c ? c : (*a > *b) - (*a < *b);
}

/* CS_EINVAL naming the first job whose id an earlier one has (and the
 * first that has it), as the jobs come; sorted, not pair by pair, so that
 * 100,000 jobs cost n log n comparisons, not n * n / 2. */
static int job_batch_dup(cs_ctx *ctx, job_new *jobs, int n)
{
	job_new **v = malloc((size_t)n * sizeof *v);
	long i = -1, k = -1;
	if (!v)
		return ctx_err_oom(ctx);
	for (int x = 0; x < n; x++)
		v[x] = &jobs[x];
	qsort(v, (size_t)n, sizeof *v, by_id);
	/* In a run of one id, in the jobs' order: the second is a duplicate of
	 * the first.  The earliest such second is the one to name. */
	for (int x = 1; x < n; x++)
		if (!strcmp(v[x]->id, v[x - 1]->id) && (x < 2 || strcmp(v[x - 1]->id, v[x - 2]->id)) &&
		    (i < 0 || v[x] - jobs < i)) {
			i = v[x] - jobs;
			k = v[x - 1] - jobs;
		}
	free(v);
	if (i < 0)
		return CS_OK;
	return ctx_err(ctx, CS_EINVAL, "job %ld of %d: id '%s' is also job %ld's", i + 1, n,
		       jobs[i].id, k + 1);
}

int cs_job_add_batch(cs_ctx *ctx, char ***ids_out, int *n_out, const char *text, size_t len)
{
	job_arg a = {NULL, NULL, 5, 1, 0, NULL, 0, NULL, 0, 0};
	cJSON *arr = NULL;
	char *t = NULL, **ids = NULL;
	int rc = CS_OK, n = 0;
	size_t skip;

	*ids_out = NULL;
	*n_out = 0;
	if (memchr(text, 0, len))
		return ctx_err(ctx, CS_EINVAL, "the jobs hold a NUL byte");
	/* Whitespace around the array is no part of it (a file ends in a
	 * newline); offsets in messages count from the start of text. */
	skip = json_skip_ws(text, len, 0);
	while (len > skip && strchr(" \t\r\n", text[len - 1]))
		len--;
	if (!(t = strndup(text + skip, len - skip)))
		return ctx_err_oom(ctx);
	len -= skip;
	if (!(arr = values_exact_parse(t))) {
		size_t at = json_text_check(t, len), err_at = 0;
		int line, col;
		cJSON *v = at == len ? json_parse_span(t, 0, len, &err_at) : NULL;
		if (v) {
			cJSON_Delete(v);
			rc = ctx_err(ctx, CS_EINVAL, "the jobs are not one JSON array: an object holds"
				    " a key twice");
		} else {
			json_linecol(text, skip + (at == len ? err_at : at), &line, &col);
			rc = ctx_err(ctx, CS_EINVAL, "the jobs are not one JSON array: invalid JSON at"
				    " line %d, column %d", line, col);
		}
		goto done;
	}
	if (!cJSON_IsArray(arr)) {
		rc = ctx_err(ctx, CS_EINVAL, "the jobs are not a JSON array of job objects");
		goto done;
	}
	n = cJSON_GetArraySize(arr);
	if (n < 1 || n > JOB_BATCH_MAX) {
		rc = ctx_err(ctx, CS_EINVAL, "%d jobs: give 1 to %d", n, JOB_BATCH_MAX);
		goto done;
	}
	if (!(a.jobs = calloc((size_t)n, sizeof *a.jobs))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	a.njobs = n;
	/* Every entry is checked before anything is decided. */
	{
		int i = 0;
		for (const cJSON *e = arr->child; e && !rc; e = e->next, i++)
			if ((rc = job_batch_entry(ctx, e, &a.jobs[i])))
				rc = ctx_err(ctx, rc, "job %d of %d%s%s%s: %s", i + 1, n,
					    a.jobs[i].id ? " ('" : "", a.jobs[i].id ? a.jobs[i].id : "",
					    a.jobs[i].id ? "')" : "", ctx->err);
		if (!rc)
			rc = job_batch_dup(ctx, a.jobs, n);
	}
	if (rc || (rc = decide_run(ctx, job_add_fn, &a)))
		goto done;
	if (!(ids = calloc((size_t)n, sizeof *ids))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	for (int i = 0; i < n; i++) {
		ids[i] = a.jobs[i].id;
		a.jobs[i].id = NULL;
	}
	*ids_out = ids;
	*n_out = n;
done:
	for (int i = 0; i < a.njobs; i++) {
		free(a.jobs[i].id);
		cJSON_Delete(a.jobs[i].set);
	}
	free(a.jobs);
	cJSON_Delete(arr);
	free(t);
	return rc;
}

void cs_job_ids_free(char **ids, int n)
{
	for (int i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}

int cs_job_record(cs_ctx *ctx, char **out, const char *id)
{
	char *t = NULL, *full = NULL;
	cJSON *o = NULL, *idv;
	sbuf b = {0};
	int rc;

	*out = NULL;
	if (!id || !*id)
		return ctx_err(ctx, CS_EINVAL, "missing job id");
	/* A unique prefix stands for its id, as in job_op. */
	if ((rc = cs_id_resolve(ctx, "job", id, &full)))
		return rc;
	if (full)
		id = full;
	if ((rc = db_text(ctx, &t, "SELECT json FROM jobs WHERE id=:a", id)))
		goto done;
	if (!t) {
		rc = ctx_err(ctx, CS_ENOTFOUND, "no job '%s'", id);
		goto done;
	}
	if (!(o = values_exact_parse(t)) || !cJSON_IsObject(o)) {
		rc = ctx_err(ctx, CS_ERROR, "job '%s': its record does not parse", id);
		goto done;
	}
	/* The id first, as coordsync writes it, whoever wrote this record. */
	if ((idv = cJSON_DetachItemFromObjectCaseSensitive(o, "id")) &&
	    !cJSON_InsertItemInArray(o, 0, idv)) {
		cJSON_Delete(idv);
		rc = ctx_err_oom(ctx);
		goto done;
	}
	json_put_value(&b, o, 0, 0);
	if (!(*out = sb_detach(&b)))
		rc = ctx_err_oom(ctx);
done:
	sb_free(&b);
	cJSON_Delete(o);
	free(t);
	free(full);
	return rc;
}

int cs_job_claim(cs_ctx *ctx, char **id_out)
{
	job_arg a = {NULL, NULL, 0, 0, 0, NULL, 0, NULL, 0, 0};
	int rc = lockstate_wait_run(ctx, job_claim_fn, &a, &a.held);
	*id_out = NULL;
	if (rc)
		free(a.out_id);
	else
		*id_out = a.out_id;
	return rc;
}

static int job_op(cs_ctx *ctx, decide_fn fn, const char *id, const char *text)
{
	job_arg a = {id, text, 0, 0, 0, NULL, 0, NULL, 0, 0};
	char *full = NULL;
	int rc;
	if (!id || !*id)
		return ctx_err(ctx, CS_EINVAL, "missing job id");
	/* A unique prefix stands for its id; the decision sees the whole id. */
	if ((rc = cs_id_resolve(ctx, "job", id, &full)))
		return rc;
	if (full)
		a.id = full;
	rc = decide_run(ctx, fn, &a);
	free(full);
	return rc;
}

int cs_job_done(cs_ctx *ctx, const char *id, const char *result)
{
	return job_op(ctx, job_done_fn, id, result);
}

int cs_job_fail(cs_ctx *ctx, const char *id, const char *error)
{
	return job_op(ctx, job_fail_fn, id, error);
}

int cs_job_requeue(cs_ctx *ctx, const char *id, const char *why)
{
	return job_op(ctx, job_requeue_fn, id, why);
}

int cs_job_cancel(cs_ctx *ctx, const char *id)
{
	return job_op(ctx, job_cancel_fn, id, NULL);
}

int cs_job_rescue(cs_ctx *ctx, int older_than, int *rescued)
{
	job_arg a = {NULL, NULL, 0, 0, older_than, NULL, 0, NULL, 0, 0};
	int rc = decide_run(ctx, job_rescue_fn, &a);
	*rescued = a.count;
	return rc;
}
