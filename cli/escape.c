/* Escaping: the one place remote text is made safe to print (text, csv,
 * md, html and JSON strings).  Below format.c and out.c, which print
 * through it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* ---- escaping: the one place remote text is made safe to print ------------
 *
 * Text from the remote can hold anything a JSON string can.  Printed raw, a
 * newline would forge a row or a log line and an escape sequence would reach
 * the terminal.  Every printer goes through the functions below:
 *   - text (tables, logs, messages, the run line): C-style escapes.  \n, \r
 *     and \t; other C0 controls, DEL and each byte that is not valid UTF-8
 *     as \xNN; C1 controls and the invisible characters that move lines or
 *     reorder text (U+2028, U+2029, U+200E, U+200F, U+202A-U+202E,
 *     U+2066-U+2069, U+FEFF) as \uXXXX.  A backslash stays a backslash, so
 *     the text is for reading: --json gives the exact value.
 *   - csv: RFC 4180 quoting; a line feed stays inside a quoted field, as the
 *     RFC allows; everything else above is escaped as in text (CR too).
 *   - md: a line feed is <br>, '|' is \|, the rest as in text.
 *   - html: character references for & < > " '; the controls HTML does not
 *     allow (C0 but tab, line feed and carriage return; DEL; C1) and bytes
 *     that are not UTF-8 as in text.  A browser shows the rest as text.
 *   - json: always valid JSON: C0 controls, DEL, C1 and the invisible
 *     characters as \uXXXX; a byte that is not valid UTF-8 as \ufffd. */

/* The code point of the UTF-8 sequence at s and its length in *len; -1 and
 * *len = 1 when s does not start a valid, shortest-form sequence. */
static long utf8_next(const unsigned char *s, int *len)
{
	long cp;
	int n, i;
	*len = 1;
	if (s[0] < 0x80)
		return s[0];
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, cp = s[0] & 0x07;
	else
		return -1;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	*len = n;
	return cp;
}

/* Whether code point cp is never printed as itself. */
static int hidden(long cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}


/* The text-mode form of the character at s into buf (NUL-terminated, at
 * most 15 bytes); returns the bytes of s it stands for. */
int cli_esc_one(const unsigned char *s, char buf[16], int keep)
{
	int n;
	long cp = utf8_next(s, &n);
	if (cp < 0) {
		snprintf(buf, 16, "\\x%02x", s[0]);
	} else if (!hidden(cp) || ((keep & CLI_KEEP_LF) && cp == '\n') ||
		   ((keep & CLI_KEEP_TAB) && cp == '\t') ||
		   ((keep & CLI_KEEP_HTML) && (cp == '\n' || cp == '\r' || cp == '\t' || cp > 0x9F))) {
		memcpy(buf, s, (size_t)n);
		buf[n] = 0;
	} else if (cp == '\n' || cp == '\r' || cp == '\t') {
		snprintf(buf, 16, "\\%c", cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't');
	} else if (cp < 0x80) {
		snprintf(buf, 16, "\\x%02x", (unsigned)cp & 0xFF);
	} else {
		snprintf(buf, 16, "\\u%04x", (unsigned)cp & 0xFFFFF);
	}
	return n;
}

void cli_put_text(FILE *out, const char *s)
{
	char buf[16];
	for (const unsigned char *p = (const unsigned char *)s; p && *p;)
		p += cli_esc_one(p, buf, 0), fputs(buf, out);
}

void cli_put_lines(FILE *out, const char *s)
{
	char buf[16];
	for (const unsigned char *p = (const unsigned char *)s; p && *p;)
		p += cli_esc_one(p, buf, CLI_KEEP_LF | CLI_KEEP_TAB), fputs(buf, out);
}

char *cli_text(const char *s)
{
	size_t cap = 1, len = 0;
	const unsigned char *p;
	char buf[16], *out;
	if (!s)
		s = "";
	for (p = (const unsigned char *)s; *p;)
		p += cli_esc_one(p, buf, 0), cap += strlen(buf);
	if (!(out = malloc(cap)))
		return NULL;
	for (p = (const unsigned char *)s; *p;) {
		p += cli_esc_one(p, buf, 0);
		memcpy(out + len, buf, strlen(buf));
		len += strlen(buf);
	}
	out[len] = 0;
	return out;
}

void cli_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		int n;
		long cp = utf8_next(p, &n);
		if (cp == '"' || cp == '\\')
			fprintf(out, "\\%c", (int)cp);
		else if (cp == '\n')
			fputs("\\n", out);
		else if (cp == '\t')
			fputs("\\t", out);
		else if (cp == '\r')
			fputs("\\r", out);
		else if (cp < 0)
			fputs("\\ufffd", out);
		else if (hidden(cp))
			fprintf(out, "\\u%04lx", cp);
		else
			fwrite(p, 1, (size_t)n, out);
		p += n;
	}
	fputc('"', out);
}

void cli_html_escape(FILE *out, const char *s)
{
	char buf[16];
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		switch (*p) {
		case '&': fputs("&amp;", out); p++; break;
		case '<': fputs("&lt;", out); p++; break;
		case '>': fputs("&gt;", out); p++; break;
		case '"': fputs("&quot;", out); p++; break;
		case '\'': fputs("&#39;", out); p++; break;
		default: p += cli_esc_one(p, buf, CLI_KEEP_HTML), fputs(buf, out);
		}
	}
}
