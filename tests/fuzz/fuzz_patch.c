/* Fuzz harness for the value path: a --set list or an intent payload
 * applied to a server's file, as `status set` and the outbox apply it
 * (intent_status_text, intent_text, export_patch), then checked by the
 * export's invariant (export_check_record: what the importer checks).
 *
 * Input: byte 0 picks the file the intent is applied to (bits 0-1: none
 * yet, a multi-line file, a one-line file, "{}") and the mode (bit 7).
 *   - mode 0, a command line: the rest is lines, the first the STATUS, each
 *     other a --set KEY=VALUE.  Properties: the payload is made (0) or the
 *     command refused as a usage error (CS_EINVAL), and refused whenever a
 *     KEY is given twice or is "status"; a payload that is made applies, the
 *     result passes the importer's checks, holds each member once, and holds
 *     each --set value with exactly the JSON text in the payload (numbers
 *     keep their digits).
 *   - mode 1, a hostile outbox entry: the rest is the payload's text.
 *     Property: it applies or fails with an error, never crashes; what
 *     applies is one JSON object with each member once, and the invariant
 *     passes it or refuses it (CS_EREFUSED). */
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "json_int.h"
#include "export.h"
#include "intent.h"
#include "outbox.h"
#include "fuzz.h"

static const char *const files[] = {
	NULL,
	"{\n  \"status\": \"idle\",\n  \"timestamp\": \"2026-01-02T03:04:05Z\",\n  \"n\": 1.0\n}",
	"{\"server\": \"build2\", \"status\": \"idle\", \"big\": 12345678901234567890}",
	"{}"};

static cs_ctx *ctx;

/* Each member of object text s once: its members' names, pairwise. */
static void check_members_once(const char *s)
{
	size_t err;
	cJSON *o = json_parse_span(s, 0, strlen(s), &err);
	FUZZ_CHECK(cJSON_IsObject(o), "the result is not one JSON object: %s", s);
	for (const cJSON *a = o->child; a; a = a->next)
		for (const cJSON *b = a->next; b; b = b->next)
			FUZZ_CHECK(strcmp(a->string, b->string), "'%s' twice in %s", a->string, s);
	cJSON_Delete(o);
}

/* The text of member key of object text s, or NULL (malloc'd). */
static char *member_text(const char *s, const char *key)
{
	jscan sc = {0};
	size_t end, err;
	char *out = NULL;
	FUZZ_CHECK(!json_members(s, strlen(s), 0, '{', &sc, &end, &err), "scan of %s", s);
	for (size_t i = 0; i < sc.n && !out; i++) {
		char *k = json_string_value(s, sc.m[i].key);
		if (k && !strcmp(k, key))
			out = strndup(s + sc.m[i].val.start, sc.m[i].val.end - sc.m[i].val.start);
		free(k);
	}
	jscan_free(&sc);
	return out;
}

/* s without the whitespace outside strings, in place. */
static char *squeeze(char *s)
{
	char *w = s;
	int in = 0;
	for (char *r = s; *r; r++) {
		if (in && *r == '\\' && r[1]) {
			*w++ = *r++;
			*w++ = *r;
			continue;
		}
		if (*r == '"')
			in = !in;
		if (in || !strchr(" \t\r\n", *r))
			*w++ = *r;
	}
	*w = 0;
	return s;
}

static void command_line(const char *cur, char *text)
{
	const char *kv[40];
	char *status = text, *line, *nl, *payload = NULL, *out = NULL;
	int n = 0, dup = 0, rc;

	if ((nl = strchr(text, '\n')))
		*nl = 0;
	for (line = nl ? nl + 1 : NULL; line && n < 40; line = nl ? nl + 1 : NULL) {
		if ((nl = strchr(line, '\n')))
			*nl = 0;
		kv[n++] = line;
	}
	/* Keys given twice, or "status": the command must refuse. */
	for (int i = 0; i < n; i++) {
		const char *e = strchr(kv[i], '=');
		size_t kl = e ? (size_t)(e - kv[i]) : 0;
		if (kl == 6 && !strncmp(kv[i], "status", 6))
			dup = 1;
		for (int j = 0; j < i && kl; j++)
			if (!strncmp(kv[j], kv[i], kl + 1))
				dup = 1;
	}
	rc = intent_status_text(ctx, status, kv, n, &payload);
	FUZZ_CHECK(rc == CS_OK || rc == CS_EINVAL, "status set: code %d: %s", rc, ctx->err);
	if (rc)
		return;
	FUZZ_CHECK(!dup, "a key twice or 'status' was taken: %s", payload);
	rc = intent_text(ctx, payload, cur, &out);
	FUZZ_CHECK(rc == CS_OK, "the intent of a valid command does not apply: %s: %s", ctx->err,
		   payload);
	check_members_once(out);
	rc = export_check_record(ctx, "build2/status.json", "build2", out);
	FUZZ_CHECK(rc == CS_OK, "the importer would refuse %s: %s", out, ctx->err);
	{
		cJSON *p = cJSON_Parse(payload);
		const cJSON *sj = cJSON_GetObjectItemCaseSensitive(p, "set_json");
		FUZZ_CHECK(cJSON_IsObject(sj), "no set_json in %s", payload);
		for (const cJSON *it = sj->child; it; it = it->next) {
			char *have = member_text(out, it->string);
			FUZZ_CHECK(have, "'%s' is missing in %s", it->string, out);
			/* A scalar exactly as given; a container in the file's
			 * layout, with the same numbers' texts in the same order. */
			FUZZ_CHECK(!strcmp(squeeze(have), squeeze(it->valuestring)),
				   "'%s' is %s, not %s as given, in %s", it->string, have,
				   it->valuestring, out);
			free(have);
		}
		cJSON_Delete(p);
	}
	free(payload);
	free(out);
}

static void outbox_entry(const char *cur, const char *payload)
{
	char *out = NULL;
	int rc = intent_text(ctx, payload, cur, &out);
	if (rc) {
		FUZZ_CHECK(!out && ctx->err[0], "an error without a message, or with a result");
		return;
	}
	check_members_once(out);
	rc = export_check_record(ctx, "build2/heartbeat.json", "build2", out);
	FUZZ_CHECK(rc == CS_OK || rc == CS_EREFUSED, "invariant: code %d: %s", rc, ctx->err);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	if (!ctx) {
		FUZZ_CHECK((ctx = calloc(1, sizeof *ctx)) != NULL, "out of memory");
		ctx->lockfd = -1;
	}
	if (size < 1 || size > 16384)
		return 0;
	FUZZ_CHECK((text = malloc(size)) != NULL, "out of memory");
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	ctx->err[0] = 0;
	if (data[0] & 0x80)
		outbox_entry(files[data[0] & 3], text);
	else
		command_line(files[data[0] & 3], text);
	free(text);
	return 0;
}
