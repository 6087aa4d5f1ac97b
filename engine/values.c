/* Record values the decisions and the outbox write (values.h): times,
 * record texts, --set values and names, kept exact as the importer reads
 * them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "util.h"
#include "json.h"
#include "json_int.h"
#include "values.h"

double values_now(void)
{
	return floor(util_now());
}

/* Text of a new record (obj) in the seed's layout at the given indent. */
char *values_render(const cJSON *obj, int indent)
{
	sbuf b = {0};
	json_put_value(&b, obj, indent, 2);
	return sb_detach(&b);
}

void values_add_time(cJSON *o, const char *key, double t)
{
	char iso[32];
	util_time_iso(t, iso);
	cJSON_AddStringToObject(o, key, iso);
}

/* Whether s is valid UTF-8: json_put_string would write any other byte as
 * U+FFFD, so two different keys could become one. */
int values_utf8_ok(const char *s)
{
	sbuf b = {0};
	int ok;
	sb_putc(&b, '"');
	for (const char *p = s; *p; p++)   /* only the bytes' UTF-8 is checked */
		sb_putc(&b, (unsigned char)*p < 0x20 || *p == '"' || *p == '\\' ? 'x' : *p);
	sb_putc(&b, '"');
	ok = !b.oom && json_text_check(b.p, b.n) == b.n;
	sb_free(&b);
	return ok;
}

/* The value whose text is s[start, end), which json_text_check and
 * json_parse_span accept, as cJSON whose numbers are raw items holding
 * their text: written again (json_put_value), they keep every digit ("1.0"
 * stays "1.0"), and the rest is written in the seed's layout.  NULL when out
 * of memory, or when an object in it has a key twice. */
static cJSON *exact_value(const char *s, size_t start, size_t end)
{
	size_t i = json_skip_ws(s, end, start), ve, err;
	jscan sc = {0};
	cJSON *v = NULL;
	char *t;

	if (i >= end || !(ve = json_skip_value(s, end, i, &err)))
		return NULL;
	if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
		if (!(t = strndup(s + i, ve - i)))
			return NULL;
		v = cJSON_CreateRaw(t);
		free(t);
		return v;
	}
	if (s[i] != '{' && s[i] != '[')
		return json_parse_span(s, i, ve, &err);
	if (json_members(s, end, i, s[i], &sc, &ve, &err) ||
	    !(v = s[i] == '{' ? cJSON_CreateObject() : cJSON_CreateArray()))
		goto done;
	for (size_t m = 0; m < sc.n && v; m++) {
		cJSON *c = exact_value(s, sc.m[m].val.start, sc.m[m].val.end);
		char *k = s[i] == '{' ? json_string_value(s, sc.m[m].key) : NULL;
		if (!c || (s[i] == '{' && (!k || cJSON_GetObjectItemCaseSensitive(v, k) ||
					   !cJSON_AddItemToObject(v, k, c))) ||
		    (s[i] == '[' && !cJSON_AddItemToArray(v, c))) {
			cJSON_Delete(c);
			cJSON_Delete(v);
			v = NULL;
		}
		free(k);
	}
done:
	jscan_free(&sc);
	return v;
}

/* Text t as one JSON value for exact_value, or NULL: it must pass the
 * importer's text check and parse as exactly one value. */
cJSON *values_exact_parse(const char *t)
{
	size_t len = strlen(t), err_at;
	cJSON *v;
	if (!len || json_text_check(t, len) != len || !(v = json_parse_span(t, 0, len, &err_at)))
		return NULL;
	cJSON_Delete(v);
	return exact_value(t, 0, len);
}

/* A --set VALUE as *out: its JSON value when VALUE, without surrounding
 * whitespace, is exactly one JSON value that passes the importer's text
 * check (numbers keep their text: exact_value); else VALUE as a string.
 * CS_EINVAL when VALUE is not UTF-8. */
static int kv_value(cs_ctx *ctx, const char *key, const char *val, cJSON **out)
{
	size_t len = strlen(val), s = json_skip_ws(val, len, 0), e = len;
	char *t;

	while (e > s && strchr(" \t\r\n", val[e - 1]))
		e--;
	if (!(t = strndup(val + s, e - s)))
		return ctx_err_oom(ctx);
	*out = values_exact_parse(t);
	free(t);
	if (*out)
		return CS_OK;
	if (!values_utf8_ok(val))
		return ctx_err(ctx, CS_EINVAL, "--set '%s': the value is not valid UTF-8", key);
	return (*out = cJSON_CreateString(val)) ? CS_OK : ctx_err_oom(ctx);
}

/* "KEY=VALUE" as member KEY of o (kv_value).  A KEY that o already has is
 * a usage error: a patch never carries two edits for one key. */
static int add_kv(cs_ctx *ctx, cJSON *o, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char key[128];
	cJSON *v;
	int rc;
	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key)
		return ctx_err(ctx, CS_EINVAL, "expected KEY=VALUE, not '%s'", kv);
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = 0;
	if (!values_utf8_ok(key))
		return ctx_err(ctx, CS_EINVAL, "--set: the key '%s' is not valid UTF-8", key);
	if (cJSON_GetObjectItemCaseSensitive(o, key))
		return ctx_err(ctx, CS_EINVAL, "--set '%s' is given twice", key);
	if ((rc = kv_value(ctx, key, eq + 1, &v)))
		return rc;
	if (!cJSON_AddItemToObject(o, key, v)) {
		cJSON_Delete(v);
		return ctx_err_oom(ctx);
	}
	return CS_OK;
}

/* All of kv[0, n) as a new object *out (add_kv). */
int values_kv_object(cs_ctx *ctx, const char *const *kv, int n, cJSON **out)
{
	int rc = CS_OK;
	if (n > CTX_MAX_KV)
		return ctx_err(ctx, CS_EINVAL, "at most %d --set", CTX_MAX_KV);
	if (!(*out = cJSON_CreateObject()))
		return ctx_err_oom(ctx);
	for (int i = 0; i < n && !rc; i++)
		rc = add_kv(ctx, *out, kv[i]);
	if (rc) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	return rc;
}

/* The first member name o holds twice, or NULL. */
const char *values_twice(const cJSON *o)
{
	for (const cJSON *a = o ? o->child : NULL; a; a = a->next)
		for (const cJSON *b = a->next; b; b = b->next)
			if (a->string && b->string && !strcmp(a->string, b->string))
				return a->string;
	return NULL;
}

int values_check_name(cs_ctx *ctx, const char *what, const char *name)
{
	if (!cs_valid_id(name))
		return ctx_err(ctx, CS_EINVAL, "invalid %s '%s': use 1-64 of [A-Za-z0-9._-], no leading dot",
			      what, name ? name : "");
	return CS_OK;
}

int values_put_texts(cs_ctx *ctx, cJSON *to, const cJSON *set)
{
	int rc = CS_OK;
	for (const cJSON *it = set ? set->child : NULL; it && !rc; it = it->next) {
		sbuf b = {0};
		json_put_value(&b, it, 0, 0);
		if (b.oom || !cJSON_AddStringToObject(to, it->string, b.p))
			rc = ctx_err_oom(ctx);
		sb_free(&b);
	}
	return rc;
}
