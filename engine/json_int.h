/* JSON helpers that take cJSON values (json.c); kept apart so that only the modules
 * that parse include cJSON. */
#ifndef CS_JSON_INT_H
#define CS_JSON_INT_H
#include <cjson/cJSON.h>
#include "util.h"

/* Python json.dumps layout of v: step 0 is one line, step > 0 is indent=step
 * with the value's own closing bracket at `indent` spaces. */
void json_put_value(sbuf *b, const cJSON *v, int indent, int step);

/* Parse s[start, end) as exactly one JSON value (cJSON, length-bounded, no
 * trailing garbage).
 * On error returns NULL and *err_at is the failing offset. */
cJSON *json_parse_span(const char *s, size_t start, size_t end, size_t *err_at);
#endif
