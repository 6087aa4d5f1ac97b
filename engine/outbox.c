/* The outbox: intents deferred with --defer, in their own SQLite file beside
 * the mirror (.git/coordsync/outbox.db, see docs/ARCHITECTURE.md).
 *
 * Why a file of its own: the mirror is a cache that `rebuild` replaces
 * whole, and a decision holds its write transaction from the decision to the
 * recorded push.  An intent written into the mirror could be lost to a
 * rebuild swapping the file, or wait behind a slow push.  The outbox file is
 * never replaced, and its write lock is only ever held for one local insert,
 * update or delete: never across a fetch or a push.
 *
 * An intent is deleted after the push that carries it; a crash in between
 * leaves it to be applied again, which changes nothing (every intent is
 * idempotent).  One that fails to apply is set aside with its error
 * (`error`, `failed_at`) and skipped until `outbox retry`.
 *
 * An intent that kills the process applying it (a crash in the patch code,
 * say) returns no error to set it aside with.  So a flush counts, in
 * `tries`, each flush that took an intent and never came back: after two
 * such deaths an intent is flushed alone, after three it is set aside, and
 * the others go out (OB_DEATHS).
 *
 * Below the file: the flush, one decision for all pending intents, each
 * applied by intent.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctx.h"
#include "util.h"
#include "fault.h"
#include "json_int.h"
#include "db.h"
#include "values.h"
#include "decide.h"
#include "lockstate.h"
#include "intent.h"
#include "outbox.h"

static const char *const outbox_schema =
	"CREATE TABLE IF NOT EXISTS outbox("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" kind TEXT NOT NULL,"          /* status, heartbeat, msg */
	" payload TEXT NOT NULL,"       /* the intent's JSON arguments */
	" created_at REAL NOT NULL,"
	" error TEXT,"                  /* set aside: why it did not apply */
	" failed_at REAL,"
	" tries INTEGER NOT NULL DEFAULT 0)";  /* flushes that took it and never returned */

/* The outbox file of ctx's mirror: outbox.db beside mirror.db, or, for a
 * mirror given by another name (--db FILE), FILE.outbox.  Caller frees. */
static char *outbox_path(cs_ctx *ctx)
{
	const char *base = strrchr(ctx->dbpath, '/');
	size_t dir = base ? (size_t)(base - ctx->dbpath) + 1 : 0;
	size_t n = strlen(ctx->dbpath) + 16;
	char *p = malloc(n);
	if (!p)
		return NULL;
	if (!strcmp(ctx->dbpath + dir, "mirror.db"))
		snprintf(p, n, "%.*soutbox.db", (int)dir, ctx->dbpath);
	else
		snprintf(p, n, "%s.outbox", ctx->dbpath);
	return p;
}

/* Open the outbox; with create, make it (and its table) when missing.
 * Without create, a missing file gives *out NULL and CS_OK: no intents. */
