/* coordsync: entry point, parsing the command line, --help and the helpers
 * commands share (the command table is table.c, errors and output format.c). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>
#include "cli.h"
#include "tls.h"

/* ---- help -------------------------------------------------------------- */

static void print_opts(FILE *f, const cli_opt *o)
{
	for (; o && o->name; o++) {
		char left[64];
		snprintf(left, sizeof left, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-22s %s", left, o->help);
		cli_opt_note(f, o);
		fputc('\n', f);
	}
}

static void cmd_help(FILE *f, const cli_cmd *cmd)
{
	fprintf(f, "usage: coordsync [global options] %s%s%s%s\n\n%s\n", cmd->name,
		cmd->opts && cmd->opts->name ? " [options]" : "", cmd->args[0] ? " " : "", cmd->args,
		cmd->summary);
	if (cmd->opts && cmd->opts->name) {
		fprintf(f, "\noptions:\n");
		print_opts(f, cmd->opts);
	}
	fprintf(f, "\nglobal options:\n");
	print_opts(f, cli_global_opts);
	fprintf(f, "  %-22s %s\n", "--help", "show this help");
	if (cmd->flags & CLI_SERVED)
		fprintf(f, "\nWhile `coordsync daemon` runs on the clone, it runs this command for you\n"
			   "(COORDSYNC_NO_DAEMON=1: never; see docs/OPERATIONS.md).\n");
}

static void main_help(FILE *f)
{
	fprintf(f, "usage: coordsync [global options] COMMAND [options] [args]\n\n"
		   "A SQLite mirror of a git repository of JSON coordination files.\n\n"
		   "commands:\n");
	for (int g = 0; cli_groups[g]; g++)
		for (const cli_cmd *c = cli_groups[g]; c->name; c++)
			fprintf(f, "  %-16s %s\n", c->name, c->summary);
	fprintf(f, "\nglobal options:\n");
	print_opts(f, cli_global_opts);
	fprintf(f, "\nexit status: 0 ok, 1 error, 2 usage or invalid input, 3 refused decision\n"
		   "'coordsync help COMMAND' or 'coordsync COMMAND --help' describes a command;\n"
		   "'coordsync help GROUP' lists a group's commands.  Usage errors go to standard\n"
		   "error.  A unique prefix (4 characters or more) of a job or message id stands\n"
		   "for the id, as the mirror knows it since its last sync.\n");
}

/* ---- did you mean ------------------------------------------------------ */

/* The optimal string alignment distance of a and b (an edit is an insert, a
 * delete, a substitution or the swap of two neighbours), as git's
 * help.autocorrect counts; words longer than 63 bytes are far from all. */
static int distance(const char *a, const char *b)
{
	size_t m = strlen(a), n = strlen(b);
	int d[64][64];
	if (m > 63 || n > 63)
		return 1000;
	for (size_t i = 0; i <= m; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= n; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= m; i++)
		for (size_t j = 1; j <= n; j++) {
			int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[m][n];
}

/* The words of the commands, for suggestions: the first word of every
 * command (group is NULL), or the second of group's.  At most max, each
 * once. */
static int command_words(const char *group, const char **out, char bufs[][32], int max)
{
	size_t gl = group ? strlen(group) : 0;
	int n = 0;
	for (int g = 0; cli_groups[g]; g++)
		for (const cli_cmd *cmd = cli_groups[g]; cmd->name && n < max; cmd++) {
			const char *w = cmd->name;
			size_t len;
			int seen = 0;
			if (group && (strncmp(w, group, gl) || w[gl] != ' '))
				continue;
			w += group ? gl + 1 : 0;
			len = strcspn(w, " ");
			if (len >= 32)
				continue;
			for (int k = 0; k < n; k++)
				seen |= strlen(out[k]) == len && !strncmp(out[k], w, len);
			if (seen)
				continue;
			memcpy(bufs[n], w, len);
			bufs[n][len] = 0;
			out[n] = bufs[n];
			n++;
		}
	return n;
}

/* "did you mean" on stderr: the candidates closest to word, when any is
 * close (at most 2 edits, fewer than word has letters), or that word
 * begins.  prefix goes before each ("job " for a group's commands). */
static void suggest(const char *word, const char *const *cand, int n, const char *prefix)
{
	int best = 1000, shown = 0, d[128];
	size_t wl = strlen(word);
	if (cli_out_json)
		return;       /* standard error holds the one JSON error */
	for (int k = 0; k < n && k < 128; k++) {
		d[k] = distance(word, cand[k]);
		if (wl >= 2 && !strncmp(cand[k], word, wl) && d[k] > 1)
			d[k] = 1;                  /* a beginning: "stat" for "status" */
		if (d[k] < best)
			best = d[k];
	}
	if (best > 2 || (size_t)best >= wl)
		return;
	for (int k = 0; k < n && k < 128; k++)
		if (d[k] == best)
			shown++;
	fprintf(stderr, "\n%s\n", shown == 1 ? "did you mean this?" : "did you mean one of these?");
	for (int k = 0; k < n && k < 128; k++)
		if (d[k] == best)
			fprintf(stderr, "    %s%s\n", prefix, cand[k]);
}

static void suggest_command(const char *group, const char *word)
{
	const char *cand[128];
	char bufs[128][32], prefix[40];
	int n = command_words(group, cand, bufs, 128);
	if (!group && n < 128)
		cand[n++] = "help";
	snprintf(prefix, sizeof prefix, "%s%s", group ? group : "", group ? " " : "");
	suggest(word, cand, n, prefix);
}

/* For an unknown option a: the closest of the command's and the global
 * options (its name before any '='). */
static void suggest_option(const cli_cmd *cmd, const char *a)
{
	const char *cand[128];
	char word[64];
	int n = 0;
	if (a[1] != '-')
		return;       /* "-Z": one letter is near every other */
	snprintf(word, sizeof word, "%.*s", (int)strcspn(a, "="), a);
	for (const cli_opt *o = cmd ? cmd->opts : NULL; o && o->name && n < 120; o++)
		cand[n++] = o->name;
	for (const cli_opt *o = cli_global_opts; o->name && n < 120; o++)
		cand[n++] = o->name;
	cand[n++] = "--help";
	suggest(word, cand, n, "");
}

/* ---- parsing ----------------------------------------------------------- */

int cli_usage(const cli *c, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	int n;
	/* The message quotes arguments, which may hold anything: escaped. */
	char usage[256];
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (c && c->cmd)
		snprintf(usage, sizeof usage, "coordsync %s%s%s", c->cmd->name,
			 c->cmd->args[0] ? " " : "", c->cmd->args);
	/* The exit status a JSON error names: health's usage errors exit 3. */
	cli_error_usage(c && c->cmd && (c->cmd->flags & CLI_PLUGIN) ? EXIT_PLUGIN_USAGE : EXIT_USAGE,
			"usage", n < 0 ? fmt : msg, c && c->cmd ? usage : NULL);
	if (n >= 0)
		free(msg);
	return EXIT_USAGE;
}

static int parse_num(const char *s, long long *out)
{
	char *end;
	long long v;
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || errno == ERANGE)
		return -1;
	*out = v;
	return 0;
}

/* The value of option o: inline ("--ttl=5") or the next argument.  Prints
 * the usage error and returns -1 when it is missing. */
static int take_value(const cli *c, const cli_opt *o, const char *inl, int argc, char **argv,
		      int *i, const char **v)
{
	*v = NULL;
	if (o->kind == 'f')
		return 0;
	if (inl)
		*v = inl;
	else if (*i + 1 < argc)
		*v = argv[++*i];
	else
		return cli_usage(c, "option '%s' needs a value", o->name), -1;
	return 0;
}

static int set_global(cli *c, const cli_opt *o, const char *v)
{
	if (!strcmp(o->name, "-C") && c->dir && v[0] != '/') {
		/* As git: each -C after the first is relative to the one before. */
		char joined[sizeof c->dirbuf];
		int n = snprintf(joined, sizeof joined, "%s/%s", c->dir, v);
		if (n < 0 || (size_t)n >= sizeof joined)
			return cli_usage(NULL, "-C '%s': the joined directory is too long", v);
		memcpy(c->dirbuf, joined, (size_t)n + 1);
		c->dir = c->dirbuf;
	} else if (!strcmp(o->name, "-C"))
		c->dir = v;
	else if (!strcmp(o->name, "--quiet") || !strcmp(o->name, "-q"))
		c->quiet = 1;
	else if (!strcmp(o->name, "--server"))
		c->server = v;
	else if (!strcmp(o->name, "--db"))
		c->db = v;
	else if (!strcmp(o->name, "--json"))
		c->json = 1;
	else if (!strcmp(o->name, "--local"))
		cli_out_local = 1;
	return 0;
}

/* Parse argv[i..] into c for command cmd.  Returns -1 when it printed help,
 * or an exit code > 0 on a usage error, or 0. */
static int parse(cli *c, const cli_cmd *cmd, int argc, char **argv, int i)
{
	int only_args = 0;
	c->cmd = cmd;
	for (; i < argc; i++) {
		const char *a = argv[i], *inl, *v = NULL;
		const cli_opt *o;
		int global = 0;
		if (only_args || a[0] != '-' || !a[1]) {
			if (c->nargs >= CLI_MAXARG)
				return cli_usage(c, "too many arguments");
			c->args[c->nargs++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_args = 1;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cmd_help(stdout, cmd);
			return -1;
		}
		if (!(o = cli_match(cmd->opts, a, &inl)) && (o = cli_match(cli_global_opts, a, &inl)))
			global = 1;
		if (!o) {
			cli_usage(c, "unknown option '%s'", a);
			suggest_option(cmd, a);
			return EXIT_USAGE;
		}
		if (take_value(c, o, inl, argc, argv, &i, &v))
			return EXIT_USAGE;
		if (global) {
			if (set_global(c, o, v))
				return EXIT_USAGE;
			continue;
		}
		int k = (int)(o - cmd->opts);
		c->set[k] = 1;
		c->val[k] = v;
		if (o->kind == 'i' && parse_num(v, &c->num[k]))
			return cli_usage(c, "option '%s' needs a whole number, not '%s'", o->name, v);
		if (o->kind == 'd' && (cs_duration_parse(v, &c->num[k]) || c->num[k] > INT_MAX))
			return cli_usage(c, "option '%s' needs a duration: a number of seconds, or with"
					 " a unit (30s, 15m, 2h, 7d, 1h30m), not '%s'", o->name, v);
		if (o->kind == 'F' && (c->num[k] = cli_format(v)) < 0) {
			char *names = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&names, &len);
			if (m) {
				cli_format_names(m);
				fclose(m);
			}
			cli_usage(c, "unknown format '%s' (%s)", v, names ? names : "see --help");
			free(names);
			return EXIT_USAGE;
		}
		if (o->kind == 'm') {
			if (c->nmulti[k] >= CLI_MAXARG)
				return cli_usage(c, "too many '%s'", o->name);
			c->multi[k][c->nmulti[k]++] = v;
		}
	}
	if (c->nargs < cmd->min_args)
		return cli_usage(c, "missing argument");
	if (c->nargs > cmd->max_args)
		return cli_usage(c, "unexpected argument '%s'", c->args[cmd->max_args]);
	return 0;
}

/* The index of option name in the command's table.  A name the command
 * does not declare is a bug of the command's code (a typo would read as
 * "not given"): it stops the process at once, naming it. */
static int opt_index(const cli *c, const char *name)
{
	for (int k = 0; c->cmd && c->cmd->opts && c->cmd->opts[k].name; k++)
		if (!strcmp(c->cmd->opts[k].name, name))
			return k;
	fprintf(stderr, "coordsync: internal error: command '%s' looked up option '%s', which it"
			" does not declare\n", c->cmd ? c->cmd->name : "(none)", name);
	abort();
}

const char *cli_str(const cli *c, const char *name)
{
	int k = opt_index(c, name);
	return c->set[k] ? c->val[k] : NULL;
}

long long cli_num(const cli *c, const char *name, long long dflt)
{
	int k = opt_index(c, name);
	return c->set[k] ? c->num[k] : dflt;
}

int cli_has(const cli *c, const char *name)
{
	return c->set[opt_index(c, name)];
}

int cli_multi(const cli *c, const char *name, const char *const **out)
{
	int k = opt_index(c, name);
	*out = c->multi[k];
	return c->nmulti[k];
}

/* ---- shared helpers ---------------------------------------------------- */

int cli_open(cli *c, cs_ctx **ctx)
{
	cs_opts o = {c->dir, c->server, c->db};
	int rc = cs_open(ctx, &o);
	if (rc) {
		rc = cli_fail(*ctx, rc);
		cs_close(*ctx);
		*ctx = NULL;
	} else {
		cs_set_notice(*ctx, c->quiet ? NULL : cli_notice, NULL);
		cs_set_abort(*ctx, cli_caller_gone, NULL);
	}
	return rc;
}

static void on_deadline(int sig)
{
	static const char msg[] = "coordsync: stopped: the query ran past coordsync.query.timeout\n";
	ssize_t n = write(2, msg, sizeof msg - 1);
	(void)sig, (void)n;
	_exit(EXIT_ERR);
}

void cli_deadline(int seconds)
{
	struct sigaction sa;
	struct itimerval it;
	memset(&sa, 0, sizeof sa);
	memset(&it, 0, sizeof it);
	sa.sa_handler = on_deadline;
	sigaction(SIGALRM, &sa, NULL);
	it.it_value.tv_sec = seconds;
	it.it_value.tv_usec = 250000;
	setitimer(ITIMER_REAL, &it, NULL);
}

/* coordsync help [COMMAND...]: what --help prints, on stdout; an unknown
 * name is a usage error, with suggestions. */
static int help_command(int argc, char **argv, int i)
{
	const cli_cmd *cmd;
	int used;
	if (i >= argc || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
		main_help(stdout);
		return -1;
	}
	if ((cmd = cli_lookup(argc, argv, i, &used)) && i + used == argc) {
		cmd_help(stdout, cmd);
		return -1;
	}
	if (i + 1 == argc && cli_group_list(stdout, argv[i]))
		return -1;
	if (cli_group_list(NULL, argv[i]) && i + 1 < argc) {
		cli_usage(NULL, "no help for '%s %s': no such command", argv[i], argv[i + 1]);
		suggest_command(argv[i], argv[i + 1]);
	} else {
		cli_usage(NULL, "no help for '%s': no such command (see coordsync --help)", argv[i]);
		suggest_command(NULL, argv[i]);
	}
	return EXIT_USAGE;
}

int cli_parse(cli *cp, int argc, char **argv)
{
	const cli_cmd *cmd;
	cli c;
	int i = 1, used;
	memset(&c, 0, sizeof c);
	memset(cp, 0, sizeof *cp);
	cli_out_reset(argc, argv);

	/* Global options before the command. */
	while (i < argc && argv[i][0] == '-') {
		const char *inl, *v = NULL;
		const cli_opt *o = cli_match(cli_global_opts, argv[i], &inl);
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			main_help(stdout);
			return -1;
		}
		if (!strcmp(argv[i], "--version")) {
			printf(cli_out_json ? "{\"version\": \"0.1.0\"}\n" : "coordsync 0.1.0\n");
			return -1;
		}
		if (!o) {
			/* The command is not known yet: the first word after that
			 * names one, and health's usage errors exit 3. */
			int ex = EXIT_USAGE;
			for (int j = i + 1; j < argc; j++)
				if ((cmd = cli_lookup(argc, argv, j, &used))) {
					ex = cmd->flags & CLI_PLUGIN ? EXIT_PLUGIN_USAGE : EXIT_USAGE;
					break;
				}
			ex = cli_error(ex, "usage", "unknown option '%s'", argv[i]);
			suggest_option(NULL, argv[i]);
			return ex;
		}
		if (take_value(NULL, o, inl, argc, argv, &i, &v) || set_global(&c, o, v))
			return EXIT_USAGE;
		i++;
	}
	if (i >= argc) {
		if (cli_out_json)
			return cli_error(EXIT_USAGE, "usage", "no command (see coordsync --help)");
		main_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help"))
		return help_command(argc, argv, i + 1);
	if ((cmd = cli_lookup(argc, argv, i, &used))) {
		int rc = parse(&c, cmd, argc, argv, i + used);
		if (rc)
			return rc < 0 ? -1 : cmd->flags & CLI_PLUGIN ? EXIT_PLUGIN_USAGE : rc;
		*cp = c;
		if (c.dir == c.dirbuf)
			cp->dir = cp->dirbuf;
		return 0;
	}
	/* A group name alone, or with --help, lists its commands (from every
	 * table: a group's commands may be defined in more than one file). */
	{
		int help = i + 1 < argc && (!strcmp(argv[i + 1], "--help") || !strcmp(argv[i + 1], "-h"));
		/* With --help the list is the answer (stdout, 0); otherwise it
		 * goes with the usage error to stderr. */
		if (cli_group_list(NULL, argv[i])) {
			if (!help && cli_out_json)
				return i + 1 < argc ? cli_usage(NULL, "unknown command '%s %s'", argv[i], argv[i + 1])
					: cli_usage(NULL, "'%s' needs a command (see coordsync %s --help)",
						    argv[i], argv[i]);
			if (!help && i + 1 < argc) {
				cli_usage(NULL, "unknown command '%s %s'", argv[i], argv[i + 1]);
				suggest_command(argv[i], argv[i + 1]);
				fputc('\n', stderr);
			}
			cli_group_list(help ? stdout : stderr, argv[i]);
			return help ? -1 : EXIT_USAGE;
		}
	}
	cli_usage(NULL, "unknown command '%s' (see coordsync --help)", argv[i]);
	suggest_command(NULL, argv[i]);
	return EXIT_USAGE;
}

int cli_main(int argc, char **argv)
{
	cli c;
	int rc = cli_parse(&c, argc, argv);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	/* A daemon serving this clone runs it for us, without the set-up a new
	 * process pays (cli/serve.c); not with --local, whose zone is ours. */
	if (!cli_in_daemon && !cli_out_local && (c.cmd->flags & CLI_SERVED) &&
	    (rc = cli_forward(&c, argc, argv)) != -1)
		return rc;
	return c.cmd->run(&c);
}

/* The fuzz harness for argument parsing (tests/fuzz/fuzz_args.c) links this
 * file without main. */
#ifndef CLI_NO_MAIN
int main(int argc, char **argv)
{
	/* A git server that dies mid-push closes the socket under libgit2's
	 * send(): without this the process would die of SIGPIPE, silently,
	 * instead of reporting a failed push.  A closed stdout gives EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	cli_tls_register();
	/* Hidden: the build generates the man pages and completion with it. */
	if (argc == 3 && !strcmp(argv[1], "--gendoc"))
		return cli_gendoc(argv[2]);
	return cli_main(argc, argv);
}
#endif
