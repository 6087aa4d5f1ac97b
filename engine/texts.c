/* Versions of coordination files, read once and shared by the import, the
 * export, the history walk and the working tree update; and the keeper
 * that carries them from one handle to the next in a long-running process. */
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "json.h"
#include "tree.h"
#include "texts.h"

/* ---- versions of coordination files ------------------------------------------------ */
/* Big files are what costs: the import, the export, the history walk and the
 * working tree update of one sync all read the same one or two versions of
 * jobs.json, and libgit2 caches no blob over 8 MiB (handle.c), so each read
 * inflated 30 MB again.  The versions live here, by blob id, with what was
 * learnt about them (texts_version).  Memory stays bounded: per path, at most two
 * versions read from git are kept when no one holds them, the newest used;
 * blobs the current decision wrote stay until texts_clear. */

#define TEXTS_PER_PATH 2

static void text_free(texts_version *t)
{
	if (!t)
		return;
	git_blob_free(t->obj);
	free(t->copy);
	free(t->path);
	jscan_free(&t->sc);
	free(t);
}

/* Free entry i and close the gap. */
static void text_drop(cs_ctx *ctx, size_t i)
{
	text_free(ctx->texts[i]);
	memmove(ctx->texts + i, ctx->texts + i + 1, (ctx->ntexts - i - 1) * sizeof *ctx->texts);
	ctx->ntexts--;
}

/* Free the least recently used unheld versions of path read from git until
 * at most keep of them are left (or only held ones). */
static void texts_trim(cs_ctx *ctx, const char *path, size_t keep)
{
	for (;;) {
		size_t count = 0, victim = (size_t)-1;
		for (size_t i = 0; i < ctx->ntexts; i++) {
			texts_version *t = ctx->texts[i];
			if (t->written || !t->path || strcmp(t->path, path))
				continue;
			count++;
			if (!t->refs && (victim == (size_t)-1 || t->used < ctx->texts[victim]->used))
				victim = i;
		}
		if (count <= keep || victim == (size_t)-1)
			return;
		text_drop(ctx, victim);
	}
}

/* A long-running process (cs_hold: the daemon serving commands) keeps the
 * versions a handle drops for the next handle, instead of freeing them: the
 * file a served claim wrote is the base of the next claim, and reading it
 * again would cost an inflate and a scan.  A blob id names its bytes, so a
 * kept version is never stale.  Bounded like a handle's table: versions of
 * up to KEEP_MAX bytes, at most TEXTS_PER_PATH per path, the newest.  The
 * keeper is its holder's (one thread's): handles point at it, counted. */
#define KEEP_MAX ((size_t)8 << 20)
struct texts_keeper {
	int refs;
	texts_version **v;
	size_t n;
	unsigned long tick;
};

/* The index of blob id as path (NULL: any path) in v[0, n), or n. */
static size_t text_index(texts_version **v, size_t n, const git_oid *id, const char *path)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!git_oid_cmp(&v[i]->id, id) && (!path || !strcmp(v[i]->path, path)))
			break;
	return i;
}

/* Hand t, which no one holds, to the keeper k (NULL: none), or free it. */
static void keep_put(texts_keeper *k, texts_version *t)
{
	texts_version **v;
	size_t i, count = 0, oldest = (size_t)-1;

	if (!k || t->refs || !t->path || t->n > KEEP_MAX)
		goto drop;
	if (t->obj) {   /* its bytes belong to the handle's repository: copy them */
		if (!(t->copy = malloc(t->n ? t->n : 1)))
			goto drop;
		memcpy(t->copy, t->p, t->n);
		git_blob_free(t->obj);
		t->obj = NULL;
		t->p = t->copy;
	}
	t->written = 0;
	if ((i = text_index(k->v, k->n, &t->id, t->path)) < k->n) {
		text_free(k->v[i]);   /* the newer entry knows at least as much */
		k->v[i] = k->v[--k->n];
	}
	for (i = 0; i < k->n; i++) {
		if (strcmp(k->v[i]->path, t->path))
			continue;
		count++;
		if (oldest == (size_t)-1 || k->v[i]->used < k->v[oldest]->used)
			oldest = i;
	}
	if (count >= TEXTS_PER_PATH) {
		text_free(k->v[oldest]);
		k->v[oldest] = k->v[--k->n];
	}
	if (!(v = realloc(k->v, (k->n + 1) * sizeof *v)))
		goto drop;
	k->v = v;
	t->used = ++k->tick;
	v[k->n++] = t;
	return;
drop:
	text_free(t);
}

texts_keeper *texts_keeper_new(void)
{
	texts_keeper *k = calloc(1, sizeof *k);
	if (k)
		k->refs = 1;
	return k;
}

texts_keeper *texts_keeper_ref(texts_keeper *k)
{
	if (k)
		k->refs++;
	return k;
}

