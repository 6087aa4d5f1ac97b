/* The *_history tables (history.c). */
#ifndef CS_HISTORY_H
#define CS_HISTORY_H

#include "ctx.h"

/* ---- history (history.c) ------------------------------------------------ */
/* Record in the *_history tables every record change of the first-parent
 * commits up to head not processed yet; *rows counts the rows added. */
int history_update(cs_ctx *ctx, const git_oid *head, long *rows);

#endif
