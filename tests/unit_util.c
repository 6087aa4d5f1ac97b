/* Unit tests of util.c's parsers: durations (cs_duration_parse) and the
 * names no server may take (cs_reserved_id, cs_valid_server_id). */
#include <stdlib.h>
#include "test.h"
#include "coordsync/coordsync.h"

static long long dur(const char *s)
{
	long long v = -12345;
	return cs_duration_parse(s, &v) ? -1 : v;
}

static void test_durations(void)
{
	long long v = 7;
	/* A bare number is seconds; systemd's units from a second up. */
	CHECK(dur("0") == 0 && dur("90") == 90);
	CHECK(dur("30s") == 30 && dur("30sec") == 30 && dur("1second") == 1 && dur("2seconds") == 2);
	CHECK(dur("15m") == 900 && dur("15min") == 900 && dur("1minute") == 60);
	CHECK(dur("2h") == 7200 && dur("1hr") == 3600 && dur("3hours") == 10800);
	CHECK(dur("7d") == 604800 && dur("1day") == 86400 && dur("1w") == 604800);
	CHECK(dur("2weeks") == 1209600);
	/* Sums, with or without spaces between the parts. */
	CHECK(dur("1h30m") == 5400 && dur("1h 30m") == 5400 && dur("1d 2h 3m 4s") == 93784);
	/* Refused: empty, signs, fractions, unknown or sub-second units, a
	 * bare number after a unit, blanks around, overflow. */
	CHECK(dur("") == -1 && dur(NULL) == -1);
	CHECK(dur("-5") == -1 && dur("+5") == -1 && dur("1.5h") == -1);
	CHECK(dur("15x") == -1 && dur("5ms") == -1 && dur("5us") == -1 && dur("m") == -1);
	CHECK(dur("1h 30") == -1 && dur(" 5") == -1 && dur("5 ") == -1 && dur("5m ") == -1);
	CHECK(dur("1H") == -1 && dur("abc") == -1 && dur("0x10") == -1);
	CHECK(dur("99999999999999999999") == -1 && dur("9223372036854775807s") == -1);
	CHECK(dur("1000000w") == -1 && dur("300000d 300000d") == -1 && dur("300000d") == 300000LL * 86400);
	CHECK(dur("50000w") == 50000LL * 604800);
	/* *out is left alone on failure. */
	CHECK(cs_duration_parse("bad", &v) == -1 && v == 7);
}

static void test_server_ids(void)
{
	CHECK(cs_valid_server_id("build1") && cs_valid_server_id("web-2.prod"));
	CHECK(!cs_valid_server_id("coordination") && !cs_valid_server_id("all"));
	CHECK(!cs_valid_server_id("docs") && !cs_valid_server_id("Docs") && !cs_valid_server_id("LOGS"));
	CHECK(!cs_valid_server_id("schema") && !cs_valid_server_id("null"));
	CHECK(!cs_valid_server_id(".hidden") && !cs_valid_server_id("../x") && !cs_valid_server_id(""));
	CHECK(cs_reserved_id("all") && cs_reserved_id(".git") && !cs_reserved_id("build1"));
	/* Reserved ids stay valid names for jobs and locks. */
	CHECK(cs_valid_id("docs") && cs_valid_id("all"));
}

int main(void)
{
	test_durations();
	test_server_ids();
	return t_done();
}
