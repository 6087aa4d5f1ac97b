/* Unit tests of the JSON text layer: spans, Python-compatible writing,
 * record patching, times and ids. */
#include <stdlib.h>
#include "util.h"
#include "json.h"
#include "json_int.h"
#include "export.h"
#include "test.h"

static void test_members(void)
{
	const char *s = "{\n  \"jobs\": [\n    {\"id\": \"a\", \"x\": \"]}\\\"\"},\n    {\"id\": \"b\"}\n  ],"
			" \"n\": -1.5e3, \"t\": true}\n";
	jscan sc = {0}, in = {0};
	size_t end, err;
	CHECK(json_members(s, strlen(s), 0, '{', &sc, &end, &err) == 0);
	CHECK(sc.n == 3);
	char *k = json_string_value(s, sc.m[0].key);
	CHECK_STR(k, "jobs");
	free(k);
	CHECK(json_members(s, sc.m[0].val.end, sc.m[0].val.start, '[', &in, &end, &err) == 0);
	CHECK(in.n == 2);
	CHECK(!strncmp(s + in.m[0].val.start, "{\"id\": \"a\"", 10));
	CHECK(s[in.m[0].val.end - 1] == '}' && s[in.m[1].val.end - 1] == '}');
	CHECK(!strncmp(s + sc.m[1].val.start, "-1.5e3", sc.m[1].val.end - sc.m[1].val.start));
	jscan_free(&in);

	/* Errors carry the offset; line and column follow from it. */
	const char *bad = "{\n  \"a\": 1\n  \"b\": 2\n}";
	int line, col;
	CHECK(json_members(bad, strlen(bad), 0, '{', &sc, &end, &err) == -1);
	json_linecol(bad, err, &line, &col);
	CHECK(line == 3 && col == 3);
	CHECK(json_members("[1, 2", 5, 0, '[', &sc, &end, &err) == -1);
	CHECK(json_members("[1 2]", 5, 0, '[', &sc, &end, &err) == -1);
	CHECK(json_members("{\"a\" 1}", 7, 0, '{', &sc, &end, &err) == -1);
	/* Control characters and bad UTF-8 are json_text_check's to find. */
	CHECK(json_members("[\"a\nb\"]", 7, 0, '[', &sc, &end, &err) == 0);
	CHECK(json_text_check("[\"a\nb\"]", 7) == 3);
	CHECK(json_text_check("[\"a\\\"\nb\"]", 9) == 5);
	CHECK(json_text_check("{\n\t\"a\": 1\r\n}", 12) == 12);
	CHECK(json_text_check("[1]\x01", 4) == 3);
	CHECK(json_text_check("\"\xc3\xa9\xf0\x9f\x98\x80\"", 8) == 8);
	CHECK(json_text_check("\"\xc3\"", 3) == 1);
	CHECK(json_text_check("\"\xed\xa0\x80\"", 5) == 1);   /* a surrogate */
	CHECK(json_text_check("\xf0\x9f", 2) == 0);
	CHECK(json_members("[\"a\\\"\", \"\\\\\"]", 14, 0, '[', &sc, &end, &err) == 0 && sc.n == 2);
	CHECK(json_members("[]", 2, 0, '{', &sc, &end, &err) == -1);
	CHECK(json_members(" [ ] ", 5, 0, '[', &sc, &end, &err) == 0 && sc.n == 0 && end == 4);
	jscan_free(&sc);
}

