/* lock acquire, renew, release, list and cleanup. */
#include <stdio.h>
#include "cli.h"

static void print_lock(cli *c, const char *name, const cs_lock_info *li)
{
	if (c->json) {
		cli_obj o;
		cli_obj_open(&o, stdout);
		cli_obj_str(&o, "name", name);
		cli_obj_str(&o, "holder", li->holder);
		cli_obj_int(&o, "fence", li->fence);
		cli_obj_time(&o, "expires_at", li->expires_at);
		cli_obj_close(&o);
	} else {
		printf("%lld\n", li->fence);
	}
}

static int lock_common(cli *c, int renew)
{
	cs_lock_info li = {0, 0, ""};
	cs_ctx *ctx;
	long long ttl = cli_num(c, "--ttl", 30), wait = renew ? 0 : cli_num(c, "--wait", 0);
	int rc;
	if (ttl <= 0 || ttl > 86400 * 365)
		return cli_usage(c, "--ttl must be between 1 and 31536000 seconds");
	if (wait < 0 || wait > 86400)
		return cli_usage(c, "--wait must be between 0 and 86400 seconds");
	if ((rc = cli_open(c, &ctx)))
		return rc;
	rc = renew ? cs_lock_renew(ctx, c->args[0], (int)ttl, &li)
		   : cs_lock_acquire(ctx, c->args[0], (int)ttl, (int)wait, &li);
	if (!rc && !renew && cli_caller_gone(NULL)) {
		/* Served by the daemon, and the caller went away while the grant
		 * was pushed: nobody holds it, so release it. */
		cs_set_abort(ctx, NULL, NULL);
		rc = cs_lock_release(ctx, c->args[0]);
		cli_error(EXIT_ERR, "error", "lock '%s' was granted but the caller went away before the"
			  " answer; %s%s", c->args[0], rc ? "could not release it: " : "released it",
			  rc ? cs_errmsg(ctx) : "");
		cs_close(ctx);
		return EXIT_ERR;
	}
	if (!rc)
		print_lock(c, c->args[0], &li);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_acquire(cli *c) { return lock_common(c, 0); }
static int run_renew(cli *c) { return lock_common(c, 1); }

static int run_release(cli *c)
{
	cs_ctx *ctx;
	int rc = cli_open(c, &ctx);
	if (rc)
		return rc;
	rc = cs_lock_release(ctx, c->args[0]);
	if (!rc && c->json)
		cli_ok("name", c->args[0]);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_cleanup(cli *c)
{
	cs_ctx *ctx;
	int n = 0, rc = cli_open(c, &ctx);
	cli_dry dry;
	if (rc)
		return rc;
	cli_dry_start(ctx, &dry, cli_has(c, "--dry-run") || cli_has(c, "-n"));
	if (!(rc = cs_lock_cleanup(ctx, &n))) {
		if (cli_dry_print(c, &dry, "release"))
			printf(c->json ? ", \"released\": %d}\n" : "would release %d expired lock(s)\n",
			       n);
		else if (!CLI_QUIET(c))
			printf(c->json ? "{\"released\": %d}\n" : "released %d expired lock(s)\n", n);
	}
	cli_dry_free(&dry);
	rc = rc ? cli_fail(ctx, rc) : EXIT_OK;
	cs_close(ctx);
	return rc;
}

static int run_list(cli *c)
{
	cs_ctx *ctx;
	int rc = cli_open(c, &ctx);
	if (rc)
		return rc;
	rc = cli_show(ctx, "lock_list", NULL, c->json ? FMT_JSON : FMT_TABLE);
	cs_close(ctx);
	return rc;
}

static const cli_opt acquire_opts[] = {
	{"--ttl", 'd', "SEC", "lease length in seconds (default 30)"},
	{"--wait", 'd', "SEC", "keep trying this long while another server holds it (default 0)"},
	{NULL, 0, NULL, NULL}};
static const cli_opt renew_opts[] = {
	{"--ttl", 'd', "SEC", "new lease length from now (default 30)"},
	{NULL, 0, NULL, NULL}};
static const cli_opt cleanup_opts[] = {
	{"--dry-run", 'f', NULL, "print the locks it would release; change and push nothing"},
	{"-n", 'f', NULL, "short for --dry-run"},
	{NULL, 0, NULL, NULL}};
static const cli_opt none[] = {{NULL, 0, NULL, NULL}};

const cli_cmd cli_lock_cmds[] = {
	{"lock acquire", "NAME", "take a named lock (or renew it if ours); prints its fence", 1, 1,
	 acquire_opts, run_acquire, CLI_SERVED},
	{"lock renew", "NAME", "extend a lock we hold", 1, 1, renew_opts, run_renew, CLI_SERVED},
	{"lock release", "NAME", "release a lock we hold", 1, 1, none, run_release, CLI_SERVED},
	{"lock list", "", "show every lock and its holder", 0, 0, none, run_list, CLI_SERVED},
	{"lock cleanup", "", "release locks whose lease expired (after the lock-delay)", 0, 0,
	 cleanup_opts, run_cleanup, CLI_SERVED},
	{NULL, NULL, NULL, 0, 0, NULL, NULL, 0}};
