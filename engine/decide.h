/* The decision loop: one decision, one commit, one push (decide.c). */
#ifndef CS_DECIDE_H
#define CS_DECIDE_H

#include "ctx.h"
#include "util.h"

/* ---- decisions (decide.c) ----------------------------------------------- */
/* A decision: SQL changes made inside the decision transaction, over a
 * freshly imported mirror.  It marks records dirty and writes the commit
 * message into msg.  Returns CS_OK, or a code that aborts the decision. */
typedef int (*decide_fn)(cs_ctx *ctx, void *arg, sbuf *msg);
int decide_run(cs_ctx *ctx, decide_fn fn, void *arg);
/* From inside a decision: the text of path in the tree being decided on
 * (*out malloc'd and NUL-terminated, NULL when the file is absent). */
int decide_base_read(cs_ctx *ctx, const char *path, char **out, size_t *len);
/* From inside a decision: write data at path, or remove path, in the
 * decision's commit.  Cleared before every attempt. */
int decide_edit_put(cs_ctx *ctx, const char *path, const char *data, size_t len);
int decide_edit_remove(cs_ctx *ctx, const char *path);

#endif
