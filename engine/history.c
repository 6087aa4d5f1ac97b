/* History: walk the remote branch's first-parent history and record every
 * change of every record in the *_history tables.  Consecutive versions of a
 * file usually differ in a few records, so the common prefix and suffix of
 * the two texts are skipped without parsing: a backfill costs about one
 * memcmp per commit plus the records that changed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "json.h"
#include "json_int.h"
#include "db.h"
#include "tree.h"
#include "texts.h"
#include "kinds.h"
#include "history.h"

/* ---- file versions --------------------------------------------------------- */

/* The last good version of one file, as the walk saw it. */
typedef struct fver {
	char *path;          /* set for a cache slot, NULL for a loose version */
	int have;            /* holds a version (id) */
	git_oid id;
	const kind *k;
	char server[65];     /* per-server files: the directory */
	git_blob *obj;       /* per-server files: keeps s alive */
	texts_version *t;          /* the version when held (shared files: with its
				records); NULL while not read, or over the size limit */
	const char *s;
	size_t len;
} fver;

enum { H_JOB, H_LOCK, H_MSG, H_SERVER, H_COMMIT, H_N };

typedef struct walk {
	cs_ctx *ctx;
	fver *v;
	size_t n;
	sqlite3_stmt *ins[H_N];
	char commit[GIT_OID_HEXSZ + 1];
	double when;
	const char *author;
	long rows;
	git_tree *prev;      /* the tree of the last commit processed, prev_id */
	git_oid prev_id;
} walk;

/* Drop the version held, keeping the slot's path. */
static void fver_clear(walk *w, fver *f)
{
	char *path = f->path;
	git_blob_free(f->obj);
	texts_release(w->ctx, f->t);
	memset(f, 0, sizeof *f);
	f->path = path;
}

/* Make f the version at id (whose path, if any, is kept).  Its text is read
 * only when a diff needs it: a backfill often never does. */
static void set_version(walk *w, fver *f, const git_oid *id, const kind *k, const char *server)
{
	fver_clear(w, f);
	f->have = 1;
	git_oid_cpy(&f->id, id);
	f->k = k;
	snprintf(f->server, sizeof f->server, "%s", server ? server : "");
}

/* A version over the size limit is not read: it reads as empty, which no
 * scan accepts (the import reports it, and its message stays).  A shared
 * file's version comes through texts_get: the import of this sync read
 * the newest one already, and listed its records. */
static int need_text(walk *w, fver *f)
{
	char saved[sizeof w->ctx->err];
	int rc;
	if (f->s)
		return CS_OK;
	memcpy(saved, w->ctx->err, sizeof saved);
	if (f->k->top) {
		if (!(rc = texts_get(w->ctx, &f->t, &f->id, f->k->path))) {
			f->s = f->t->p;
			f->len = f->t->n;
		}
	} else if ((f->t = texts_hold(w->ctx, &f->id))) {
		f->s = f->t->p;   /* a blob this decision wrote */
		f->len = f->t->n;
		return CS_OK;
	} else if (!(rc = tree_blob_lookup(w->ctx, &f->obj, &f->id, f->k->path))) {
		f->s = git_blob_rawcontent(f->obj);
		f->len = (size_t)git_blob_rawsize(f->obj);
	}
	if (rc == CTX_ETOOBIG) {
		memcpy(w->ctx->err, saved, sizeof saved);
		f->s = "";
		f->len = 0;
		return CS_OK;
	}
	return rc;
}

/* List a shared file's records into t, unless listed already.  -1 when the
 * version is not usable (or was not read: over the size limit). */
static int scan_full(texts_version *t, const kind *k)
{
	jscan top = {0};
	size_t err;
	int rc = -1;
	if (!t)
		return -1;
	if (t->scan)
		return 0;
	if (json_members(t->p, t->n, 0, '{', &top, &t->top.end, &err))
		goto done;
	for (size_t i = 0; i < top.n; i++) {
		char *key = json_string_value(t->p, top.m[i].key);
		int match = key && !strcmp(key, k->top);
		free(key);
		if (!match)
			continue;
		t->top.start = json_skip_ws(t->p, t->n, top.m[i].val.start);
		if (!json_members(t->p, t->n, t->top.start, k->container, &t->sc, &t->top.end, &err)) {
			t->scan = TEXT_LISTED;
			rc = 0;
		}
		break;
	}
done:
	if (rc)
		t->sc.n = 0;
	jscan_free(&top);
	return rc;
}

