/* validate: check coordination files as a sync would import them, before
 * they are committed; and install the git pre-commit hook that does it. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "cli.h"

typedef struct out {
	int json, n;
} out;

static int print_problem(const cs_file_problem *p, void *arg)
{
	out *o = arg;
	if (o->json) {
		printf("%s\n    {\"path\": ", o->n ? "," : "");
		cli_json_string(stdout, p->path);
		printf(", \"line\": %d, \"col\": %d, \"message\": ", p->line, p->col);
		cli_json_string(stdout, p->message);
		printf("}");
	} else {
		cli_put_text(stdout, p->path);
		printf(":%d:%d: ", p->line, p->col);
		cli_put_text(stdout, p->message);
		printf("\n");
	}
	o->n++;
	return 0;
}

static int install_hook(cli *c)
{
	char exe[PATH_MAX], *path = NULL;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	cs_ctx *ctx = NULL;
	int rc, what = 0;
	exe[n > 0 ? n : 0] = 0;
	if (n <= 0)
		snprintf(exe, sizeof exe, "coordsync");
	if ((rc = cs_validate_open(&ctx, c->dir, 1)) ||
	    (rc = cs_validate_hook_install(ctx, exe, cli_has(c, "--force"), &path, &what))) {
		rc = cli_fail(ctx, rc);
		goto done;
	}
	if (c->json) {
		printf("{\"hook\": ");
		cli_json_string(stdout, path);
		printf(", \"action\": \"%s\"}\n", what == CS_HOOK_SAME ? "unchanged"
						  : what == CS_HOOK_REPLACED ? "replaced" : "installed");
	} else {
		printf("%s pre-commit hook ", what == CS_HOOK_SAME ? "kept the" : "installed the");
		cli_put_text(stdout, path);
		printf("%s: `git commit` now runs `coordsync validate --staged`\n",
		       what == CS_HOOK_SAME ? " (already the same)"
		       : what == CS_HOOK_REPLACED ? " (the old hook is pre-commit.orig)" : "");
	}
done:
	free(path);
	cs_close(ctx);
	return rc;
}

static int run_validate(cli *c)
{
	out o = {c->json, 0};
	cs_ctx *ctx = NULL;
	int staged = cli_has(c, "--staged"), problems = 0, checked = 0, rc;

	if (cli_has(c, "--install-hook")) {
		if (c->nargs || staged)
			return cli_usage(c, "--install-hook takes no files and no --staged");
		return install_hook(c);
	}
	if (cli_has(c, "--force"))
		return cli_usage(c, "--force goes with --install-hook");
	if (staged && c->nargs)
		return cli_usage(c, "--staged checks the index: give no files");
	if ((rc = cs_validate_open(&ctx, c->dir, c->nargs == 0))) {
		rc = cli_fail(ctx, rc);
		cs_close(ctx);
		return rc;
	}
	if (c->json)
		printf("{\"problems\": [");
	if (c->nargs) {
		for (int i = 0; i < c->nargs && !rc; i++, checked++)
			rc = cs_validate_file(ctx, c->args[i], &problems, print_problem, &o);
	} else {
		rc = cs_validate_tree(ctx, staged, &checked, &problems, print_problem, &o);
	}
	if (c->json)
		printf("%s], \"files\": %d, \"ok\": %s}\n", o.n ? "\n" : "", checked,
		       !rc && !problems ? "true" : "false");
	fflush(stdout);
	if (rc)
		rc = cli_fail(ctx, rc);
	else if (problems) {
		rc = cli_error(EXIT_USAGE, "invalid", "%d problem%s in the coordination files%s",
			       problems, problems == 1 ? "" : "s", staged ? " staged for commit" : "");
	} else if (!c->json) {
		printf("%d coordination file%s checked: no problems\n", checked,
		       checked == 1 ? "" : "s");
	}
	cs_close(ctx);
	return rc;
}

static const cli_opt validate_opts[] = {
	{"--staged", 'f', NULL, "check the files staged for commit (the index), not the working tree"},
	{"--install-hook", 'f', NULL, "install a git pre-commit hook that runs `validate --staged`"},
	{"--force", 'f', NULL, "with --install-hook: replace another pre-commit hook (kept as"
			       " pre-commit.orig)"},
	{NULL, 0, NULL, NULL}};

const cli_cmd cli_validate_cmds[] = {
	{"validate", "[FILE...]",
	 "check coordination files as a sync would import them: syntax, types, times, ids; exit 2"
	 " naming each problem",
	 0, CLI_MAXARG, validate_opts, run_validate, 0},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
