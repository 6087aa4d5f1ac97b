/* A growable buffer, time conversion, ids and file replacement. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <uuid/uuid.h>
#include "coordsync/coordsync.h"
#include "util.h"

/* ---- growable buffer --------------------------------------------------- */

static int sb_grow(sbuf *b, size_t add)
{
	size_t want;
	char *p;
	if (b->oom)
		return -1;
	if (b->n + add + 1 <= b->cap)
		return 0;
	want = b->cap ? b->cap : 256;
	while (want < b->n + add + 1) {
		if (want > ((size_t)-1) / 2) {
			b->oom = 1;
			return -1;
		}
		want *= 2;
	}
	p = realloc(b->p, want);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = want;
	return 0;
}

void sb_put(sbuf *b, const char *s, size_t n)
{
	if (sb_grow(b, n))
		return;
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

void sb_puts(sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

void sb_putc(sbuf *b, char c)
{
	sb_put(b, &c, 1);
}

void sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	char small[256];
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		sb_put(b, small, (size_t)n);
		return;
	}
	if (sb_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)n;
}

char *sb_detach(sbuf *b)
{
	char *p;
	if (b->oom) {
		sb_free(b);
		return NULL;
	}
	if (!b->p) {
		if (sb_grow(b, 0))
			return NULL;
		b->p[0] = 0;
	}
	p = b->p;
	b->p = NULL;
	b->n = b->cap = 0;
	return p;
}

void sb_free(sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
	b->oom = 0;
}

char *util_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* ---- time ---------------------------------------------------------------- */

double util_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double util_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Accepts YYYY-MM-DD[(T| )HH:MM[:SS[.frac]]][Z|±HH[[:]MM]].  No zone means
 * UTC, which is what the seed's tools write.  The date must exist (a leap
 * second, :60, is taken as the next second), and the result must lie in
 * years 1 to 9999 (UTIL_TIME_MIN, UTIL_TIME_MAX). */
int util_time_parse(const char *s, double *out)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h = 0, mi = 0, sec = 0, zh = 0, zm = 0, sign = 1;
	double frac = 0, t;
	struct tm tm;
	const char *p = s;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return -1;
			if (*p == '.' || *p == ',') {
				double scale = 0.1;
				p++;
				if (*p < '0' || *p > '9')
					return -1;
				while (*p >= '0' && *p <= '9') {
					frac += (*p++ - '0') * scale;
					scale /= 10;
				}
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '-' ? -1 : 1;
			if (digits(&p, 2, &zh))
				return -1;
			if (*p == ':')
				p++;
			if ((*p || p[-1] == ':') && digits(&p, 2, &zm))
				return -1;
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap(y)) ||
	    h > 23 || mi > 59 || sec > 60 || zh > 23 || zm > 59)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (double)timegm(&tm) + frac - sign * (zh * 3600.0 + zm * 60.0);
	if (!(t >= UTIL_TIME_MIN && t <= UTIL_TIME_MAX))
		return -1;
	*out = t;
	return 0;
}

int cs_parse_time(const char *s, double *out)
{
	char *end;
	double t;
	if (!s || !*s)
		return -1;
	if (!util_time_parse(s, out))
		return 0;
	/* Epoch seconds, in decimal: strtod alone would take hex, "inf" and
	 * leading blanks too. */
	if (s[strspn(s, "0123456789+-.eE")])
		return -1;
	errno = 0;
	t = strtod(s, &end);
	if (end == s || *end || errno || !(t >= UTIL_TIME_MIN && t <= UTIL_TIME_MAX))
		return -1;
	*out = t;
	return 0;
}

/* t rounded down to the second, as YYYY-MM-DDTHH:MM:SSZ; "" outside years
 * 1 to 9999 (and for NaN). */
void util_time_iso(double t, char out[32])
{
	struct tm tm;
	time_t s;
	char buf[80];   /* what the compiler reckons %d can take */
	out[0] = 0;
	if (!(t >= UTIL_TIME_MIN && t <= UTIL_TIME_MAX))
		return;
	s = (time_t)floor(t);
	if (!gmtime_r(&s, &tm))
		return;
	/* Not strftime's %Y: it does not pad years before 1000 to 4 digits. */
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (strlen(buf) < 32)
		memcpy(out, buf, strlen(buf) + 1);
}

char *util_uuid(void)
{
	uuid_t u;
	char *s = malloc(37);
	if (!s)
		return NULL;
	uuid_generate_random(u);
	uuid_unparse_lower(u, s);
	return s;
}

