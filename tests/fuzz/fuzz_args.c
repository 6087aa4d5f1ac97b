/* Fuzz harness for the command line's parser (cli/main.c cli_parse): the
 * input, split at NUL bytes, is argv after "coordsync" (at most 64
 * arguments).  Nothing runs: cli_parse only parses, so no clone is opened
 * and no remote touched.  Properties, for any input:
 *   - cli_parse answers -1 (help printed), 0, 2 (usage), or 3 only for a
 *     monitoring-plugin command (health);
 *   - on 0 the command is one of the table's, its argument count is within
 *     its bounds, every option that takes a value has one, a whole-number
 *     option holds the number its text says, and every string points into
 *     argv;
 *   - what it wrote to stderr is safe text: valid UTF-8, no control
 *     character but the line feed, none of the characters that move lines
 *     or reorder text (usage messages quote the arguments);
 *   - each argument, escaped for text (cli_text), is safe text the same way;
 *     as a JSON string (cli_json_string) it is safe text that cJSON parses,
 *     back to the argument itself when that is valid UTF-8. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "cli.h"
#include "fuzz.h"

#define MAXARGS 64

static int err_fd = -1, saved_fd = -1;

/* Send stdout (help) to /dev/null, once, and keep a temporary file for
 * what cli_parse writes to stderr (only while it runs: the harness's own
 * reports go to the real stderr). */
static void setup(void)
{
	FILE *t;
	if (err_fd >= 0)
		return;
	FUZZ_CHECK(freopen("/dev/null", "w", stdout), "cannot open /dev/null");
	FUZZ_CHECK((t = tmpfile()), "no temporary file: %s", strerror(errno));
	err_fd = fileno(t);
	FUZZ_CHECK((saved_fd = dup(2)) >= 0, "dup: %s", strerror(errno));
}

/* The length of the UTF-8 sequence at s (n bytes left) and its code point,
 * or 0 when it is not a valid, shortest-form one. */
