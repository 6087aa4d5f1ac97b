/*
 * floor: the bare cost of loading jobs.json and messages.json into SQLite.
 *
 *   floor [--mirror] DB jobs.json messages.json
 *
 * Reads each file whole, parses it with one cJSON_ParseWithLength call, and in
 * ONE transaction inserts every job and every message with one prepared
 * statement per table (sqlite3_reset + sqlite3_clear_bindings between rows).
 * Times become epoch seconds (REAL) through a small ISO-8601 parser.
 *
 * It does not keep each record's JSON text, an `ord` or a `dirty` flag, and it
 * writes no files/meta rows, so it is a stricter floor than `coordsync rebuild`.
 * By default the tables are plain rowid tables with no key and no index (the
 * strictest floor).  --mirror gives them the mirror's shape instead: id TEXT
 * PRIMARY KEY, WITHOUT ROWID, and the jobs_queue index.  With random UUIDs as
 * keys that costs much more than the plain inserts (see README.md).
 *
 * DB must not exist (or be empty): the tables are created here.  Phase
 * times go to stderr.  Build:
 *   cc -O2 -Wall -Wextra -Werror floor.c $(pkg-config --cflags --libs libcjson sqlite3)
 */
#define _POSIX_C_SOURCE 200809L
#include <cJSON.h>
#include <sqlite3.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "floor: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

static void sqlcheck(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		die(what, sqlite3_errmsg(db));
}

/* Whole file, NUL-terminated. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0)
		die(path, strerror(errno));
	long n = ftell(f);
	if (n < 0 || fseek(f, 0, SEEK_SET) != 0)
		die(path, strerror(errno));
	char *buf = malloc((size_t)n + 1);
	if (!buf)
		die("out of memory", NULL);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		die(path, "short read");
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return 0;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 1;
}

/*
 * YYYY-MM-DD[(T|t| )HH:MM[:SS[(.|,)frac]]][Z|z|(+|-)HH[[:]MM]] -> epoch seconds.
 * Returns 0 when the text is not such a time.
 */
static int parse_iso(const char *s, double *out)
{
	int Y, M, D, h = 0, m = 0, sec = 0;
	double frac = 0, off = 0;
	const char *p = s;
	if (!digits(&p, 4, &Y) || *p++ != '-' || !digits(&p, 2, &M) || *p++ != '-' ||
	    !digits(&p, 2, &D))
		return 0;
	if (M < 1 || M > 12 || D < 1 || D > 31)
		return 0;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &m))
			return 0;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return 0;
			if (*p == '.' || *p == ',') {
				double scale = 0.1;
				p++;
				if (!isdigit((unsigned char)*p))
					return 0;
				while (isdigit((unsigned char)*p)) {
					frac += (*p++ - '0') * scale;
					scale /= 10;
				}
			}
		}
		if (h > 23 || m > 59 || sec > 60)
			return 0;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
			if (!digits(&p, 2, &oh))
				return 0;
			if (*p == ':')
				p++;
			if (isdigit((unsigned char)*p) && !digits(&p, 2, &om))
				return 0;
			off = sign * (oh * 3600.0 + om * 60.0);
		}
	}
	if (*p)
		return 0;
	*out = (double)(days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 +
			m * 60 + sec) + frac - off;
	return 1;
}

static void bind_text(sqlite3_stmt *st, int i, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (cJSON_IsString(v))
		sqlite3_bind_text(st, i, v->valuestring, -1, SQLITE_STATIC);
	/* else: NULL (bindings were cleared) */
}

static void bind_int(sqlite3_stmt *st, int i, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (cJSON_IsBool(v))
		sqlite3_bind_int(st, i, cJSON_IsTrue(v));
	else if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
		sqlite3_bind_int64(st, i, (sqlite3_int64)v->valuedouble);
}

static void bind_time(sqlite3_stmt *st, int i, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	double t;
	if (cJSON_IsNumber(v))
		sqlite3_bind_double(st, i, v->valuedouble);
	else if (cJSON_IsString(v) && parse_iso(v->valuestring, &t))
		sqlite3_bind_double(st, i, t);
}

struct phase {
	double read, parse, insert, free;
	long rows;
};

typedef void (*binder)(sqlite3_stmt *, const cJSON *);