static size_t rec_start(int obj, const jscan *sc, size_t i)
{
	return obj ? sc->m[i].key.start : sc->m[i].val.start;
}

/* List y's records into out from x's (listed), reusing them outside the
 * bytes that differ, and y's container into *ytop.  On success x's records
 * [a, bx) became y's [a, by); all others are the same text.  -1 when that
 * cannot be shown.  Either side may be the older: a listing of x and the
 * same bytes around a middle that parses to the same boundary make a
 * listing of y, whichever way the change went. */
static int scan_delta(const texts_version *x, const texts_version *y, int obj, jscan *out, jspan *ytop,
		      size_t *a, size_t *bx, size_t *by)
{
	size_t p, q, m = x->sc.n, i0 = 0, i1, at, stop, end, err;
	long delta = (long)y->n - (long)x->n;
	int r;

	text_common(x->p, x->n, y->p, y->n, &p, &q);
	/* The change must lie between the container's brackets. */
	if (p <= x->top.start || x->n - q > x->top.end - 1)
		return -1;
	while (i0 < m && x->sc.m[i0].val.end <= p)
		i0++;
	i1 = i0;
	while (i1 < m && rec_start(obj, &x->sc, i1) < x->n - q)
		i1++;
	out->n = 0;
	for (size_t i = 0; i < i0; i++)
		if (jscan_push(out, x->sc.m[i].key, x->sc.m[i].val))
			return -1;
	at = i0 ? x->sc.m[i0 - 1].val.end : x->top.start + 1;
	stop = i1 < m ? (size_t)((long)rec_start(obj, &x->sc, i1) + delta) : (size_t)-1;
	r = json_members_from(y->p, y->n, at, obj, i0 == 0, stop, out, &end, &err);
	if (r == 1 ? end != stop : r == 0 ? (i1 < m || end != (size_t)((long)x->top.end + delta)) : 1)
		return -1;
	*a = i0;
	*bx = i1;
	*by = out->n;
	for (size_t i = i1; i < m; i++) {
		jspan k = x->sc.m[i].key, v = x->sc.m[i].val;
		if (obj) {
			k.start = (size_t)((long)k.start + delta);
			k.end = (size_t)((long)k.end + delta);
		}
		v.start = (size_t)((long)v.start + delta);
		v.end = (size_t)((long)v.end + delta);
		if (jscan_push(out, k, v))
			return -1;
	}
	ytop->start = x->top.start;
	ytop->end = (size_t)((long)x->top.end + delta);
	return 0;
}

/* scan_delta from x to y, keeping y's listing when it had none (a listing
 * it had is the same: a parse of the same bytes). */
static int derive(texts_version *x, texts_version *y, int obj, size_t *a, size_t *bx, size_t *by)
{
	jscan tmp = {0};
	jspan top;
	int r = scan_delta(x, y, obj, y->scan ? &tmp : &y->sc, &top, a, bx, by);
	if (!y->scan) {
		if (r) {
			y->sc.n = 0;
		} else {
			y->scan = TEXT_LISTED;
			y->top = top;
		}
	}
	jscan_free(&tmp);
	return r;
}

/* ---- records ------------------------------------------------------------------ */

typedef struct rec {
	char *key;
	cJSON *o;
	const char *text;
	size_t len;
	int matched;
} rec;

static void recs_free(rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].key);
		cJSON_Delete(r[i].o);
	}
	free(r);
}

/* Parse records [from, to) of t, a version of a k file.  Records that do
 * not parse are left out (the import reports them; history only observes). */