static int outbox_open(cs_ctx *ctx, sqlite3 **out, int create)
{
	char *path = outbox_path(ctx);
	int rc = CS_OK;

	*out = NULL;
	if (!path)
		return ctx_err_oom(ctx);
	if (!create && access(path, F_OK)) {
		free(path);
		return CS_OK;
	}
	if (sqlite3_open_v2(path, out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = ctx_err(ctx, CS_ERROR, "cannot open the outbox '%s': %s", path,
			    *out ? sqlite3_errmsg(*out) : "out of memory");
		goto fail;
	}
	/* Writers wait for each other only, each for one short statement. */
	sqlite3_busy_timeout(*out, 10000);
	sqlite3_extended_result_codes(*out, 1);
	/* Not a cache: an intent whose command exited 0 must survive a power
	 * loss, hence synchronous=FULL. */
	if (sqlite3_exec(*out, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    sqlite3_exec(*out, outbox_schema, NULL, NULL, NULL) != SQLITE_OK) {
		rc = ctx_err_db(ctx, *out);   /* names the file on a full disk */
		goto fail;
	}
	free(path);
	return CS_OK;
fail:
	sqlite3_close(*out);
	*out = NULL;
	free(path);
	return rc;
}

/* Run sql on ob with up to two binds: ":i" (integer, when i is not -1) and
 * ":e" (text).  The rows changed, or a negative code. */
static int outbox_exec(cs_ctx *ctx, sqlite3 *ob, const char *sql, long long i, const char *e)
{
	sqlite3_stmt *st = NULL;
	int rc, k;
	if (sqlite3_prepare_v2(ob, sql, -1, &st, NULL) != SQLITE_OK)
		return ctx_err_db(ctx, ob);
	if ((k = sqlite3_bind_parameter_index(st, ":i")))
		sqlite3_bind_int64(st, k, i);
	if ((k = sqlite3_bind_parameter_index(st, ":e")))
		sqlite3_bind_text(st, k, e, -1, SQLITE_TRANSIENT);
	if ((k = sqlite3_bind_parameter_index(st, ":t")))
		sqlite3_bind_double(st, k, util_now());
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? sqlite3_changes(ob) : ctx_err_db(ctx, ob);
	sqlite3_finalize(st);
	return rc;
}

/* Move intents a previous version left in the mirror's own `outbox` table
 * into the outbox file.  Copied first, then deleted from the mirror: a crash
 * between the two copies them again, and a copy of an intent already there
 * (same kind and payload) is skipped, so none is lost or doubled. */
static int outbox_migrate(cs_ctx *ctx, sqlite3 *ob)
{
	sqlite3_stmt *st = NULL, *ins = NULL;
	long long n = 0, last = 0;
	int rc;

	if ((rc = db_int(ctx, &n, "SELECT count(*) FROM outbox", NULL)) || !n)
		return rc;
	if (sqlite3_exec(ob, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return ctx_err_db(ctx, ob);
	if ((rc = db_prepare(ctx, &st, "SELECT seq, kind, payload, created_at FROM outbox ORDER BY seq")))
		goto done;
	if (sqlite3_prepare_v2(ob, "INSERT INTO outbox(kind, payload, created_at) SELECT ?1, ?2, ?3"
			       " WHERE NOT EXISTS(SELECT 1 FROM outbox WHERE kind=?1 AND payload=?2)",
			       -1, &ins, NULL) != SQLITE_OK) {
		rc = ctx_err_db(ctx, ob);
		goto done;
	}
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, (const char *)sqlite3_column_text(st, 1), -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 2, (const char *)sqlite3_column_text(st, 2), -1, SQLITE_TRANSIENT);
		sqlite3_bind_double(ins, 3, sqlite3_column_double(st, 3));
		if (sqlite3_step(ins) != SQLITE_DONE) {
			rc = ctx_err_db(ctx, ob);
			goto done;
		}
		last = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE)
		goto done;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(ob, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = ctx_err_db(ctx, ob);
		goto done;
	}
	if (!(rc = db_prepare(ctx, &st, "DELETE FROM outbox WHERE seq <= :l")) &&
	    !(rc = db_bind_int(ctx, st, ":l", last)) && (rc = db_step(ctx, st)) == SQLITE_DONE)
		rc = CS_OK;
done:
	sqlite3_finalize(st);
	sqlite3_finalize(ins);
	if (sqlite3_get_autocommit(ob) == 0)
		sqlite3_exec(ob, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Open the outbox, creating it, with any intents left in the mirror moved
 * in. */
static int outbox_ready(cs_ctx *ctx, sqlite3 **ob)
{
	int rc = outbox_open(ctx, ob, 1);
	if (!rc && (rc = outbox_migrate(ctx, *ob))) {
		sqlite3_close(*ob);
		*ob = NULL;
	}
	return rc;
}

/* The same for reading and editing: no outbox file is made where there are
 * no intents (*ob NULL, CS_OK). */
static int outbox_existing(cs_ctx *ctx, sqlite3 **ob)
{
	long long legacy;
	int rc;
	*ob = NULL;
	if ((rc = db_int(ctx, &legacy, "SELECT count(*) FROM outbox", NULL)))
		return rc;
	return legacy ? outbox_ready(ctx, ob) : outbox_open(ctx, ob, 0);
}

int outbox_add(cs_ctx *ctx, const char *kind, const char *payload)
{
	sqlite3 *ob;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = outbox_open(ctx, &ob, 1)))
		return rc;
	if (sqlite3_prepare_v2(ob, "INSERT INTO outbox(kind, payload, created_at) VALUES(?1, ?2, ?3)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = ctx_err_db(ctx, ob);
	} else {
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, payload, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 3, util_now());
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = ctx_err_db(ctx, ob);
	}
	sqlite3_finalize(st);
	sqlite3_close(ob);
	return rc;
}

void outbox_intents_free(outbox_intent *it, int n)
{
	for (int i = 0; it && i < n; i++) {
		free(it[i].kind);
		free(it[i].payload);
		free(it[i].error);
	}
	free(it);
}

#define OB_DEATHS 3

int outbox_pending(cs_ctx *ctx, outbox_intent **out, int *n)
{
	sqlite3 *ob;
	sqlite3_stmt *st = NULL;
	outbox_intent *it = NULL;
	int rc, cap = 0;
	long long alone = 0, waiting;

	*out = NULL;
	*n = 0;
	if ((rc = outbox_existing(ctx, &ob)) || !ob)
		return rc;
	/* Nothing pending (the usual case): no write at all. */
	if (sqlite3_prepare_v2(ob, "SELECT count(*) FROM outbox WHERE error IS NULL", -1, &st,
			       NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		rc = ctx_err_db(ctx, ob);
		goto done;
	}
	waiting = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (!waiting)
		goto done;
	/* Deaths first: set aside what took the process down OB_DEATHS times;
	 * flush alone the oldest that did so twice.  All in one short write,
	 * with the count of this flush added. */
	if (sqlite3_exec(ob, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = ctx_err_db(ctx, ob);
		goto done;
	}
	if ((rc = outbox_exec(ctx, ob, "UPDATE outbox SET error=:e, failed_at=:t, tries=0 WHERE error IS NULL"
				   " AND tries >= 3", -1, "coordsync died 3 times while pushing this intent"
				   " (a crash, or killed); set aside so that the others go out")) < 0)
		goto done;
	if (rc > 0)
		ctx_notice(ctx, "%d deferred intent%s set aside: coordsync died 3 times while pushing"
			  " %s (see `coordsync outbox list`)", rc, rc == 1 ? "" : "s",
			  rc == 1 ? "it" : "them");
	if (sqlite3_prepare_v2(ob, "SELECT min(seq) FROM outbox WHERE error IS NULL AND tries >= 2",
			       -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		rc = ctx_err_db(ctx, ob);
		goto done;
	}
	alone = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = outbox_exec(ctx, ob, alone ? "UPDATE outbox SET tries=tries + 1 WHERE seq=:i"
					 : "UPDATE outbox SET tries=tries + 1 WHERE error IS NULL",
			  alone, NULL)) < 0)
		goto done;
	if (sqlite3_exec(ob, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = ctx_err_db(ctx, ob);
		goto done;
	}
	if (sqlite3_prepare_v2(ob, "SELECT seq, kind, payload FROM outbox WHERE error IS NULL"
			       " AND (?1 = 0 OR seq = ?1) ORDER BY seq", -1, &st, NULL) != SQLITE_OK) {
		rc = ctx_err_db(ctx, ob);
		goto done;
	}
	sqlite3_bind_int64(st, 1, alone);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			outbox_intent *g = realloc(it, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *g);
			if (!g) {
				rc = ctx_err_oom(ctx);
				goto done;
			}
			it = g;
		}
		memset(&it[*n], 0, sizeof *it);
		it[*n].seq = sqlite3_column_int64(st, 0);
		it[*n].kind = util_strdup((const char *)sqlite3_column_text(st, 1));
		it[*n].payload = util_strdup((const char *)sqlite3_column_text(st, 2));
		if (!it[(*n)++].payload) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
	}
	rc = rc == SQLITE_DONE ? CS_OK : ctx_err_db(ctx, ob);
done:
	sqlite3_finalize(st);
	if (sqlite3_get_autocommit(ob) == 0)
		sqlite3_exec(ob, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(ob);
	if (rc) {
		outbox_intents_free(it, *n);
		it = NULL;
		*n = 0;
	}
	*out = it;
	return rc;
}

int outbox_settle(cs_ctx *ctx, outbox_intent *it, int n)
{
	sqlite3 *ob;
	int rc;

	if ((rc = outbox_open(ctx, &ob, 1)))
		return rc;
	if (sqlite3_exec(ob, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = ctx_err_db(ctx, ob);
		goto done;
	}
	for (int i = 0; i < n && rc >= 0; i++) {
		if (it[i].state > 0)
			rc = outbox_exec(ctx, ob, "DELETE FROM outbox WHERE seq=:i", it[i].seq, NULL);
		else if (it[i].state < 0)
			rc = outbox_exec(ctx, ob, "UPDATE outbox SET error=:e, failed_at=:t, tries=0 WHERE seq=:i",
				     it[i].seq, it[i].error ? it[i].error : "failed to apply");
		else    /* the flush came back: it did not die on this one */
			rc = outbox_exec(ctx, ob, "UPDATE outbox SET tries=0 WHERE seq=:i", it[i].seq, NULL);
	}
	if (rc >= 0 && sqlite3_exec(ob, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = ctx_err_db(ctx, ob);
	if (sqlite3_get_autocommit(ob) == 0)
		sqlite3_exec(ob, "ROLLBACK", NULL, NULL, NULL);
	rc = rc < 0 ? rc : CS_OK;
done:
	sqlite3_close(ob);
	return rc;
}

/* ---- the public commands ------------------------------------------------- */

int cs_outbox_list(cs_ctx *ctx, cs_intent_fn fn, void *arg)
{
	sqlite3 *ob;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = outbox_existing(ctx, &ob)) || !ob)
		return rc;
	if (sqlite3_prepare_v2(ob, "SELECT seq, kind, payload, created_at, error, failed_at"
			       " FROM outbox ORDER BY seq", -1, &st, NULL) != SQLITE_OK) {
		rc = ctx_err_db(ctx, ob);
		goto done;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cs_intent in = {sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
				(const char *)sqlite3_column_text(st, 2), sqlite3_column_double(st, 3),
				(const char *)sqlite3_column_text(st, 4), sqlite3_column_double(st, 5)};
		if ((rc = fn(&in, arg)))
			goto done;
	}
	rc = rc == SQLITE_DONE ? CS_OK : ctx_err_db(ctx, ob);
done:
	sqlite3_finalize(st);
	sqlite3_close(ob);
	return rc;
}

int cs_outbox_retry(cs_ctx *ctx, long long id, int *n)
{
	sqlite3 *ob;
	int rc;

	*n = 0;
	if ((rc = outbox_existing(ctx, &ob)))
		return rc;
	if (!ob)
		return id > 0 ? ctx_err(ctx, CS_ENOTFOUND, "no intent %lld in the outbox", id) : CS_OK;
	rc = id > 0 ? outbox_exec(ctx, ob, "UPDATE outbox SET error=NULL, failed_at=NULL WHERE seq=:i"
				       " AND error IS NOT NULL", id, NULL)
		    : outbox_exec(ctx, ob, "UPDATE outbox SET error=NULL, failed_at=NULL"
				       " WHERE error IS NOT NULL", -1, NULL);
	if (rc >= 0)
		*n = rc;
	if (rc == 0 && id > 0) {
		long long have = 0;
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(ob, "SELECT count(*) FROM outbox WHERE seq=?1", -1, &st,
				       NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, id);
			if (sqlite3_step(st) == SQLITE_ROW)
				have = sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
		rc = have ? ctx_err(ctx, CS_EREFUSED, "intent %lld is not set aside; it goes out"
				   " with the next sync", id)
			  : ctx_err(ctx, CS_ENOTFOUND, "no intent %lld in the outbox", id);
	}
	sqlite3_close(ob);
	return rc < 0 ? rc : CS_OK;
}

int cs_outbox_drop(cs_ctx *ctx, long long id)
{
	sqlite3 *ob;
	int rc;

	if ((rc = outbox_existing(ctx, &ob)))
		return rc;
	if (!ob)
		return ctx_err(ctx, CS_ENOTFOUND, "no intent %lld in the outbox", id);
	rc = outbox_exec(ctx, ob, "DELETE FROM outbox WHERE seq=:i", id, NULL);
	if (rc == 0)
		rc = ctx_err(ctx, CS_ENOTFOUND, "no intent %lld in the outbox", id);
	sqlite3_close(ob);
	return rc < 0 ? rc : CS_OK;
}

int cs_outbox_count(cs_ctx *ctx, long long *pending, long long *held)
{
	sqlite3 *ob;
	sqlite3_stmt *st = NULL;
	long long legacy = 0;
	int rc;

	*pending = *held = 0;
	/* Reads only: intents a previous version left in the mirror count as
	 * pending until the next sync moves them. */
	if ((rc = db_int(ctx, &legacy, "SELECT count(*) FROM outbox", NULL)))
		return rc;
	if ((rc = outbox_open(ctx, &ob, 0)) || !ob) {
		*pending = legacy;
		return rc;
	}
	if (sqlite3_prepare_v2(ob, "SELECT count(*) FILTER (WHERE error IS NULL),"
			       " count(*) FILTER (WHERE error IS NOT NULL) FROM outbox", -1, &st,
			       NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		rc = ctx_err_db(ctx, ob);
	} else {
		*pending = sqlite3_column_int64(st, 0) + legacy;
		*held = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	sqlite3_close(ob);
	return rc;
}

/* ---- the flush --------------------------------------------------------------- */

typedef struct flush_arg {
	outbox_intent *it;
	int n;
	int count;          /* applied in the last attempt */
	int held_back;      /* messages left pending: another server holds message_queue */
	char why[1024];     /* ... and who, until when (as ctx->err) */
} flush_arg;

/* Apply every pending intent, each in a savepoint: one that fails is rolled
 * back and marked to be set aside, and the others still go out. */
static int outbox_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	flush_arg *a = p;
	int rc = CS_OK;

	a->count = 0;
	a->held_back = 0;
	for (int i = 0; i < a->n && !rc; i++) {
		outbox_intent *in = &a->it[i];
		cJSON *pl;
		sbuf one = {0};
		int bad, held = 0;

		free(in->error);
		in->error = NULL;
		in->state = 0;
		/* A deferred message waits, as a direct one does, while another
		 * server holds the seed's message_queue (lockstate.h). */
		if (in->kind && !strcmp(in->kind, "msg")) {
			rc = lockstate_respect(ctx, LOCKSTATE_SEED_MSGS, "send", &held);
			if (rc == CS_EREFUSED && held) {
				if (!a->held_back++)
					snprintf(a->why, sizeof a->why, "%s", ctx->err);
				rc = CS_OK;
				continue;
			}
			if (rc)
				break;
		}
		pl = cJSON_Parse(in->payload);
		if ((rc = db_exec(ctx, "SAVEPOINT intent")))
			break;
		if (!pl)
			bad = ctx_err(ctx, CS_ERROR, "intent %lld is not JSON", in->seq);
		else if (!in->kind || (strcmp(in->kind, "msg") && strcmp(in->kind, "status") &&
				       strcmp(in->kind, "heartbeat")))
			bad = ctx_err(ctx, CS_ERROR, "intent %lld has an unknown kind '%s'", in->seq,
				     in->kind ? in->kind : "");
		else
			bad = intent_apply(ctx, in->kind, pl, &one);
		cJSON_Delete(pl);
		if (bad) {
			in->state = -1;
			in->error = util_strdup(ctx->err);
			if ((rc = db_exec(ctx, "ROLLBACK TO intent; RELEASE intent")))
				break;
			sb_free(&one);
			continue;
		}
		if ((rc = db_exec(ctx, "RELEASE intent")))
			break;
		FAULT_AT("outbox");
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
 * twice while pushing, outbox_pending hands out one suspect intent at a time,
 * and a single decision would leave every other pending intent for later
 * cycles, one intent a cycle (history checker, seed 3: a burst of kill -9
 * left six deferred messages to a sync each).  The rounds end when the
 * outbox has nothing pending, or a decision fails. */
#define OB_FLUSH_ROUNDS 32

static int flush_round(cs_ctx *ctx, int *delivered, int *any)
{
	flush_arg a = {NULL, 0, 0, 0, ""};
	int rc;

	*delivered = 0;
	*any = 0;
	if ((rc = outbox_pending(ctx, &a.it, &a.n)) || !a.n)
		goto done;
	*any = 1;
	if ((rc = decide_run(ctx, outbox_fn, &a))) {
		/* Nothing went out: all stay pending, and this flush came back. */
		char saved[sizeof ctx->err];
		memcpy(saved, ctx->err, sizeof saved);
		for (int i = 0; i < a.n; i++)
			a.it[i].state = 0;
		outbox_settle(ctx, a.it, a.n);
		memcpy(ctx->err, saved, sizeof saved);
		goto done;
	}
	for (int i = 0; i < a.n; i++)
		if (a.it[i].state < 0)
			ctx_notice(ctx, "deferred %s intent %lld set aside: %s (see `coordsync outbox"
				  " list`)", a.it[i].kind ? a.it[i].kind : "?", a.it[i].seq,
				  a.it[i].error ? a.it[i].error : "");
	/* The decision is on the remote, and that is what counts: an outbox
	 * that cannot be written now (a full disk) is settled by the next
	 * sync, which applies the delivered intents again as no-ops; this
	 * flush then stops (another round would push them again). */
	if (outbox_settle(ctx, a.it, a.n)) {
		ctx_notice(ctx, "the deferred intents are on the remote but the outbox could not"
			  " record it: %s; the next sync applies them again, changing nothing",
			  ctx->err);
		*any = 0;
	}
	*delivered = a.count;
	/* Held-back messages stay pending for the next sync; another round
	 * now would only find them held back again. */
	if (a.held_back) {
		ctx_notice(ctx, "%d deferred message%s not sent yet: %s", a.held_back,
			  a.held_back == 1 ? "" : "s", a.why);
		*any = 0;
	}
done:
	outbox_intents_free(a.it, a.n);
	return rc;
}

int outbox_flush(cs_ctx *ctx, int *delivered)
{
	int rc = CS_OK, any = 1, n;

	*delivered = 0;
	for (int round = 0; round < OB_FLUSH_ROUNDS && any && !rc; round++) {
		rc = flush_round(ctx, &n, &any);
		*delivered += n;
	}
	return rc;
}
