/* JSON as text: find the spans of an object's members or an array's
 * elements without building a tree, and write values the way Python's
 * json.dump(obj, f, indent=2) does, so that files the seed's tools wrote
 * change only where a record changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"
#include "json.h"
#include "json_int.h"

size_t json_skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* Skip the string literal at s[i] == '"'.  Returns the offset past the
 * closing quote, or 0 on error with *err set.  Control characters inside
 * are caught by json_text_check, which runs over every file first. */
static size_t skip_string(const char *s, size_t len, size_t i, size_t *err)
{
	for (i++; i < len;) {
		const char *q = memchr(s + i, '"', len - i);
		size_t j, bs = 0;
		if (!q)
			break;
		j = (size_t)(q - s);
		while (j - bs > i && s[j - bs - 1] == '\\')
			bs++;
		if (!(bs & 1))
			return j + 1;
		i = j + 1;       /* an escaped quote */
	}
	*err = len;
	return 0;
}

/* Bytes that matter while skipping a container. */
static const unsigned char bracket[256] = {
	['"'] = 1, ['{'] = 1, ['}'] = 1, ['['] = 1, [']'] = 1,
};

/* Skip one value.  Containers are only bracket-matched here; callers that
 * need them validated parse them with cJSON.  Returns 0 on error. */
size_t json_skip_value(const char *s, size_t len, size_t i, size_t *err)
{
	size_t depth = 0;
	if (i >= len) {
		*err = len;
		return 0;
	}
	if (s[i] == '"')
		return skip_string(s, len, i, err);
	if (s[i] == '{' || s[i] == '[') {
		for (; i < len; i++) {
			char c = s[i];
			if (!bracket[(unsigned char)c])
				continue;
			if (c == '"') {
				if (!(i = skip_string(s, len, i, err)))
					return 0;
				i--;
			} else if (c == '{' || c == '[') {
				depth++;
			} else if (c == '}' || c == ']') {
				if (--depth == 0)
					return i + 1;
			}
		}
		*err = len;
		return 0;
	}
	if (!strncmp(s + i, "true", len - i < 4 ? len - i : 4) && len - i >= 4)
		return i + 4;
	if (len - i >= 5 && !strncmp(s + i, "false", 5))
		return i + 5;
	if (len - i >= 4 && !strncmp(s + i, "null", 4))
		return i + 4;
	if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
		size_t j = i + 1;
		while (j < len && strchr("0123456789.eE+-", s[j]))
			j++;
		return j;
	}
	*err = i;
	return 0;
}

int jscan_push(jscan *sc, jspan key, jspan val)
{
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		jmember *m = realloc(sc->m, cap * sizeof *m);
		if (!m)
			return -1;
		sc->m = m;
		sc->cap = cap;
	}
	sc->m[sc->n].key = key;
	sc->m[sc->n].val = val;
	sc->n++;
	return 0;
}

int json_members_from(const char *s, size_t len, size_t at, int obj, int first, size_t stop,
		      jscan *out, size_t *end, size_t *err_at)
{
	char close = obj ? '}' : ']';
	size_t i = json_skip_ws(s, len, at);

	if (i < len && s[i] == close) {
		*end = i + 1;
		return 0;
	}
	if (!first) {
		if (i >= len || s[i] != ',') {
			*err_at = i;
			return -1;
		}
		i = json_skip_ws(s, len, i + 1);
	}
	for (;;) {
		jspan key = {0, 0}, val;
		if (i >= stop) {
			*end = i;
			return 1;
		}
		if (obj) {
			if (i >= len || s[i] != '"') {
				*err_at = i;
				return -1;
			}
			key.start = i;
			if (!(key.end = skip_string(s, len, i, err_at)))
				return -1;
			i = json_skip_ws(s, len, key.end);
			if (i >= len || s[i] != ':') {
				*err_at = i;
				return -1;
			}
			i = json_skip_ws(s, len, i + 1);
		}
		val.start = i;
		if (!(val.end = json_skip_value(s, len, i, err_at)))
			return -1;
		if (jscan_push(out, key, val)) {
			*err_at = (size_t)-1;
			return -1;
		}
		i = json_skip_ws(s, len, val.end);
		if (i < len && s[i] == ',') {
			i = json_skip_ws(s, len, i + 1);
			continue;
		}
		if (i < len && s[i] == close) {
			*end = i + 1;
			return 0;
		}
		*err_at = i;
		return -1;
	}
}

void text_common(const char *a, size_t alen, const char *b, size_t blen, size_t *p, size_t *q)
{
	size_t lim = alen < blen ? alen : blen, i = 0, j = 0;

	/* A block at a time with memcmp, then byte by byte. */
	while (i + 4096 <= lim && !memcmp(a + i, b + i, 4096))
		i += 4096;
	while (i < lim && a[i] == b[i])
		i++;
	while (j + 4096 <= lim - i && !memcmp(a + alen - j - 4096, b + blen - j - 4096, 4096))
		j += 4096;
	while (j < lim - i && a[alen - 1 - j] == b[blen - 1 - j])
		j++;
	*p = i;
	*q = j;
}