static rec *parse_recs(const texts_version *t, const kind *k, size_t from, size_t to, size_t *n)
{
	rec *r = calloc(to > from ? to - from : 1, sizeof *r);
	size_t j = 0, err;
	*n = 0;
	if (!r)
		return NULL;
	for (size_t i = from; i < to; i++) {
		jspan v = t->sc.m[i].val;
		cJSON *o = json_parse_span(t->p, v.start, v.end, &err);
		const char *key = NULL;
		char *owned = NULL;
		if (!o || !cJSON_IsObject(o)) {
			cJSON_Delete(o);
			continue;
		}
		if (k->key_json)
			key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k->key_json));
		else
			key = owned = json_string_value(t->p, t->sc.m[i].key);
		if (!key || !(r[j].key = owned ? owned : strdup(key))) {
			free(owned);
			cJSON_Delete(o);
			continue;
		}
		r[j].o = o;
		r[j].text = t->p + v.start;
		r[j].len = v.end - v.start;
		j++;
	}
	*n = j;
	return r;
}

static const char *jtext(const cJSON *o, const char *key)
{
	return o ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key)) : NULL;
}

static int bind_time(sqlite3_stmt *st, int i, const cJSON *o, const char *key)
{
	double d;
	const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
	if (v && !kinds_time_value(v, &d))
		return sqlite3_bind_double(st, i, d);
	return sqlite3_bind_null(st, i);
}

static int bind_int(sqlite3_stmt *st, int i, const cJSON *o, const char *key)
{
	const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
	if (cJSON_IsNumber(v) && fabs(v->valuedouble) < 9007199254740992.0)
		return sqlite3_bind_int64(st, i, (long long)v->valuedouble);
	if (cJSON_IsBool(v))
		return sqlite3_bind_int(st, i, cJSON_IsTrue(v));
	return sqlite3_bind_null(st, i);
}