void texts_keeper_unref(texts_keeper *k)
{
	if (!k || --k->refs > 0)
		return;
	for (size_t i = 0; i < k->n; i++)
		text_free(k->v[i]);
	free(k->v);
	free(k);
}

/* The entry of blob id read or written as path (NULL: as any path), taken
 * back from the keeper when it has it.  A listing belongs to the kind of
 * file it was made for: two coordination files with the same bytes (one
 * file holding both "jobs" and "messages", say) are two entries. */
static texts_version *text_find(cs_ctx *ctx, const git_oid *id, const char *path)
{
	size_t i = text_index(ctx->texts, ctx->ntexts, id, path);
	texts_keeper *k = ctx->keeper;
	texts_version **v;
	if (i < ctx->ntexts)
		return ctx->texts[i];
	if (!k || (i = text_index(k->v, k->n, id, path)) == k->n ||
	    !(v = realloc(ctx->texts, (ctx->ntexts + 1) * sizeof *v)))
		return NULL;
	ctx->texts = v;
	v[ctx->ntexts] = k->v[i];
	k->v[i] = k->v[--k->n];
	v[ctx->ntexts]->used = ++ctx->text_tick;
	return v[ctx->ntexts++];
}

/* A new entry for id at path, appended to the table; NULL on oom. */
static texts_version *text_add(cs_ctx *ctx, const git_oid *id, const char *path)
{
	texts_version **v, *t = calloc(1, sizeof *t);
	if (!t || !(t->path = strdup(path)) ||
	    !(v = realloc(ctx->texts, (ctx->ntexts + 1) * sizeof *v))) {
		text_free(t);
		return NULL;
	}
	ctx->texts = v;
	git_oid_cpy(&t->id, id);
	t->used = ++ctx->text_tick;
	v[ctx->ntexts++] = t;
	return t;
}

int texts_get(cs_ctx *ctx, texts_version **out, const git_oid *id, const char *path)
{
	texts_version *t = text_find(ctx, id, path);
	git_blob *b = NULL;
	int rc;

	*out = NULL;
	if (!t) {
		/* Make room first: a history walk holds one version while it
		 * reads the next, and an older one need not be in memory too. */
		texts_trim(ctx, path, TEXTS_PER_PATH - 1);
		if ((rc = tree_blob_lookup(ctx, &b, id, path)))
			return rc;
		if (!(t = text_add(ctx, id, path))) {
			git_blob_free(b);
			return ctx_err_oom(ctx);
		}
		t->obj = b;
		t->p = git_blob_rawcontent(b);
		t->n = (size_t)git_blob_rawsize(b);
	}
	t->refs++;
	t->used = ++ctx->text_tick;
	*out = t;
	return CS_OK;
}

texts_version *texts_hold(cs_ctx *ctx, const git_oid *id)
{
	texts_version *t = text_find(ctx, id, NULL);
	if (t) {
		t->refs++;
		t->used = ++ctx->text_tick;
	}
	return t;
}

void texts_release(cs_ctx *ctx, texts_version *t)
{
	if (!t)
		return;
	t->refs--;
	if (!t->written)
		texts_trim(ctx, t->path, TEXTS_PER_PATH);
}

int texts_blob_write(cs_ctx *ctx, const char *path, const char *data, size_t len, git_oid *out)
{
	texts_version *t;
	if (git_blob_create_from_buffer(out, ctx->repo, data, len))
		return ctx_err_git(ctx, "cannot write blob");
	if (text_find(ctx, out, path))
		return CS_OK;
	if (!(t = text_add(ctx, out, path)) || !(t->copy = malloc(len ? len : 1))) {
		if (t)
			text_drop(ctx, ctx->ntexts - 1);
		return ctx_err_oom(ctx);
	}
	memcpy(t->copy, data, len);
	t->p = t->copy;
	t->n = len;
	t->written = 1;
	return CS_OK;
}

const char *texts_blob_text(cs_ctx *ctx, const git_oid *id, size_t *len)
{
	texts_version *t = text_find(ctx, id, NULL);
	if (!t)
		return NULL;
	*len = t->n;
	return t->p;
}

void texts_clear(cs_ctx *ctx)
{
	for (size_t i = ctx->ntexts; i-- > 0;) {
		texts_version *t = ctx->texts[i];
		if (!t->written)
			continue;
		/* Held, or kept for the next handle (the base of the next
		 * decision): an ordinary version from now on. */
		if (t->refs || ctx->keeper)
			t->written = 0;
		else
			text_drop(ctx, i);
	}
	if (ctx->keeper)
		for (size_t i = ctx->ntexts; i-- > 0;)
			if (i < ctx->ntexts)
				texts_trim(ctx, ctx->texts[i]->path, TEXTS_PER_PATH);
}

void texts_free(cs_ctx *ctx)
{
	for (size_t i = 0; i < ctx->ntexts; i++)
		keep_put(ctx->keeper, ctx->texts[i]);
	free(ctx->texts);
	ctx->texts = NULL;
	ctx->ntexts = 0;
}
