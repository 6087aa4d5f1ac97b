/* Fuzz harness for `job add --from FILE`: the input is the file, read by
 * cs_job_add_batch (the text check, the exact parse, every entry checked as
 * job add checks --set, the ids) up to the decision, which a caller that
 * always went away abandons before it touches a clone.  Properties, for any
 * input:
 *   - it is refused as invalid input (CS_EINVAL) with a message, or taken
 *     up to the decision (then abandoned), and nothing is handed back;
 *   - what is taken is one JSON array of 1 to 100,000 objects as cJSON
 *     reads it, each with a string id or none, no id twice;
 *   - a refusal at "line L, column C" points inside the text;
 *   - a refusal of "job I of N: id X is also job K's" names the first job
 *     whose id an earlier one has, and the first of those. */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "coordsync/jobs.h"
#include "ctx.h"
#include "fuzz.h"

static cs_ctx *ctx;
static char server[] = "fuzz";

static int gone(void *arg)
{
	(void)arg;
	return 1;
}

static void setup(void)
{
	FUZZ_CHECK((ctx = calloc(1, sizeof *ctx)) != NULL, "out of memory");
	ctx->lockfd = -1;
	ctx->max_file = CTX_MAX_BLOB;
	ctx->server = server;
	cs_set_abort(ctx, gone, NULL);
}

/* The input as cJSON reads it: taken only if an array of objects, ids
 * strings and unique. */
static void check_taken(const char *text, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(text, len);
	const cJSON *e;
	int n;
	FUZZ_CHECK(cJSON_IsArray(doc), "taken but not a JSON array: %.*s", (int)len, text);
	n = cJSON_GetArraySize(doc);
	FUZZ_CHECK(n >= 1 && n <= 100000, "taken with %d jobs", n);
	cJSON_ArrayForEach(e, doc) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
		FUZZ_CHECK(cJSON_IsObject(e), "taken with an entry that is no object");
		FUZZ_CHECK(!id || cJSON_IsString(id), "taken with an id that is no string");
		for (const cJSON *f = doc->child; id && f != e; f = f->next) {
			const char *o = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "id"));
			FUZZ_CHECK(!o || strcmp(o, id->valuestring), "taken with id '%s' twice",
				   id->valuestring);
		}
	}
	cJSON_Delete(doc);
}

/* The first (i, k), k < i, of jobs with one id, as cJSON reads the text. */
static void check_dup(const char *text, size_t len, int want_i, int want_k)
{
	cJSON *doc = cJSON_ParseWithLength(text, len);
	int i = 0, fi = -1, fk = -1;
	for (const cJSON *e = doc ? doc->child : NULL; e && fi < 0; e = e->next, i++) {
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "id"));
		int k = 0;
		for (const cJSON *f = doc->child; id && f != e; f = f->next, k++) {
			const char *o = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "id"));
			if (o && !strcmp(o, id)) {
				fi = i + 1;
				fk = k + 1;
				break;
			}
		}
	}
	FUZZ_CHECK(fi == want_i && fk == want_k, "named job %d as job %d's, but it is job %d as"
		   " job %d's", want_i, want_k, fi, fk);
	cJSON_Delete(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), **ids = (char **)1;
	const char *at;
	int n = -1, rc, line, col, lines = 1, end;

	if (!ctx)
		setup();
	FUZZ_CHECK(text, "out of memory");
	memcpy(text, data, size);
	text[size] = 0;
	ctx->err[0] = 0;
	rc = cs_job_add_batch(ctx, &ids, &n, text, size);
	FUZZ_CHECK(!ids && !n, "a batch that was not decided handed back %d ids", n);
	FUZZ_CHECK(rc == CS_EINVAL || (rc == CS_ERROR && (strstr(ctx->err, "nothing was decided") ||
						      !strcmp(ctx->err, "out of memory"))),
		   "neither refused nor abandoned: %d %s", rc, ctx->err);
	FUZZ_CHECK(ctx->err[0], "no message");
	if (rc == CS_ERROR && strstr(ctx->err, "nothing was decided"))
		check_taken(text, size);
	end = 0;
	if ((at = strstr(ctx->err, "' is also job ")) &&
	    sscanf(ctx->err, "job %d of %*d: id '%n", &line, &end) == 1 && end &&
	    sscanf(at, "' is also job %d's", &col) == 1)
		check_dup(text, size, line, col);
	if ((at = strstr(ctx->err, "invalid JSON at line ")) &&
	    sscanf(at, "invalid JSON at line %d, column %d", &line, &col) == 2) {
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n';
		FUZZ_CHECK(line >= 1 && line <= lines && col >= 1 && (size_t)col <= size + 1,
			   "line %d, column %d is outside the text (%d lines, %zu bytes)", line, col,
			   lines, size);
	}
	free(text);
	return 0;
}