static int bind_str(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* The trailing columns every history row has: commit_id, committed_at, author. */
static int bind_commit(walk *w, sqlite3_stmt *st, int i)
{
	return sqlite3_bind_text(st, i, w->commit, -1, SQLITE_STATIC) ||
	       sqlite3_bind_double(st, i + 1, w->when) || bind_str(st, i + 2, w->author);
}

static int step(walk *w, sqlite3_stmt *st, int brc)
{
	int rc = brc ? SQLITE_ERROR : sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return ctx_err_db(w->ctx, w->ctx->db);
	w->rows++;
	return CS_OK;
}

/* One change of one record: nw is NULL when it was removed, old NULL when
 * it was added. */
static int record_change(walk *w, const kind *k, const char *key, const rec *old, const rec *nw)
{
	const char *change = !old ? "added" : !nw ? "removed" : "changed";
	const cJSON *o = nw ? nw->o : old->o;
	sqlite3_stmt *st;
	int b = 0;

	if (!strcmp(k->table, "jobs")) {
		st = w->ins[H_JOB];
		b |= bind_str(st, 1, key) || bind_str(st, 2, change) ||
		     bind_str(st, 3, jtext(o, "status")) || bind_str(st, 4, jtext(o, "assigned_to")) ||
		     bind_int(st, 5, o, "priority") || bind_time(st, 6, o, "created_at") ||
		     bind_time(st, 7, o, "started_at") || bind_time(st, 8, o, "completed_at") ||
		     bind_int(st, 9, o, "attempts") || bind_int(st, 10, o, "fence") ||
		     bind_commit(w, st, 11);
		return step(w, st, b);
	}
	if (!strcmp(k->table, "messages")) {
		char *rb = NULL;
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "read_by");
		int rc;
		st = w->ins[H_MSG];
		if (v && !cJSON_IsNull(v))
			rb = cJSON_PrintUnformatted(v);
		b |= bind_str(st, 1, key) || bind_str(st, 2, change) ||
		     bind_str(st, 3, jtext(o, "from")) || bind_str(st, 4, jtext(o, "to")) ||
		     bind_str(st, 5, jtext(o, "type")) || bind_str(st, 6, jtext(o, "subject")) ||
		     bind_int(st, 7, o, "read") || bind_str(st, 8, rb) ||
		     bind_time(st, 9, o, "timestamp") || bind_commit(w, st, 10);
		rc = step(w, st, b);
		cJSON_free(rb);
		return rc;
	}
	/* Locks: name the event from the holder before and after. */
	{
		const char *was = old ? jtext(old->o, "locked_by") : NULL;
		const char *now = nw ? jtext(nw->o, "locked_by") : NULL;
		const char *ev;
		double exp_old = 0;
		const cJSON *eo = old ? cJSON_GetObjectItemCaseSensitive(old->o, "expires_at") : NULL;
		if (!nw)
			ev = "removed";
		else if (now && (!was || strcmp(now, was)))
			ev = "grant";
		else if (now)
			ev = "renew";
		else if (was)
			ev = eo && !kinds_time_value(eo, &exp_old) && w->when > exp_old ? "expire" : "release";
		else
			return CS_OK;   /* free before and after: nothing happened */
		st = w->ins[H_LOCK];
		b |= bind_str(st, 1, key) || bind_str(st, 2, ev) || bind_str(st, 3, now) ||
		     bind_str(st, 4, was) || bind_time(st, 5, nw ? nw->o : NULL, "locked_at") ||
		     bind_time(st, 6, nw ? nw->o : NULL, "expires_at") ||
		     bind_int(st, 7, nw ? nw->o : old->o, "fence") || bind_commit(w, st, 8);
		return step(w, st, b);
	}
}

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Match old and new records by key and record what changed. */
static int diff_recs(walk *w, const kind *k, rec *o, size_t no, rec *n, size_t nn)
{
	size_t cap = 16, *slot;
	int rc = CS_OK;
	while (cap < no * 2 + 2)
		cap *= 2;
	if (!(slot = malloc(cap * sizeof *slot)))
		return ctx_err_oom(w->ctx);
	for (size_t i = 0; i < cap; i++)
		slot[i] = (size_t)-1;
	for (size_t i = 0; i < no; i++) {
		size_t h = hash_str(o[i].key) & (cap - 1);
		while (slot[h] != (size_t)-1)
			h = (h + 1) & (cap - 1);
		slot[h] = i;
	}
	for (size_t j = 0; j < nn && !rc; j++) {
		size_t h = hash_str(n[j].key) & (cap - 1), hit = (size_t)-1;
		for (; slot[h] != (size_t)-1; h = (h + 1) & (cap - 1))
			if (!o[slot[h]].matched && !strcmp(o[slot[h]].key, n[j].key)) {
				hit = slot[h];
				break;
			}
		if (hit == (size_t)-1) {
			rc = record_change(w, k, n[j].key, NULL, &n[j]);
		} else {
			o[hit].matched = 1;
			if (o[hit].len != n[j].len || memcmp(o[hit].text, n[j].text, n[j].len))
				rc = record_change(w, k, n[j].key, &o[hit], &n[j]);
		}
	}
	for (size_t i = 0; i < no && !rc; i++)
		if (!o[i].matched)
			rc = record_change(w, k, o[i].key, &o[i], NULL);
	free(slot);
	return rc;
}

/* Every record of the file the mirror imported, added at once, straight
 * from its table: a backfill of a file that was born whole (a generated or
 * migrated repository) then costs no second parse.  The import inserts in
 * file order, so rowid order is file order. */
