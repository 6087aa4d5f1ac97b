/* Settings (config.c): the clone's git config under coordsync.*, which
 * environment variables override.  The lookups themselves are public
 * (coordsync.h: cs_config_get, cs_config_int...). */
#ifndef CS_CONFIG_H
#define CS_CONFIG_H

#include "ctx.h"

/* Fill temp.config_view(key, value, source, help) on ctx's own connection
 * with one row per setting, emptied first: the value in use (a number
 * setting in its unit, "(invalid)" added to the source of one that does not
 * parse, a URL without its password).  cs_config_list (query.c) reads it. */
int config_view(cs_ctx *ctx);

/* cs_config_check as every command's open runs it: all but the K_UNITS
 * settings.  compact.olderthan was a bare number of days once; such a value
 * left from before stops the compaction that reads it (cs_cycle, compact)
 * and fails `config`, not every command: the heartbeat, the syncs and the
 * decisions of a server upgraded in place go on. */
int config_check_open(cs_ctx *ctx);

#endif