static int utf8(const unsigned char *s, size_t n, long *cp)
{
	int len = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
		: s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
	if (!len || (size_t)len > n)
		return 0;
	*cp = len == 1 ? s[0] : s[0] & (0x7F >> len);
	for (int i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && *cp < 0x800) || (len == 4 && (*cp < 0x10000 || *cp > 0x10FFFF)) ||
	    (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return len;
}

/* The first offset of b[0..n) that is not safe text (any valid UTF-8
 * when only_utf8), or n.  lf_ok: line feeds are safe. */
static size_t unsafe_at(const char *b, size_t n, int lf_ok, int only_utf8)
{
	const unsigned char *s = (const unsigned char *)b;
	for (size_t i = 0; i < n;) {
		long cp;
		int len = utf8(s + i, n - i, &cp);
		if (!len || (!only_utf8 && ((cp < 0x20 && !(lf_ok && cp == '\n')) ||
					    (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
					    cp == 0x200E || cp == 0x200F || cp == 0xFEFF ||
					    (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))))
			return i;
		i += (size_t)len;
	}
	return n;
}

static void check_text(const char *arg)
{
	char *t = cli_text(arg), *js = NULL;
	size_t jlen = 0, at;
	FILE *m;
	cJSON *v;
	FUZZ_CHECK(t, "cli_text out of memory");
	at = unsafe_at(t, strlen(t), 0, 0);
	FUZZ_CHECK(at == strlen(t), "cli_text gives a raw byte 0x%02x at %zu of '%s'",
		   (unsigned char)t[at], at, t);
	free(t);
	FUZZ_CHECK((m = open_memstream(&js, &jlen)), "open_memstream");
	cli_json_string(m, arg);
	fclose(m);
	at = unsafe_at(js, jlen, 0, 0);
	FUZZ_CHECK(at == jlen, "cli_json_string gives a raw byte at %zu of %s", at, js);
	v = cJSON_Parse(js);
	FUZZ_CHECK(v && cJSON_IsString(v), "cli_json_string gives invalid JSON: %s", js);
	/* Valid UTF-8 comes back exactly. */
	if (unsafe_at(arg, strlen(arg), 0, 1) == strlen(arg))
		FUZZ_CHECK(!strcmp(v->valuestring, arg), "%s reads back as '%s', not '%s'", js,
			   v->valuestring, arg);
	cJSON_Delete(v);
	free(js);
}

/* Whether p points into one of the n strings of argv. */
static int in_argv(const char *p, char **argv, int n)
{
	for (int i = 0; i < n; i++)
		if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
			return 1;
	return 0;
}

/* A -C after another is joined to it ("A/B", cli/main.c): d, in the
 * parsed cli's own dirbuf, ends with "/" and a relative -C value of argv
 * (a word after -C, or the rest of a "-CDIR" or "-C=DIR" word). */
static int joined_dir(const char *d, char **argv, int n)
{
	size_t dl = strlen(d);
	for (int i = 1; i < n; i++)
		for (int skip = 0; skip <= 3; skip += skip ? 1 : 2) {
			/* the word after -C (0), or in "-CDIR" (2), "-C=DIR" (3) */
			const char *v = argv[i] + skip;
			size_t vl;
			if (skip && (strncmp(argv[i], "-C", 2) || !argv[i][2] ||
				     (skip == 3 && argv[i][2] != '=')))
				continue;
			vl = strlen(v);
			if (v[0] != '/' && dl > vl && d[dl - vl - 1] == '/' && !strcmp(d + dl - vl, v))
				return 1;
		}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAXARGS + 2], *err = NULL;
	int argc = 1, rc;
	size_t start = 0;
	ssize_t got;
	off_t len;
	cli c;

	FUZZ_CHECK(buf, "out of memory");
	setup();
	memcpy(buf, data, size);
	buf[size] = 0;
	argv[0] = "coordsync";
	for (size_t i = 0; i <= size && argc <= MAXARGS; i++)
		if (i == size || !buf[i]) {
			if (i > start || i < size)
				argv[argc++] = buf + start;
			start = i + 1;
		}
	argv[argc] = NULL;

	FUZZ_CHECK(!ftruncate(err_fd, 0) && lseek(err_fd, 0, SEEK_SET) == 0, "cannot reset stderr");
	fflush(stderr);
	FUZZ_CHECK(dup2(err_fd, 2) == 2, "dup2: %s", strerror(errno));
	rc = cli_parse(&c, argc, argv);
	fflush(stdout);
	fflush(stderr);
	FUZZ_CHECK(dup2(saved_fd, 2) == 2, "dup2: %s", strerror(errno));

	FUZZ_CHECK(rc == -1 || rc == 0 || rc == EXIT_USAGE || rc == EXIT_PLUGIN_USAGE,
		   "cli_parse answered %d", rc);
	if (rc == EXIT_PLUGIN_USAGE) {
		int health = 0;
		for (int i = 1; i < argc; i++)
			health |= !strcmp(argv[i], "health");
		FUZZ_CHECK(health, "exit 3 for a usage error of a command that is not health");
	}
	if (rc == 0) {
		const cli_cmd *cmd = c.cmd;
		FUZZ_CHECK(cmd && cli_find(argc, argv) == cmd, "no command, or not the one cli_find sees");
		FUZZ_CHECK(c.nargs >= cmd->min_args && c.nargs <= cmd->max_args, "%s: %d arguments",
			   cmd->name, c.nargs);
		for (int i = 0; i < c.nargs; i++)
			FUZZ_CHECK(in_argv(c.args[i], argv, argc), "argument %d is not from argv", i);
		for (int k = 0; cmd->opts && cmd->opts[k].name; k++) {
			const cli_opt *o = &cmd->opts[k];
			if (!c.set[k])
				continue;
			if (o->kind == 'f') {
				FUZZ_CHECK(!c.val[k], "flag %s has a value", o->name);
				continue;
			}
			FUZZ_CHECK(c.val[k] && in_argv(c.val[k], argv, argc), "%s: value not from argv",
				   o->name);
			if (o->kind == 'i') {
				char *end;
				errno = 0;
				long long v = strtoll(c.val[k], &end, 10);
				FUZZ_CHECK(*c.val[k] && !*end && !errno && v == c.num[k],
					   "%s '%s' read as %lld", o->name, c.val[k], c.num[k]);
			}
			if (o->kind == 'm')
				FUZZ_CHECK(c.nmulti[k] >= 1 && c.nmulti[k] <= CLI_MAXARG, "%s given %d times",
					   o->name, c.nmulti[k]);
		}
		FUZZ_CHECK(!c.dir || in_argv(c.dir, argv, argc) ||
			   (c.dir == c.dirbuf && joined_dir(c.dir, argv, argc)),
			   "-C neither from argv nor joined from it: '%s'", c.dir);
		FUZZ_CHECK(!c.server || in_argv(c.server, argv, argc), "--server not from argv");
		FUZZ_CHECK(!c.db || in_argv(c.db, argv, argc), "--db not from argv");
	}

	/* What went to stderr. */
	len = lseek(err_fd, 0, SEEK_END);
	FUZZ_CHECK(len >= 0, "lseek: %s", strerror(errno));
	if (len > 0) {
		size_t at;
		FUZZ_CHECK((err = malloc((size_t)len)), "out of memory");
		got = pread(err_fd, err, (size_t)len, 0);
		FUZZ_CHECK(got == len, "cannot read stderr back");
		at = unsafe_at(err, (size_t)len, 1, 0);
		FUZZ_CHECK(at == (size_t)len, "stderr has a raw byte 0x%02x at %zu: %.*s",
			   (unsigned char)err[at], at, (int)len, err);
		free(err);
	}
	FUZZ_CHECK(rc != EXIT_USAGE || len > 0, "a usage error without a message");

	for (int i = 1; i < argc; i++)
		check_text(argv[i]);
	free(buf);
	return 0;
}
