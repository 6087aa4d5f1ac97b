/* logs list and logs get: the files servers pushed to SERVER/logs/ (logs
 * push is in cmd_run.c), read from the tree the mirror last imported. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static int run_list(cli *c)
{
	cs_rows *r = NULL;
	cs_ctx *ctx;
	int rc = cli_open(c, &ctx);
	if (rc)
		return rc;
	if (!(rc = cs_logs_list(ctx, &r, cli_str(c, "--of"))))
		rc = cli_print_rows(stdout, r, c->json ? FMT_ROWS : FMT_TABLE);
	cs_rows_free(r);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

/* data[0, len) for a terminal: each line escaped (cli_put_text), so that
 * bytes from the remote move no cursor; a NUL as \x00. */
static void put_escaped(FILE *out, const char *data, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		char *seg;
		while (j < len && data[j] != '\n' && data[j])
			j++;
		if ((seg = strndup(data + i, j - i))) {
			cli_put_text(out, seg);
			free(seg);
		}
		if (j < len)
			fputs(data[j] ? "\n" : "\\x00", out);
		i = j + 1;
	}
}

/* data[0, len) as one JSON string (cli_json_string for each run between
 * NUL bytes, a NUL as \u0000): valid JSON for any bytes. */
static void put_json_bytes(FILE *out, const char *data, size_t len)
{
	size_t i = 0;
	fputc('"', out);
	while (i <= len) {
		size_t j = i;
		char *seg = NULL, *q = NULL;
		size_t qn = 0;
		FILE *m;
		while (j < len && data[j])
			j++;
		if ((seg = strndup(data + i, j - i)) && (m = open_memstream(&q, &qn))) {
			cli_json_string(m, seg);
			if (!fclose(m) && qn >= 2)
				fwrite(q + 1, 1, qn - 2, out);   /* without its quotes */
		}
		free(q);
		free(seg);
		if (j < len)
			fputs("\\u0000", out);
		i = j + 1;
	}
	fputc('"', out);
}

static int run_get(cli *c)
{
	const char *path = cli_str(c, "-o");
	char *data = NULL;
	size_t len = 0;
	cs_ctx *ctx;
	int rc = cli_open(c, &ctx);
	if (rc)
		return rc;
	if (!(rc = cs_logs_get(ctx, &data, &len, cli_str(c, "--of"), c->args[0]))) {
		FILE *f = path ? fopen(path, "wb") : stdout;
		if (!f) {
			cli_error(EXIT_ERR, "error", "cannot write '%s': %s", path, strerror(errno));
			free(data);
			cs_close(ctx);
			return EXIT_ERR;
		}
		/* Byte for byte, but never raw to a terminal; --json: one
		 * object with the text (or where -o wrote it). */
		if (c->json && !path) {
			cli_obj o;
			cli_obj_open(&o, f);
			cli_obj_str(&o, "name", c->args[0]);
			cli_obj_int(&o, "size", (long long)len);
			cli_obj_key(&o, "text");
			put_json_bytes(f, data, len);
			cli_obj_close(&o);
		} else if (!path && isatty(fileno(stdout)))
			put_escaped(f, data, len);
		else
			fwrite(data, 1, len, f);
		if ((path && fclose(f)) || (!path && fflush(f)) || (!path && ferror(f))) {
			cli_error(EXIT_ERR, "error", "cannot write '%s': %s",
				  path ? path : "standard output", strerror(errno));
			free(data);
			cs_close(ctx);
			return EXIT_ERR;
		}
		if (c->json && path) {
			cli_obj o;
			cli_obj_open(&o, stdout);
			cli_obj_bool(&o, "ok", 1);
			cli_obj_str(&o, "file", path);
			cli_obj_int(&o, "size", (long long)len);
			cli_obj_close(&o);
		}
	}
	free(data);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static const cli_opt list_opts[] = {
	{"--of", 's', "SERVER", "another server's logs (default: this server's)"},
	{NULL, 0, NULL, NULL}};
static const cli_opt get_opts[] = {
	{"--of", 's', "SERVER", "another server's log (default: this server's)"},
	{"-o", 's', "FILE", "write it to FILE instead of standard output"},
	{NULL, 0, NULL, NULL}};

const cli_cmd cli_logs_cmds[] = {
	{"logs list", "", "the files in SERVER/logs/ as last synced: name, size, time", 0, 0,
	 list_opts, run_list, CLI_SERVED},
	{"logs get", "NAME", "print a pushed log file, byte for byte (escaped on a terminal)", 1, 1,
	 get_opts, run_get, 0},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
