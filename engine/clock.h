/* The boot clock and watches (clock.c). */
#ifndef CS_CLOCK_H
#define CS_CLOCK_H

#include "ctx.h"

/* ---- the boot clock and watches (clock.c, schema/007) -------------------- */
/* A reading of CLOCK_BOOTTIME (seconds, only moves forward, counts suspend)
 * and the boot it belongs to; id points to a static string. */
typedef struct cs_boot {
	double now;
	const char *id;
} cs_boot;
int cs_clock_boot(cs_ctx *ctx, cs_boot *out);
/* After an import, inside its transaction: start a watch (lock_seen, watch)
 * for every held lock, heartbeat and running claim whose state changed or
 * that was last watched in another boot; forget the ones that are gone. */
int cs_clock_note(cs_ctx *ctx);
/* Outside a transaction, when nothing new was imported: cs_clock_note in a
 * transaction of its own if some watch is from another boot (a reboot). */
int cs_clock_renote(cs_ctx *ctx);

#endif
