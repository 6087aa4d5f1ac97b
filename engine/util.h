/* Growable buffers, time and small helpers (util.c). */
#ifndef CS_UTIL_H
#define CS_UTIL_H

#include <stddef.h>

/* ---- growable buffer (util.c) ---------------------------------------- */
typedef struct sbuf {
	char *p;
	size_t n, cap;
	int oom;            /* set once an allocation failed; writes then no-op */
} sbuf;
void sb_put(sbuf *b, const char *s, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_putc(sbuf *b, char c);
void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *sb_detach(sbuf *b);   /* NUL-terminated; caller frees; NULL on oom */
void sb_free(sbuf *b);

/* ---- time (util.c) ---------------------------------------------------- */
double util_now(void);                          /* wall clock, epoch seconds */
double util_mono(void);                         /* CLOCK_MONOTONIC, seconds: for intervals */
/* Times are epoch seconds within years 1 to 9999: anything else in a file
 * is refused rather than carried into casts and date arithmetic. */
#define UTIL_TIME_MIN -62135596800.0   /* 0001-01-01T00:00:00Z */
#define UTIL_TIME_MAX 253402300799.0   /* 9999-12-31T23:59:59Z */
int util_time_parse(const char *s, double *out); /* ISO-8601; 0 ok, -1 bad */
void util_time_iso(double t, char out[32]);     /* YYYY-MM-DDTHH:MM:SSZ */
char *util_strdup(const char *s);
int util_replace_file(const char *tmp, const char *path);   /* 0, or -1 and errno */
char *util_uuid(void);                          /* new random uuid, caller frees */

#endif