static void bind_job(sqlite3_stmt *st, const cJSON *j)
{
	bind_text(st, 1, j, "id");
	bind_text(st, 2, j, "status");
	bind_text(st, 3, j, "assigned_to");
	bind_int(st, 4, j, "priority");
	bind_time(st, 5, j, "created_at");
	bind_time(st, 6, j, "started_at");
}

static void bind_msg(sqlite3_stmt *st, const cJSON *m)
{
	bind_text(st, 1, m, "id");
	bind_text(st, 2, m, "from");
	bind_text(st, 3, m, "to");
	bind_text(st, 4, m, "type");
	bind_text(st, 5, m, "subject");
	bind_text(st, 6, m, "body");
	bind_time(st, 7, m, "timestamp");
	bind_int(st, 8, m, "read");
}

static void load(sqlite3 *db, const char *path, const char *key, const char *sql, binder bind,
		 struct phase *ph)
{
	double t0 = now();
	size_t len;
	char *text = slurp(path, &len);
	double t1 = now();
	cJSON *root = cJSON_ParseWithLength(text, len + 1); /* include the NUL */
	if (!root)
		die(path, "JSON parse error");
	double t2 = now();

	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!cJSON_IsArray(arr))
		die(path, "top-level array missing");
	sqlite3_stmt *st;
	sqlcheck(db, sqlite3_prepare_v2(db, sql, -1, &st, NULL), sql);
	const cJSON *rec;
	cJSON_ArrayForEach(rec, arr)
	{
		if (!cJSON_IsObject(rec))
			continue;
		bind(st, rec);
		sqlcheck(db, sqlite3_step(st), path);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		ph->rows++;
	}
	sqlite3_finalize(st);
	double t3 = now();
	cJSON_Delete(root);
	free(text);
	double t4 = now();
	ph->read += t1 - t0;
	ph->parse += t2 - t1;
	ph->insert += t3 - t2;
	ph->free += t4 - t3;
}

static const char SCHEMA_MIRROR[] =
	"CREATE TABLE jobs(id TEXT PRIMARY KEY, status TEXT, assigned_to TEXT,"
	" priority INTEGER, created_at REAL, started_at REAL) WITHOUT ROWID;"
	"CREATE INDEX jobs_queue ON jobs(status, priority, created_at);"
	"CREATE TABLE messages(id TEXT PRIMARY KEY, from_server TEXT, to_server TEXT,"
	" type TEXT, subject TEXT, body TEXT, timestamp REAL, read INTEGER) WITHOUT ROWID;";

static const char SCHEMA_PLAIN[] =
	"CREATE TABLE jobs(id TEXT, status TEXT, assigned_to TEXT,"
	" priority INTEGER, created_at REAL, started_at REAL);"
	"CREATE TABLE messages(id TEXT, from_server TEXT, to_server TEXT,"
	" type TEXT, subject TEXT, body TEXT, timestamp REAL, read INTEGER);";

int main(int argc, char **argv)
{
	int mirror = 0;
	if (argc > 1 && strcmp(argv[1], "--mirror") == 0) {
		mirror = 1;
		argc--;
		argv++;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: floor [--mirror] DB jobs.json messages.json\n");
		return 2;
	}
	double t0 = now();
	sqlite3 *db;
	if (sqlite3_open(argv[1], &db) != SQLITE_OK)
		die(argv[1], sqlite3_errmsg(db));
	sqlcheck(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), "BEGIN");
	sqlcheck(db, sqlite3_exec(db, mirror ? SCHEMA_MIRROR : SCHEMA_PLAIN, NULL, NULL, NULL),
		 "CREATE TABLE");

	struct phase ph = {0};
	load(db, argv[2], "jobs",
	     "INSERT INTO jobs(id, status, assigned_to, priority, created_at, started_at)"
	     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	     bind_job, &ph);
	load(db, argv[3], "messages",
	     "INSERT INTO messages(id, from_server, to_server, type, subject, body, timestamp,"
	     " read) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	     bind_msg, &ph);

	double t1 = now();
	sqlcheck(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "COMMIT");
	double t2 = now();
	if (sqlite3_close(db) != SQLITE_OK)
		die("close", NULL);
	fprintf(stderr,
		"floor%s: %ld rows: read %.3f s, parse %.3f s, insert %.3f s, free %.3f s,"
		" commit %.3f s, total %.3f s\n",
		mirror ? " --mirror" : "", ph.rows, ph.read, ph.parse, ph.insert, ph.free, t2 - t1,
		now() - t0);
	return 0;
}