static int added_from_table(walk *w, const kind *k)
{
	static const char *const sql[] = {
		"INSERT INTO job_history(job_id, change, status, assigned_to, priority, created_at,"
		" started_at, completed_at, attempts, fence, commit_id, committed_at, author)"
		" SELECT id, 'added', status, assigned_to, priority, created_at, started_at,"
		" completed_at, attempts, fence, ?1, ?2, ?3 FROM jobs",
		"INSERT INTO message_history(message_id, change, from_server, to_server, type, subject,"
		" read, read_by, timestamp, commit_id, committed_at, author)"
		" SELECT id, 'added', from_server, to_server, type, subject, read, read_by, timestamp,"
		" ?1, ?2, ?3 FROM messages",
		"INSERT INTO lock_history(name, event, locked_by, prev_holder, locked_at, expires_at,"
		" fence, commit_id, committed_at, author)"
		" SELECT name, 'grant', locked_by, NULL, locked_at, expires_at, fence, ?1, ?2, ?3"
		" FROM locks WHERE locked_by IS NOT NULL",
	};
	sqlite3_stmt *st = NULL;
	int i = !strcmp(k->table, "jobs") ? 0 : !strcmp(k->table, "messages") ? 1 : 2, rc;
	if ((rc = db_prepare(w->ctx, &st, sql[i])))
		return rc;
	rc = bind_commit(w, st, 1) ? ctx_err_db(w->ctx, w->ctx->db) : db_step(w->ctx, st);
	if (rc == SQLITE_DONE) {
		w->rows += sqlite3_changes(w->ctx->db);
		rc = CS_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* 1 when blob id is the version of path the mirror's tables hold. */
static int imported(walk *w, const char *path, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1], *have = NULL;
	int same;
	git_oid_tostr(hex, sizeof hex, id);
	if (db_text(w->ctx, &have, "SELECT blob FROM files WHERE path=:a", path))
		return 0;
	same = have && !strcmp(have, hex);
	free(have);
	return same;
}

/* A shared file changed from old (NULL: absent or unusable) to nw (NULL:
 * deleted).  *usable is 0 when nw cannot be listed (it is not recorded as
 * the last good version). */
static int diff_shared(walk *w, const kind *k, fver *old, fver *nw, int *usable)
{
	size_t a = 0, ob = 0, nb = 0, no = 0, nn = 0;
	int obj = k->container == '{', known = 0, rc;
	texts_version *ot, *nt;
	rec *ro = NULL, *rn = NULL;

	*usable = 1;
	if ((old && (rc = need_text(w, old))) || (nw && (rc = need_text(w, nw))))
		return rc;
	ot = old ? old->t : NULL;
	nt = nw ? nw->t : NULL;
	if (nw && !nt) {
		*usable = 0;   /* over the size limit: not read */
		return CS_OK;
	}
	/* The old side, listed.  In a sync the import listed the new version,
	 * and the old one follows from it and the bytes that differ. */
	if (ot && !ot->scan) {
		if (nt && nt->scan && !derive(nt, ot, obj, &a, &nb, &ob))
			known = 1;
		else if (scan_full(ot, k))
			ot = NULL;   /* the last version was not usable after all */
	}
	if (nt && !known) {
		if (ot && !derive(ot, nt, obj, &a, &ob, &nb)) {
			known = 1;   /* only the middle differs */
		} else if (scan_full(nt, k)) {
			*usable = 0;
			return CS_OK;
		}
	}
	if (!known) {
		a = 0;
		ob = ot ? ot->sc.n : 0;
		nb = nt ? nt->sc.n : 0;
	}
	if (ot && !(ro = parse_recs(ot, k, a, ob, &no)))
		return ctx_err_oom(w->ctx);
	if (nt && !(rn = parse_recs(nt, k, a, nb, &nn))) {
		recs_free(ro, no);
		return ctx_err_oom(w->ctx);
	}
	rc = diff_recs(w, k, ro, no, rn, nn);
	recs_free(ro, no);
	recs_free(rn, nn);
	return rc;
}

/* status.json or heartbeat.json of one server changed (nw NULL: removed). */
static int diff_server(walk *w, const kind *k, fver *nw, const char *server,
		       const char *change)
{
	sqlite3_stmt *st = w->ins[H_SERVER];
	cJSON *o = NULL;
	double t = 0;
	int has_t = 0, b, rc;
	if (nw && (rc = need_text(w, nw)))
		return rc;
	if (nw) {
		size_t err, a = json_skip_ws(nw->s, nw->len, 0), z = nw->len;
		const cJSON *ts;
		while (z > a && strchr(" \t\r\n", nw->s[z - 1]))
			z--;
		if (!(o = json_parse_span(nw->s, a, z, &err)) || !cJSON_IsObject(o)) {
			cJSON_Delete(o);
			return CS_OK;   /* unusable: the import reports it */
		}
		ts = cJSON_GetObjectItemCaseSensitive(o, "timestamp");
		has_t = ts && !kinds_time_value(ts, &t);
	}
	b = bind_str(st, 1, server) || bind_str(st, 2, k->noun) ||
	    bind_str(st, 3, change) ||
	    bind_str(st, 4, jtext(o, "status")) ||
	    (has_t ? sqlite3_bind_double(st, 5, t) || sqlite3_bind_double(st, 6, w->when - t)
		   : sqlite3_bind_null(st, 5) || sqlite3_bind_null(st, 6)) ||
	    bind_commit(w, st, 7);
	rc = step(w, st, b);
	cJSON_Delete(o);
	return rc;
}

/* ---- the walk -------------------------------------------------------------------- */

static fver *slot_for(walk *w, const char *path)
{
	fver *nv;
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->v[i].path, path))
			return &w->v[i];
	if (!(nv = realloc(w->v, (w->n + 1) * sizeof *nv)))
		return NULL;
	w->v = nv;
	memset(&w->v[w->n], 0, sizeof *w->v);
	if (!(w->v[w->n].path = strdup(path)))
		return NULL;
	return &w->v[w->n++];
}