int cs_valid_id(const char *id)
{
	size_t n = 0;
	if (!id || !*id || *id == '.' || strstr(id, ".."))
		return 0;
	for (const char *p = id; *p; p++, n++) {
		char c = *p;
		if (n >= 64)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Names a server cannot take: the directories of the repository's shared
 * layout (coordination/, docs/ ...), "all" (the broadcast recipient), and
 * words that the seed's shell tools print for a missing value (jq -r gives
 * "null").  Compared without case: a checkout on a case-insensitive file
 * system would mix "Docs/" with "docs/".  Names with a leading dot are not
 * valid ids at all (cs_valid_id). */
static const char *const reserved_ids[] = {
	"all", "coordination", "docs", "schema", "schemas", "logs", "archive", "scripts",
	"queries", "tests", "null", "none", "nobody", "head", "readme", "readme.md", NULL};

int cs_reserved_id(const char *id)
{
	if (!id || *id == '.')
		return 1;
	for (int i = 0; reserved_ids[i]; i++)
		if (!strcasecmp(id, reserved_ids[i]))
			return 1;
	return 0;
}

int cs_valid_server_id(const char *id)
{
	return cs_valid_id(id) && !cs_reserved_id(id);
}

/* ---- durations ------------------------------------------------------------ */

/* The seconds of one unit word, or 0 when it is not one: systemd.time(7)'s
 * units from a second up (a duration here is whole seconds). */
static long long unit_seconds(const char *u, size_t n)
{
	static const struct { const char *name; long long sec; } units[] = {
		{"s", 1}, {"sec", 1}, {"secs", 1}, {"second", 1}, {"seconds", 1},
		{"m", 60}, {"min", 60}, {"mins", 60}, {"minute", 60}, {"minutes", 60},
		{"h", 3600}, {"hr", 3600}, {"hrs", 3600}, {"hour", 3600}, {"hours", 3600},
		{"d", 86400}, {"day", 86400}, {"days", 86400},
		{"w", 604800}, {"week", 604800}, {"weeks", 604800}, {NULL, 0}};
	for (int i = 0; units[i].name; i++)
		if (strlen(units[i].name) == n && !memcmp(units[i].name, u, n))
			return units[i].sec;
	return 0;
}

/* A duration as systemd writes one: "90", "30s", "15m", "2h", "7d", "1w",
 * or several added up ("1h 30m", "1h30m").  A bare number is seconds (a
 * caller whose bare number means something else tests for digits first).
 * Whole numbers only, no sign; the total must fit in a year's thousand
 * (about 3.2e10 s), so that callers can add it to a time without overflow.
 * Returns 0 and *out_seconds, or -1 (and *out_seconds untouched). */
int cs_duration_parse(const char *text, long long *out_seconds)
{
	const long long max = 1000LL * 366 * 86400;
	long long total = 0;
	const char *p = text;
	int parts = 0;

	if (!p || !*p)
		return -1;
	while (*p) {
		long long n = 0, unit = 1;
		const char *u;
		if (parts && *p == ' ')
			while (*p == ' ')
				p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			n = n * 10 + (*p - '0');
			if (n > max)
				return -1;
		}
		for (u = p; (*p >= 'a' && *p <= 'z'); p++)
			;
		if (p > u && !(unit = unit_seconds(u, (size_t)(p - u))))
			return -1;
		if (p == u && (parts || *p))
			return -1;   /* a bare number stands alone */
		if (n > (max - total) / unit)
			return -1;
		total += n * unit;
		parts++;
	}
	*out_seconds = total;
	return 0;
}

/* ---- replacing a file --------------------------------------------------- */

/* Put the file at tmp in the place of the regular file at path, atomically,
 * and remove the old one.  It swaps the two (RENAME_EXCHANGE) and unlinks
 * the old file: when a rename replaces a file, ext4 first allocates and
 * starts writing back the new file's data (auto_da_alloc), which took 0.28 s
 * for a 140 MB mirror here, and neither the mirror (git rebuilds it) nor the
 * working tree (a 29 MB jobs.json at 100k jobs) needs that.  Anything else
 * at path, or no swap on this file system: rename().  Returns 0, or -1 with
 * errno set. */
int util_replace_file(const char *tmp, const char *path)
{
	struct stat st;

	if (!lstat(path, &st) && S_ISREG(st.st_mode) &&
	    !renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE)) {
		unlink(tmp);
		return 0;
	}
	return rename(tmp, path);
}
