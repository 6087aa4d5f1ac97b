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

#endif