/* 1 when e is a regular file.  Anything else where a coordination file
 * belongs (a directory, a submodule, a symbolic link) is not a version the
 * walk can read: the import reports it, and the walk passes over it. */
static int regular(const git_tree_entry *e)
{
	return git_tree_entry_type(e) == GIT_OBJECT_BLOB &&
	       git_tree_entry_filemode(e) != GIT_FILEMODE_LINK;
}

/* One tracked path between parent tree pt (may be NULL) and tree t. */
static int process_path(walk *w, git_tree *pt, git_tree *t, const char *path, const kind *k,
			const char *server)
{
	git_tree_entry *pe = NULL, *e = NULL;
	fver *last, nv;
	int rc = CS_OK, usable = 1;

	memset(&nv, 0, sizeof nv);
	if (pt)
		git_tree_entry_bypath(&pe, pt, path);
	git_tree_entry_bypath(&e, t, path);
	git_error_clear();
	if (e && !regular(e))
		goto done;
	if (pe && !regular(pe)) {
		git_tree_entry_free(pe);
		pe = NULL;
	}
	if ((!pe && !e) || (pe && e && !git_oid_cmp(git_tree_entry_id(pe), git_tree_entry_id(e))))
		goto done;
	if (!(last = slot_for(w, path))) {
		rc = ctx_err_oom(w->ctx);
		goto done;
	}
	/* The old side: the last good version the walk saw, else the parent's. */
	if (!last->have && pe)
		set_version(w, last, git_tree_entry_id(pe), k, server);
	if (!e) {
		if (last->have)
			rc = k->top ? diff_shared(w, k, last, NULL, &usable)
				    : diff_server(w, k, NULL, server, "removed");
		fver_clear(w, last);
		goto done;
	}
	set_version(w, &nv, git_tree_entry_id(e), k, server);
	if (k->top && !last->have && imported(w, path, git_tree_entry_id(e))) {
		rc = added_from_table(w, k);
	} else {
		rc = k->top ? diff_shared(w, k, last->have ? last : NULL, &nv, &usable)
			    : diff_server(w, k, &nv, server, pe ? "changed" : "added");
	}
	if (!rc && usable) {
		char *keep = last->path;
		fver_clear(w, last);
		*last = nv;
		last->path = keep;
		memset(&nv, 0, sizeof nv);
	}
	fver_clear(w, &nv);
done:
	git_tree_entry_free(pe);
	git_tree_entry_free(e);
	return rc;
}

/* The entry of tree with the same name and kind (directory or not) as e,
 * or NULL; *cur is left at its index.  *cur walks tree's entries in git's
 * order, which both trees share, so matching every entry of one tree
 * against the other costs one pass over each instead of a search per
 * entry.  A tree out of git's order only makes this miss a match, which
 * costs time (the entry's files are compared), never a wrong answer. */
static const git_tree_entry *match_entry(git_tree *tree, size_t *cur, const git_tree_entry *e)
{
	size_t n = tree ? git_tree_entrycount(tree) : 0;
	for (; *cur < n; (*cur)++) {
		const git_tree_entry *x = git_tree_entry_byindex(tree, *cur);
		int c = git_tree_entry_cmp(x, e);
		if (c == 0)
			return x;
		if (c > 0)
			break;
	}
	return NULL;
}

static int same_object(const git_tree_entry *a, const git_tree_entry *b)
{
	return a && b && git_tree_entry_type(a) == git_tree_entry_type(b) &&
	       !git_oid_cmp(git_tree_entry_id(a), git_tree_entry_id(b));
}