static void test_write(void)
{
	sbuf b = {0};
	/* As Python's json.dumps with ensure_ascii. */
	json_put_string(&b, "a\"b\\c\n\t\x01 h\xc3\xa9 \xf0\x9f\x98\x80 /");
	CHECK_STR(b.p, "\"a\\\"b\\\\c\\n\\t\\u0001 h\\u00e9 \\ud83d\\ude00 /\"");
	sb_free(&b);
	json_put_number(&b, 3);
	sb_puts(&b, " ");
	json_put_number(&b, 2.5);
	sb_puts(&b, " ");
	json_put_number(&b, 0.1);
	sb_puts(&b, " ");
	json_put_number(&b, 1e300);
	CHECK_STR(b.p, "3 2.5 0.1 1e+300");
	sb_free(&b);

	cJSON *o = cJSON_Parse("{\"a\": [1, {\"b\": null}], \"c\": {}, \"d\": []}");
	json_put_value(&b, o, 0, 2);
	CHECK_STR(b.p, "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {},\n"
		       "  \"d\": []\n}");
	sb_free(&b);
	json_put_value(&b, o, 0, 0);
	CHECK_STR(b.p, "{\"a\": [1, {\"b\": null}], \"c\": {}, \"d\": []}");
	sb_free(&b);
	cJSON_Delete(o);

	jspan sp = {0, 14};
	char *v = json_string_value("\"x\\u00e9\\n\\\"y\"", sp);
	CHECK_STR(v, "x\xc3\xa9\n\"y");
	free(v);
}

static void test_patch(void)
{
	cs_ctx *ctx = calloc(1, sizeof *ctx);
	const char *keys[2] = {"status", "new"};
	char *vals[2] = {"\"running\"", "1"};
	char *out = NULL;

	/* Multi-line: replaced in place, new member last with the same indent. */
	CHECK(export_patch(ctx, "{\n      \"id\": \"a\",\n      \"status\": \"queued\"\n    }", keys,
			  vals, 2, &out) == 0);
	CHECK_STR(out, "{\n      \"id\": \"a\",\n      \"status\": \"running\",\n      \"new\": 1\n    }");
	free(out);
	/* One line stays one line. */
	CHECK(export_patch(ctx, "{\"id\": \"a\", \"status\": null}", keys, vals, 2, &out) == 0);
	CHECK_STR(out, "{\"id\": \"a\", \"status\": \"running\", \"new\": 1}");
	free(out);
	CHECK(export_patch(ctx, "{}", keys, vals, 1, &out) == 0);
	CHECK_STR(out, "{\"status\": \"running\"}");
	free(out);
	CHECK(export_patch(ctx, "[1]", keys, vals, 1, &out) != 0);
	free(ctx);
}

static void test_time(void)
{
	double t;
	char iso[32];
	CHECK(util_time_parse("2026-01-02T03:04:05Z", &t) == 0 && t == 1767323045.0);
	CHECK(util_time_parse("2026-01-02T03:04:05.5Z", &t) == 0 && t == 1767323045.5);
	CHECK(util_time_parse("2026-01-02T05:04:05+02:00", &t) == 0 && t == 1767323045.0);
	CHECK(util_time_parse("2026-01-02T01:04:05-0200", &t) == 0 && t == 1767323045.0);
	CHECK(util_time_parse("2026-01-02 03:04:05", &t) == 0 && t == 1767323045.0);
	CHECK(util_time_parse("2026-01-02", &t) == 0 && t == 1767312000.0);
	CHECK(util_time_parse("2026-01-02T03:04:05.123456", &t) == 0);
	CHECK(util_time_parse("yesterday", &t) == -1);
	CHECK(util_time_parse("2026-13-02T03:04:05Z", &t) == -1);
	CHECK(util_time_parse("2026-01-02T03:04:05Zjunk", &t) == -1);
	CHECK(util_time_parse("", &t) == -1);
	util_time_iso(1767323045.9, iso);
	CHECK_STR(iso, "2026-01-02T03:04:05Z");
}

static void test_ids(void)
{
	char long64[65], long65[66];
	memset(long64, 'a', 64);
	long64[64] = 0;
	memset(long65, 'a', 65);
	long65[65] = 0;
	CHECK(cs_valid_id("build1") && cs_valid_id("b.uild_-1") && cs_valid_id(long64));
	CHECK(!cs_valid_id(long65) && !cs_valid_id("") && !cs_valid_id(NULL));
	CHECK(!cs_valid_id(".hidden") && !cs_valid_id("..") && !cs_valid_id("a/b"));
	CHECK(!cs_valid_id("a..b") && !cs_valid_id("a b") && !cs_valid_id("\xc3\xa9"));
	char *u = util_uuid();
	CHECK(u && strlen(u) == 36 && u[14] == '4');
	free(u);
}

int main(void)
{
	test_members();
	test_write();
	test_patch();
	test_time();
	test_ids();
	return t_done();
}
