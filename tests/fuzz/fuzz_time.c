/* Fuzz harness for the time parsers (engine/util.c): util_time_parse (ISO-8601)
 * and cs_parse_time (that or epoch seconds), and the writer util_time_iso.
 * Properties, for any input:
 *   - a parsed time lies in years 1 to 9999, and both parsers agree;
 *   - parse(format(t)) == floor(t) for every time in range, parsed or
 *     taken from the input's first 8 bytes as a double; out of range (or
 *     NaN) the writer gives "";
 *   - a canonical YYYY-MM-DDTHH:MM:SSZ string (not a leap second) that
 *     parses is written back unchanged. */
#include <math.h>
#include <string.h>
#include "coordsync/coordsync.h"
#include "util.h"
#include "fuzz.h"

static int canonical(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	if (strlen(s) != sizeof shape - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return 0;
	return strcmp(s + 17, "60Z") != 0;
}

static void round_trip(double t, const char *from)
{
	char iso[32];
	double back;
	util_time_iso(t, iso);
	if (!(t >= UTIL_TIME_MIN && t <= UTIL_TIME_MAX)) {
		FUZZ_CHECK(!iso[0], "%.17g (from '%s') written as '%s'", t, from, iso);
		return;
	}
	FUZZ_CHECK(iso[0], "%.17g (from '%s') not written", t, from);
	FUZZ_CHECK(!util_time_parse(iso, &back), "'%s' (from %.17g) does not parse", iso, t);
	FUZZ_CHECK(back == floor(t), "'%s' reads %.17g, not floor(%.17g)", iso, back, t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[96], iso[32];
	double t, t2, d;
	size_t n = size < sizeof s - 1 ? size : sizeof s - 1;

	if (size >= sizeof d) {
		memcpy(&d, data, sizeof d);
		round_trip(d, "8 bytes");
	}
	memcpy(s, data, n);
	s[n] = 0;
	if (!util_time_parse(s, &t)) {
		FUZZ_CHECK(t >= UTIL_TIME_MIN && t <= UTIL_TIME_MAX, "'%s' reads %.17g", s, t);
		FUZZ_CHECK(!cs_parse_time(s, &t2) && t2 == t, "parsers disagree on '%s'", s);
		round_trip(t, s);
		if (canonical(s)) {
			util_time_iso(t, iso);
			FUZZ_CHECK(!strcmp(iso, s), "'%s' written back as '%s'", s, iso);
		}
	}
	if (!cs_parse_time(s, &t)) {
		FUZZ_CHECK(t >= UTIL_TIME_MIN && t <= UTIL_TIME_MAX, "'%s' reads %.17g", s, t);
		round_trip(t, s);
	}
	return 0;
}