/* Per-server paths present in either tree.  A directory whose tree id is
 * the parent's holds nothing new: a commit usually changes one server's
 * directory of many (a heartbeat), so skipping the others keeps a walk's
 * cost per commit from growing with the number of servers. */
static int process_servers(walk *w, git_tree *pt, git_tree *t)
{
	size_t np = pt ? git_tree_entrycount(pt) : 0, cur = 0;
	unsigned char *in_t = np ? calloc(np, 1) : NULL;   /* pt's entries matched in t */
	char path[160];
	int rc = CS_OK;

	if (np && !in_t)
		return ctx_err_oom(w->ctx);
	for (size_t i = 0, n = git_tree_entrycount(t); i < n && !rc; i++) {
		const git_tree_entry *te = git_tree_entry_byindex(t, i), *pe;
		const char *name = git_tree_entry_name(te);
		if (!kinds_server_dir(te))
			continue;
		if ((pe = match_entry(pt, &cur, te)))
			in_t[cur] = 1;
		if (same_object(pe, te))
			continue;
		for (const kind *k = kinds_table; k->path && !rc; k++) {
			if (k->top)
				continue;
			snprintf(path, sizeof path, "%s/%s", name, k->path);
			rc = process_path(w, pt, t, path, k, name);
		}
	}
	/* A directory only in the parent: its files were removed. */
	for (size_t i = 0; i < np && !rc; i++) {
		const git_tree_entry *pe = git_tree_entry_byindex(pt, i);
		const char *name = git_tree_entry_name(pe);
		if (in_t[i] || !kinds_server_dir(pe) || git_tree_entry_byname(t, name))
			continue;
		for (const kind *k = kinds_table; k->path && !rc; k++) {
			if (k->top)
				continue;
			snprintf(path, sizeof path, "%s/%s", name, k->path);
			rc = process_path(w, pt, t, path, k, name);
		}
	}
	free(in_t);
	return rc;
}

static int process_commit(walk *w, git_commit *c, long seq)
{
	git_commit *parent = NULL;
	git_tree *t = NULL, *pt = NULL;
	const git_signature *sig = git_commit_author(c);
	const git_oid *pid = git_commit_parentcount(c) ? git_commit_parent_id(c, 0) : NULL;
	sqlite3_stmt *st = w->ins[H_COMMIT];
	int rc = CS_OK;

	git_oid_tostr(w->commit, sizeof w->commit, git_commit_id(c));
	w->when = (double)git_commit_time(c);
	w->author = sig ? sig->name : NULL;
	/* The walk goes parent to child: the parent's tree is usually the one
	 * the last commit left (a root tree with many servers is too big for
	 * libgit2's object cache, and would be parsed again). */
	if (pid && w->prev && !git_oid_cmp(pid, &w->prev_id)) {
		pt = w->prev;
		w->prev = NULL;
	}
	if (git_commit_tree(&t, c) ||
	    (pid && !pt && (git_commit_parent(&parent, c, 0) || git_commit_tree(&pt, parent)))) {
		rc = ctx_err_git(w->ctx, "cannot read commit");
		goto done;
	}
	/* The shared files all live in coordination/: the same tree id there
	 * means none of them changed. */
	if (!same_object(pt ? git_tree_entry_byname(pt, "coordination") : NULL,
			 git_tree_entry_byname(t, "coordination")))
		for (const kind *k = kinds_table; k->path && !rc; k++)
			if (k->top)
				rc = process_path(w, pt, t, k->path, k, NULL);
	if (!rc)
		rc = process_servers(w, pt, t);
	if (!rc) {
		int b = sqlite3_bind_text(st, 1, w->commit, -1, SQLITE_STATIC) ||
			sqlite3_bind_double(st, 2, w->when) || bind_str(st, 3, w->author) ||
			bind_str(st, 4, git_commit_summary(c)) || sqlite3_bind_int64(st, 5, seq);
		rc = step(w, st, b);
	}
done:
	git_tree_free(w->prev);
	w->prev = t;
	git_oid_cpy(&w->prev_id, git_commit_id(c));
	git_tree_free(pt);
	git_commit_free(parent);
	return rc;
}

