/* Versions of coordination files, shared within a handle and kept between
 * handles in a long-running process (texts.c). */
#ifndef CS_TEXTS_H
#define CS_TEXTS_H

#include "ctx.h"
#include "json.h"

/* One version of a coordination file, read once per process and shared by
 * the import, the export, the history walk and the working tree update,
 * with what they learnt about it.  Held versions are counted (refs). */
#define TEXT_LISTED 1   /* sc and top list its records (history's scan) */
#define TEXT_STRICT 2   /* ... and the import's scan (scan_file) accepted it */
typedef struct texts_version {
	git_oid id;
	char *path;          /* the file it was read or written as */
	const char *p;       /* its bytes */
	size_t n;
	git_blob *obj;       /* holds p, for a version read from git */
	char *copy;          /* holds p, for a blob this process wrote */
	int refs;
	int written;         /* written by the current decision: kept until texts_clear */
	unsigned long used;  /* when it was last handed out */
	int checked;         /* passed the import's text check, whole */
	int scan;            /* 0, TEXT_LISTED or TEXT_STRICT */
	jscan sc;            /* a shared file's records */
	jspan top;           /* ... and their container, bracket to bracket */
} texts_version;
/* The version id of the shared file path, read through tree_blob_lookup
 * (CTX_ETOOBIG over the limit) unless at hand.  Held by the caller until
 * texts_release; per path, at most two unheld versions read from git
 * stay.  Entries are per blob and path: a listing is of one kind of file. */
int texts_get(cs_ctx *ctx, texts_version **out, const git_oid *id, const char *path);
/* Blob id, held, when it is at hand (written, or read by texts_get); else
 * NULL, and nothing is read. */
texts_version *texts_hold(cs_ctx *ctx, const git_oid *id);
void texts_release(cs_ctx *ctx, texts_version *t);   /* NULL-safe */
/* Write a blob and keep its bytes until texts_clear: the history walk
 * and the working tree update read them back without inflating. */
int texts_blob_write(cs_ctx *ctx, const char *path, const char *data, size_t len, git_oid *out);
/* The bytes of blob id when at hand (written, or read by texts_get), or
 * NULL; valid until the next texts_* or texts_* call. */
const char *texts_blob_text(cs_ctx *ctx, const git_oid *id, size_t *len);
void texts_clear(cs_ctx *ctx);   /* drops the blobs the decision wrote */
/* Drops everything: at the end of a sync, a decision or a rebuild, so that a
 * long-running process does not keep big files between them; with a keeper
 * (ctx->keeper), versions of up to 8 MiB go to it instead, where the next
 * handle that points at it finds them. */
void texts_free(cs_ctx *ctx);

/* The versions a holder (cs_hold) keeps for its handles between them:
 * created by the holder, pointed at by each handle it opens, used by one
 * thread at a time, counted.  texts_keeper_new: one reference, NULL on oom
 * (nothing is kept then); texts_keeper_ref returns k (NULL-safe); the last
 * texts_keeper_unref frees it with every version it keeps (NULL-safe). */
typedef struct texts_keeper texts_keeper;
texts_keeper *texts_keeper_new(void);
texts_keeper *texts_keeper_ref(texts_keeper *k);
void texts_keeper_unref(texts_keeper *k);

#endif
