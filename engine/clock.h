/* The boot clock and watches (clock.c). */
#ifndef CS_CLOCK_H
#define CS_CLOCK_H

#include "ctx.h"

/* ---- the boot clock and watches (clock.c, schema/007) -------------------- */
/* A reading of CLOCK_BOOTTIME (seconds, only moves forward, counts suspend)
 * and the boot it belongs to; id points to a static string. */
typedef struct clock_reading {
	double now;
	const char *id;
} clock_reading;
int clock_boot(cs_ctx *ctx, clock_reading *out);
/* After an import, inside its transaction: start a watch (lock_seen, watch)
 * for every held lock, heartbeat and running claim whose state changed or
 * that was last watched in another boot; forget the ones that are gone. */
int clock_note(cs_ctx *ctx);
/* Outside a transaction, when nothing new was imported: clock_note in a
 * transaction of its own if some watch is from another boot (a reboot). */
int clock_renote(cs_ctx *ctx);

#endif
