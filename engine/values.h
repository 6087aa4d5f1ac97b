/* Record values (values.c): the times, record texts, --set values and
 * names that the decisions (locks.c, jobs.c, msgs.c, autoreply.c) and the
 * outbox write, kept exact as the importer reads them. */
#ifndef CS_VALUES_H
#define CS_VALUES_H

#include "ctx.h"
#include "json_int.h"

/* The wall clock (util_now) in whole seconds: every time a decision writes. */
double values_now(void);
/* Text of a new record (obj) in the seed's layout at the given indent;
 * malloc'd, NULL when out of memory. */
char *values_render(const cJSON *obj, int indent);
/* Add member key to o: time t as ISO-8601 text (util_time_iso). */
void values_add_time(cJSON *o, const char *key, double t);
/* 1 when s is valid UTF-8 (json_put_string would write any other byte as
 * U+FFFD, so two different keys could become one), else 0. */
int values_utf8_ok(const char *s);
/* Text t as one JSON value whose numbers are raw items holding their text
 * (written again they keep every digit), or NULL: t must pass the
 * importer's text check, parse as exactly one value, and have no object
 * with a key twice.  The caller frees it (cJSON_Delete). */
cJSON *values_exact_parse(const char *t);
/* The --set list kv[0, n) ("KEY=VALUE", at most CTX_MAX_KV) as a new object
 * *out, the caller's: each VALUE as its JSON value when it is exactly one
 * (values_exact_parse), else as a string.  CS_EINVAL for a malformed item, a
 * key given twice, or text that is not UTF-8; *out is then NULL. */
int values_kv_object(cs_ctx *ctx, const char *const *kv, int n, cJSON **out);
/* Add to object to, for each member of set, that member's JSON text as a
 * string (an intent's "set_json": the exact text of each value survives the
 * outbox).  CS_OK or out of memory. */
int values_put_texts(cs_ctx *ctx, cJSON *to, const cJSON *set);
/* The first member name o holds twice (owned by o), or NULL. */
const char *values_twice(const cJSON *o);
/* CS_OK when name is a valid lock name or job id (what, for the message:
 * "lock name", "job id"), else CS_EINVAL. */
int values_check_name(cs_ctx *ctx, const char *what, const char *name);

#endif