static const char *const insert_sql[H_N] = {
	"INSERT INTO job_history(job_id, change, status, assigned_to, priority, created_at,"
	" started_at, completed_at, attempts, fence, commit_id, committed_at, author)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	"INSERT INTO lock_history(name, event, locked_by, prev_holder, locked_at, expires_at, fence,"
	" commit_id, committed_at, author) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	"INSERT INTO message_history(message_id, change, from_server, to_server, type, subject, read,"
	" read_by, timestamp, commit_id, committed_at, author)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	"INSERT INTO server_history(server, file, change, status, timestamp, skew, commit_id,"
	" committed_at, author) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	"INSERT OR IGNORE INTO history_commits(commit_id, committed_at, author, message, seq)"
	" VALUES(?1, ?2, ?3, ?4, ?5)",
};

int history_update(cs_ctx *ctx, const git_oid *head, long *rows)
{
	static const char *const tables[] = {"job_history", "lock_history", "message_history",
					     "server_history"};
	walk w;
	db_indexes ix = {NULL, 0};
	git_revwalk *rw = NULL;
	git_oid id, last;
	char *lasthex = NULL;
	long long seq = 0;
	sqlite3_stmt *seen = NULL;
	int rc;

	memset(&w, 0, sizeof w);
	w.ctx = ctx;
	*rows = 0;
	if ((rc = db_text(ctx, &lasthex, "SELECT value FROM meta WHERE key='history_head'", NULL)) ||
	    (rc = db_int(ctx, &seq, "SELECT coalesce(max(seq), 0) FROM history_commits", NULL)))
		goto done;
	/* A backfill is a bulk load: build the indexes once, at the end. */
	for (int i = 0; !lasthex && i < 4 && !rc; i++)
		rc = db_indexes_drop(ctx, tables[i], &ix);
	for (int i = 0; i < H_N && !rc; i++)
		rc = db_prepare(ctx, &w.ins[i], insert_sql[i]);
	if (rc || (rc = db_prepare(ctx, &seen, "SELECT 1 FROM history_commits WHERE commit_id=:a")))
		goto done;
	if (git_revwalk_new(&rw, ctx->repo) || git_revwalk_push(rw, head)) {
		rc = ctx_err_git(ctx, "cannot walk history");
		goto done;
	}
	git_revwalk_sorting(rw, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
	git_revwalk_simplify_first_parent(rw);
	/* Start after the last commit processed, when it is still an ancestor;
	 * after a rewritten remote history, walk all and skip what was seen. */
	if (lasthex && !git_oid_fromstr(&last, lasthex) &&
	    (!git_oid_cmp(&last, head) || git_graph_descendant_of(ctx->repo, head, &last) == 1))
		git_revwalk_hide(rw, &last);
	git_error_clear();
	while (!rc && !git_revwalk_next(&id, rw)) {
		git_commit *c = NULL;
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof hex, &id);
		sqlite3_reset(seen);
		if ((rc = db_bind_text(ctx, seen, ":a", hex)))
			break;
		if ((rc = db_step(ctx, seen)) == SQLITE_ROW) {
			rc = CS_OK;
			continue;
		}
		if (rc != SQLITE_DONE)
			break;
		if (git_commit_lookup(&c, ctx->repo, &id)) {
			rc = ctx_err_git(ctx, "cannot read commit");
			break;
		}
		rc = process_commit(&w, c, (long)++seq);
		git_commit_free(c);
	}
	git_error_clear();
	if (!rc) {
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof hex, head);
		if (!(rc = db_meta_set(ctx, "history_head", hex)))
			rc = db_indexes_create(ctx, &ix);
	}
	*rows = w.rows;
done:
	db_indexes_free(&ix);
	for (size_t i = 0; i < w.n; i++) {
		fver_clear(&w, &w.v[i]);
		free(w.v[i].path);
	}
	free(w.v);
	git_tree_free(w.prev);
	for (int i = 0; i < H_N; i++)
		sqlite3_finalize(w.ins[i]);
	sqlite3_finalize(seen);
	git_revwalk_free(rw);
	free(lasthex);
	return rc;
}