int json_members(const char *s, size_t len, size_t at, int want, jscan *out,
		 size_t *end, size_t *err_at)
{
	size_t i = json_skip_ws(s, len, at);

	out->n = 0;
	if (i >= len || (s[i] != '{' && s[i] != '[') || (want && s[i] != want)) {
		*err_at = i;
		return -1;
	}
	return json_members_from(s, len, i + 1, s[i] == '{', 1, (size_t)-1, out, end, err_at);
}

void jscan_free(jscan *sc)
{
	free(sc->m);
	sc->m = NULL;
	sc->n = sc->cap = 0;
}

void json_linecol(const char *s, size_t off, int *line, int *col)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < off && s[i]; i++) {
		if (s[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)s[i] & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

/* ---- writing ---------------------------------------------------------- */

/* Decode one UTF-8 sequence; returns its length, or 0 if malformed (an
 * overlong form, a surrogate, past U+10FFFF). */
static int utf8_decode(const unsigned char *p, unsigned *cp)
{
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
		*cp = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
		return *cp >= 0x80 ? 2 : 0;
	}
	if ((p[0] & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
		*cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
		/* U+D800..U+DFFF are halves of UTF-16 pairs, never characters:
		 * written as \u escapes they would not read back. */
		return *cp >= 0x800 && (*cp < 0xD800 || *cp > 0xDFFF) ? 3 : 0;
	}
	if ((p[0] & 0xF8) == 0xF0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
	    (p[3] & 0xC0) == 0x80) {
		*cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) |
		      (p[3] & 0x3Fu);
		return *cp >= 0x10000 && *cp <= 0x10FFFF ? 4 : 0;
	}
	return 0;
}

/* Bytes that need a look in json_text_check: quotes, backslashes, control
 * characters and non-ASCII (bit 1: inside a string; bit 2: outside one,
 * where '0' and '.' are looked at too).  Everything else is skipped in a
 * tight loop. */
static const unsigned char special[256] = {
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0,   /* '"', '.' */
	2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* '0' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0,   /* '\\' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
};

static int hex_digit(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Whatever this accepts less than before, bump JSON_TEXT_CHECK_VERSION
 * (json.h): mirrors trust that a file which passed it still does. */
size_t json_text_check(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned cp;
	size_t i = 0;
	int in_str = 0;
	for (;;) {
		unsigned char c, mask = in_str ? 1 : 2;
		int n;
		while (i < len && !(special[p[i]] & mask))
			i++;
		if (i >= len)
			return len;
		c = p[i];
		if (c == '0' || c == '.') {
			/* Outside strings: numbers as JSON has them, no leading zero
			 * ("01", "-01") and a digit on each side of a point ("1.",
			 * "1.e5").  cJSON takes those; Python's json and jq do not. */
			int before = i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9';
			int after = i + 1 < len && p[i + 1] >= '0' && p[i + 1] <= '9';
			if (c == '.' ? !before || !after
				     : after && !before && (i == 0 || p[i - 1] != '.') &&
					       (i == 0 || !strchr("eE+", p[i - 1])) &&
					       (i < 2 || p[i - 1] != '-' || !strchr("eE", p[i - 2])))
				return i;
			i++;
		} else if (c == '"') {
			in_str = !in_str;
			i++;
		} else if (c == '\\') {
			/* A \u0000 escape would end the decoded C string early:
			 * "a\u0000b" would read as "a".  So would a \u without
			 * four hex digits ("\u00e\", "\uzzzz"), which cJSON
			 * decodes as U+0000 and Python's json refuses. */
			if (in_str && len - i >= 6 && p[i + 1] == 'u' &&
			    (!memcmp(p + i + 2, "0000", 4) || !hex_digit(p[i + 2]) ||
			     !hex_digit(p[i + 3]) || !hex_digit(p[i + 4]) || !hex_digit(p[i + 5])))
				return i;
			i += in_str ? 2 : 1;   /* the escaped byte cannot end the string */
		} else if (c < 0x20) {
			/* Raw control characters: never inside a string (Python's
			 * json rejects them, cJSON would not), and outside one only
			 * as whitespace. */
			if (in_str || (c != '\n' && c != '\r' && c != '\t'))
				return i;
			i++;
		} else {
			/* utf8_decode reads up to 4 bytes: stop short of the end. */
			if (len - i < 4) {
				unsigned char tmp[4] = {0, 0, 0, 0};
				memcpy(tmp, p + i, len - i);
				n = utf8_decode(tmp, &cp);
				if (!n || (size_t)n > len - i)
					return i;
			} else if (!(n = utf8_decode(p + i, &cp))) {
				return i;
			}
			i += (size_t)n;
		}
	}
}

void json_put_string(sbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	sb_putc(b, '"');
	while (*p) {
		unsigned cp;
		int n;
		switch (*p) {
		case '"': sb_puts(b, "\\\""); p++; continue;
		case '\\': sb_puts(b, "\\\\"); p++; continue;
		case '\n': sb_puts(b, "\\n"); p++; continue;
		case '\r': sb_puts(b, "\\r"); p++; continue;
		case '\t': sb_puts(b, "\\t"); p++; continue;
		case '\b': sb_puts(b, "\\b"); p++; continue;
		case '\f': sb_puts(b, "\\f"); p++; continue;
		}
		if (*p < 0x20) {
			sb_printf(b, "\\u%04x", *p++);
			continue;
		}
		if (*p < 0x80) {
			sb_putc(b, (char)*p++);
			continue;
		}
		if (!(n = utf8_decode(p, &cp))) {
			sb_puts(b, "\\ufffd");
			p++;
			continue;
		}
		p += n;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			sb_printf(b, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
		} else {
			sb_printf(b, "\\u%04x", cp);
		}
	}
	sb_putc(b, '"');
}

/* Integers as integers; other doubles in the shortest form that reads back
 * the same, as Python's repr does. */
void json_put_number(sbuf *b, double v)
{
	char tmp[40];
	if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v) {
		sb_printf(b, "%lld", (long long)v);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	sb_puts(b, tmp);
	if (!strpbrk(tmp, ".eEn"))
		sb_puts(b, ".0");
}

static void put_indent(sbuf *b, int n)
{
	static const char sp[] = "                                ";
	sb_putc(b, '\n');
	while (n > 0) {
		int k = n > 32 ? 32 : n;
		sb_put(b, sp, (size_t)k);
		n -= k;
	}
}

/* Python json.dumps layout: step 0 gives separators ", " and ": " on one
 * line; step > 0 gives indent=step with items at indent+step. */
void json_put_value(sbuf *b, const cJSON *v, int indent, int step)
{
	const cJSON *c;
	int first = 1;
	if (cJSON_IsString(v)) {
		json_put_string(b, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		json_put_number(b, v->valuedouble);
	} else if (cJSON_IsRaw(v) && v->valuestring) {
		/* JSON text kept as given (a --set value): its numbers keep
		 * their digits.  Whoever made it checked it is one JSON value. */
		sb_puts(b, v->valuestring);
	} else if (cJSON_IsTrue(v)) {
		sb_puts(b, "true");
	} else if (cJSON_IsFalse(v)) {
		sb_puts(b, "false");
	} else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
		int obj = cJSON_IsObject(v);
		sb_putc(b, obj ? '{' : '[');
		if (!v->child) {
			sb_putc(b, obj ? '}' : ']');
			return;
		}
		for (c = v->child; c; c = c->next) {
			if (!first)
				sb_puts(b, step ? "," : ", ");
			first = 0;
			if (step)
				put_indent(b, indent + step);
			if (obj) {
				json_put_string(b, c->string ? c->string : "");
				sb_puts(b, ": ");
			}
			json_put_value(b, c, indent + step, step);
		}
		if (step)
			put_indent(b, indent);
		sb_putc(b, obj ? '}' : ']');
	} else {
		sb_puts(b, "null");
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return 0xFFFD;
		v = v * 16 + (unsigned)h;
	}
	return v;
}

static void put_utf8(sbuf *b, unsigned cp)
{
	char o[4];
	if (cp < 0x80) {
		o[0] = (char)cp;
		sb_put(b, o, 1);
	} else if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		sb_put(b, o, 2);
	} else if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		sb_put(b, o, 3);
	} else {
		o[0] = (char)(0xF0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[3] = (char)(0x80 | (cp & 0x3F));
		sb_put(b, o, 4);
	}
}

char *json_string_value(const char *s, jspan sp)
{
	sbuf b = {0};
	for (size_t i = sp.start + 1; i + 1 < sp.end; i++) {
		if (s[i] != '\\') {
			sb_putc(&b, s[i]);
			continue;
		}
		switch (s[++i]) {
		case 'n': sb_putc(&b, '\n'); break;
		case 'r': sb_putc(&b, '\r'); break;
		case 't': sb_putc(&b, '\t'); break;
		case 'b': sb_putc(&b, '\b'); break;
		case 'f': sb_putc(&b, '\f'); break;
		case 'u': {
			unsigned cp = i + 4 < sp.end ? hex4(s + i + 1) : 0xFFFD;
			i += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < sp.end && s[i + 1] == '\\' &&
			    s[i + 2] == 'u') {
				unsigned lo = hex4(s + i + 3);
				if (lo >= 0xDC00 && lo < 0xE000) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					i += 6;
				}
			}
			put_utf8(&b, cp);
			break;
		}
		default: sb_putc(&b, s[i]); break;
		}
	}
	return sb_detach(&b);
}

/* ---- parsing into cJSON (json_int.h) ------------------------------------ */

cJSON *json_parse_span(const char *s, size_t start, size_t end, size_t *err_at)
{
	const char *stop = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(s + start, end - start, &stop, 0);
	if (v && stop == s + end)
		return v;
	cJSON_Delete(v);
	*err_at = stop && stop >= s + start && stop <= s + end ? (size_t)(stop - s) : start;
	return NULL;
}
