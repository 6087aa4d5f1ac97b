/* JSON text without cJSON: scanning, checking and writing (json.c). */
#ifndef CS_JSON_H
#define CS_JSON_H

#include "util.h"

/* ---- JSON text (json.c) ----------------------------------------------- */
/* A span of the source text: [start, end). */
typedef struct jspan { size_t start, end; } jspan;
typedef struct jmember {
	jspan key;          /* the key's string literal, quotes included; 0,0 in arrays */
	jspan val;
} jmember;
typedef struct jscan {
	jmember *m;
	size_t n, cap;
} jscan;
/* List the members of the object or array whose text starts at `at` (after
 * whitespace).  *end is set past its closing bracket.  On a syntax error
 * returns -1 and sets *err_at to the offending offset. */
int json_members(const char *s, size_t len, size_t at, int want, jscan *out,
		 size_t *end, size_t *err_at);
/* The same, appending to out, from `at`: just after the opening bracket
 * (first set) or just after a member.  Stops before a member that starts at
 * or after `stop`, returning 1 with *end at its start. */
int json_members_from(const char *s, size_t len, size_t at, int obj, int first, size_t stop,
		      jscan *out, size_t *end, size_t *err_at);
int jscan_push(jscan *sc, jspan key, jspan val);   /* -1 on oom */
/* Lengths of the common prefix *p and suffix *q of texts a and b; the two
 * never overlap in the shorter text. */
void text_common(const char *a, size_t alen, const char *b, size_t blen, size_t *p, size_t *q);
void jscan_free(jscan *sc);
/* Offset past whitespace at i; past the value at i (0 on error, *err set). */
size_t json_skip_ws(const char *s, size_t len, size_t i);
size_t json_skip_value(const char *s, size_t len, size_t i, size_t *err);
/* Offset of the first byte that is not valid UTF-8, or is a control
 * character inside a string or other than whitespace outside one, or starts
 * a \u0000 escape or a \u without four hex digits, or makes a number that
 * JSON does not allow (a leading zero, a point without a digit on each
 * side); or len. */
size_t json_text_check(const char *s, size_t len);
/* Bump when json_text_check accepts less: a mirror remembers which version
 * of a file passed which version of the check, and checks only the bytes
 * that changed in the next version of a file that passed this one. */
#define JSON_TEXT_CHECK_VERSION 2
/* Line and column (1-based) of offset off. */
void json_linecol(const char *s, size_t off, int *line, int *col);
/* Append s as a JSON string literal, escaped as Python's json.dumps does
 * (ensure_ascii: non-ASCII as \uXXXX). */
void json_put_string(sbuf *b, const char *s);
void json_put_number(sbuf *b, double v);
/* Decode the string literal at span into a malloc'd UTF-8 string. */
char *json_string_value(const char *s, jspan sp);

#endif
