/* The man pages and the bash completion, generated at build time from the
 * command table (table.c) that --help prints, so that neither can drift
 * from the program: `coordsync --gendoc DIR` (a hidden mode; CMakeLists.txt
 * runs it) writes
 *   DIR/man1/coordsync.1            the program, its global options, every command
 *   DIR/man1/coordsync-WORD.1       one page per command group (the commands whose
 *                                   name begins with WORD: job, lock, msg ...) and
 *                                   per single command (init, sync, run ...)
 *   DIR/man5/coordsync.5            the files and the settings (`coordsync config`)
 *   DIR/bash-completion/coordsync   the bash completion
 * tests/e2e_man.sh holds the pages and the completion to --help. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"

#define VERSION "0.1.0"

/* Prose a page has beyond the table: its one-line description (NAME) and
 * a paragraph (DESCRIPTION).  A page without an entry takes its first
 * command's summary. */
static const struct {
	const char *word, *name, *text;
} prose[] = {
	{"job", "the job queue: add, claim, finish and list jobs",
	 "Jobs are the records of coordination/jobs.json.  A server claims the next queued job"
	 " (lowest priority, then oldest), runs it and marks it done or failed; a failed job is"
	 " queued again while attempts remain.  Every decision is one SQL transaction on the"
	 " mirror pushed as one commit: when another server pushed first, the decision is made"
	 " again on the new state."},
	{"lock", "named locks with leases and fencing tokens",
	 "Locks are the members of coordination/locks.json.  A lock is held by one server until"
	 " it releases it or its lease expires; every new grant raises the lock's fence, which"
	 " a holder passes to what it protects."},
	{"msg", "messages between servers",
	 "Messages are the records of coordination/messages.json, addressed to a server or to"
	 " all.  Unread messages are applied to docs/auto_reply_rules.json by the run cycle."},
	{"status", "this server's status", NULL},
	{"outbox", "the deferred intents of this clone",
	 "An intent (a status, a heartbeat, a message) that could not be pushed waits in the"
	 " clone's outbox and is pushed by the next sync; one the remote cannot take is set"
	 " aside, to be retried or dropped."},
	{"logs", "upload log files to the coordination repository", NULL},
	{"run", "one run cycle, for a timer",
	 "The cycle coordsync@NAME.timer starts every minute: sync, heartbeat, auto-reply, lock"
	 " cleanup, rescue, compaction, deferred intents and health.  Installed units:"
	 " coordsync@.service, coordsync@.timer (see coordsync(5), FILES)."},
	{"daemon", "the run cycle in a loop",
	 "An alternative to the timer: coordsync-daemon@NAME.service runs it.  It also runs the"
	 " clone's decisions for other coordsync processes on the same clone."},
	{"config", "show every setting", "The settings and their environment variables are"
	 " listed in coordsync(5)."},
};

static const char *prose_of(const char *word, int text)
{
	for (size_t i = 0; i < sizeof prose / sizeof *prose; i++)
		if (!strcmp(prose[i].word, word))
			return text ? prose[i].text : prose[i].name;
	return NULL;
}

/* The page a command is on: its first word. */
static size_t first_len(const char *name)
{
	return strcspn(name, " ");
}

/* s as roff text: backslashes and hyphens escaped, and a line that would
 * begin with a control character guarded. */
static void roff(FILE *f, const char *s)
{
	int bol = 1;
	for (; s && *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		bol = *s == '\n';
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

/* The note --help prints after the option's help (cli_opt_note), in roff. */
static void man_note(FILE *f, const cli_opt *o)
{
	char *note = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&note, &len);
	if (!m)
		return;
	cli_opt_note(m, o);
	fclose(m);
	roff(f, note);
	free(note);
}

static void man_opts(FILE *f, const cli_opt *o)
{
	for (; o && o->name; o++) {
		fputs(".TP\n\\fB", f);
		roff(f, o->name);
		fputs("\\fR", f);
		if (o->arg) {
			fputs(" \\fI", f);
			roff(f, o->arg);
			fputs("\\fR", f);
		}
		fputs("\n", f);
		roff(f, o->help);
		man_note(f, o);
		fputs("\n", f);
	}
}

static void man_global_opts(FILE *f)
{
	fputs(".SH GLOBAL OPTIONS\nBefore or after the command:\n", f);
	man_opts(f, cli_global_opts);
	fputs(".TP\n\\fB\\-\\-help\\fR, \\fB\\-h\\fR\nshow the help of the command\n", f);
}

static void man_exit(FILE *f)
{
	fputs(".SH EXIT STATUS\n.TP\n0\nok\n.TP\n1\nerror\n.TP\n2\nusage error or invalid input\n"
	      ".TP\n3\nrefused decision (a lock held, nothing queued); \\fBhealth\\fR exits with"
	      " the monitoring plugins' codes, and 3 (UNKNOWN) on its own usage errors\n", f);
}

static void man_head(FILE *f, const char *page, int section, const char *name)
{
	fputs(".TH ", f);
	for (const char *p = page; *p; p++)
		fputc(toupper((unsigned char)*p), f);
	fprintf(f, " %d \"\" \"coordsync " VERSION "\" \"coordsync manual\"\n", section);
	fputs(".\\\" Generated by coordsync --gendoc (cli/gendoc.c) from the command table: do not edit.\n",
	      f);
	fputs(".nh\n.ad l\n.SH NAME\n", f);
	roff(f, page);
	fputs(" \\- ", f);
	roff(f, name);
	fputs("\n", f);
}

static void man_synopsis(FILE *f, const cli_cmd *cmd)
{
	/* as the usage line of --help */
	fputs("\\fBcoordsync\\fR [\\fIglobal options\\fR] \\fB", f);
	roff(f, cmd->name);
	fputs("\\fR", f);
	if (cmd->opts && cmd->opts->name)
		fputs(" [\\fIoptions\\fR]", f);
	if (cmd->args[0]) {
		fputs(" \\fI", f);
		roff(f, cmd->args);
		fputs("\\fR", f);
	}
	fputs("\n", f);
}

/* The page coordsync-WORD(1): every command whose first word is word. */
static void man_group(FILE *f, const char *word)
{
	size_t n = strlen(word);
	const cli_cmd *first = NULL;
	char page[64];
	int count = 0;
	for (int g = 0; cli_groups[g]; g++)
		for (const cli_cmd *c = cli_groups[g]; c->name; c++)
			if (first_len(c->name) == n && !strncmp(c->name, word, n))
				first = first ? first : c, count++;
	snprintf(page, sizeof page, "coordsync-%s", word);
	man_head(f, page, 1, prose_of(word, 0) ? prose_of(word, 0) : first->summary);
	fputs(".SH SYNOPSIS\n", f);
	for (int g = 0; cli_groups[g]; g++)
		for (const cli_cmd *c = cli_groups[g]; c->name; c++)
			if (first_len(c->name) == n && !strncmp(c->name, word, n)) {
				man_synopsis(f, c);
				fputs(".br\n", f);
			}
	fputs(".SH DESCRIPTION\n", f);
	if (prose_of(word, 1)) {
		roff(f, prose_of(word, 1));
		fputs("\n.PP\n", f);
	}
	for (int g = 0; cli_groups[g]; g++)
		for (const cli_cmd *c = cli_groups[g]; c->name; c++) {
			if (first_len(c->name) != n || strncmp(c->name, word, n))
				continue;
			if (count > 1) {
				fputs(".SS \"coordsync ", f);
				roff(f, c->name);
				fputs("\"\n", f);
			}
			roff(f, c->summary);
			fputs(".\n", f);
			if (c->flags & CLI_SERVED)
				fputs(".PP\nWhile \\fBcoordsync daemon\\fR runs on the clone, it runs this"
				      " command for you (COORDSYNC_NO_DAEMON=1: never).\n", f);
			if (c->opts && c->opts->name) {
				fputs(count > 1 ? ".PP\nOptions:\n" : ".SH OPTIONS\n", f);
				man_opts(f, c->opts);
			}
		}
	man_global_opts(f);
	man_exit(f);
	fputs(".SH SEE ALSO\n\\fBcoordsync\\fR(1), \\fBcoordsync\\fR(5)\n", f);
}

/* The pages' words, in the order of the table, each once (malloc'd); how
 * many, or -1 when out of memory or past max. */
static int page_words(const char **words, int max)
{
	int nw = 0;
	for (int g = 0; cli_groups[g]; g++)
		for (const cli_cmd *c = cli_groups[g]; c->name; c++) {
			size_t n = first_len(c->name);
			int seen = 0;
			for (int i = 0; i < nw && !seen; i++)
				seen = strlen(words[i]) == n && !strncmp(words[i], c->name, n);
			if (seen)
				continue;
			if (nw == max || !(words[nw] = strndup(c->name, n))) {
				while (nw > 0)
					free((char *)words[--nw]);
				return -1;
			}
			nw++;
		}
	return nw;
}

static void man_main(FILE *f, const char **words, int nw)
{
	man_head(f, "coordsync", 1, "a SQLite mirror of a git repository of JSON coordination files");
	fputs(".SH SYNOPSIS\n.B coordsync\n[\\fIglobal options\\fR]\n.I COMMAND\n"
	      "[\\fIoptions\\fR] [\\fIargs\\fR]\n.SH DESCRIPTION\n"
	      "coordsync mirrors a git repository of coordination files (locks, jobs, messages,"
	      " each server's status and heartbeat) into SQLite, makes every decision in an SQL"
	      " transaction on that mirror, and pushes each as one commit: a compare-and-swap on"
	      " the branch.  Servers share nothing but the git remote.\n.PP\n"
	      "Each command's options are in its page, \\fBcoordsync\\-\\fR\\fIWORD\\fR(1), and"
	      " in \\fBcoordsync \\fR\\fICOMMAND\\fR \\fB\\-\\-help\\fR; the files and settings"
	      " in \\fBcoordsync\\fR(5).\n.SH COMMANDS\n", f);
	for (int g = 0; cli_groups[g]; g++)
		for (const cli_cmd *c = cli_groups[g]; c->name; c++) {
			fputs(".TP\n\\fBcoordsync ", f);
			roff(f, c->name);
			fputs("\\fR", f);
			if (c->args[0]) {
				fputs(" \\fI", f);
				roff(f, c->args);
				fputs("\\fR", f);
			}
			fputs("\n", f);
			roff(f, c->summary);
			fputs(" (\\fBcoordsync\\-", f);
			fwrite(c->name, 1, first_len(c->name), f);
			fputs("\\fR(1))\n", f);
		}
	fputs(".TP\n\\fBcoordsync help\\fR [\\fICOMMAND\\fR]\n"
	      "the help of COMMAND, as \\fBcoordsync \\fR\\fICOMMAND\\fR \\fB\\-\\-help\\fR prints it;"
	      " of a group (\\fBcoordsync help job\\fR), its commands; alone, this list\n", f);
	man_global_opts(f);
	fputs(".TP\n\\fB\\-\\-version\\fR\nprint the version\n", f);
	man_exit(f);
	fputs(".SH SEE ALSO\n", f);
	for (int i = 0; i < nw; i++)
		fprintf(f, "\\fBcoordsync\\-%s\\fR(1),\n", words[i]);
	fputs("\\fBcoordsync\\fR(5), \\fBgit\\fR(1), \\fBsqlite3\\fR(1), \\fBsystemd.timer\\fR(5)\n"
	      ".PP\nThe documentation under /usr/share/doc/coordsync (or the install prefix's"
	      " share/doc/coordsync): README.md, OPERATIONS.md, SCHEMA.md, HEALTH.md.\n", f);
}

/* coordsync(5): the files of the repository and of a clone, and every
 * setting (the engine's table, which `coordsync config` lists). */
static void man_files(FILE *f)
{
	const char *key, *env, *dflt, *help;
	man_head(f, "coordsync", 5, "coordination files, clone layout and settings");
	fputs(".SH DESCRIPTION\n"
	      "coordsync keeps its shared state in a git repository (the remote) and a clone of it"
	      " per server, each with a SQLite mirror.  The full schema of the files and of the"
	      " mirror's tables is SCHEMA.md in the documentation.\n"
	      ".SH REPOSITORY\n"
	      ".TP\n.I coordination/jobs.json\n"
	      "{\"jobs\": [ ... ]}: the job queue (\\fBcoordsync\\-job\\fR(1))\n"
	      ".TP\n.I coordination/locks.json\n"
	      "{\"locks\": {NAME: { ... }}}: named locks (\\fBcoordsync\\-lock\\fR(1))\n"
	      ".TP\n.I coordination/messages.json\n"
	      "{\"messages\": [ ... ]}: messages between servers (\\fBcoordsync\\-msg\\fR(1))\n"
	      ".TP\n.I SERVER/status.json\n"
	      "a server's status (\\fBcoordsync\\-status\\fR(1))\n"
	      ".TP\n.I SERVER/heartbeat.json\n"
	      "a server's heartbeat (\\fBcoordsync\\-heartbeat\\fR(1))\n"
	      ".TP\n.I SERVER/logs/\n"
	      "uploaded log files (\\fBcoordsync\\-logs\\fR(1))\n"
	      ".TP\n.I coordination/archive/YYYY\\-MM/\n"
	      "finished jobs and read messages moved by \\fBcoordsync\\-compact\\fR(1)\n"
	      ".TP\n.I docs/auto_reply_rules.json\n"
	      "the rules the run cycle applies to unread messages\n"
	      ".SH CLONE\n"
	      ".TP\n.I CLONE/.git/coordsync/mirror.db\n"
	      "the SQLite mirror: a cache of the remote, which \\fBcoordsync rebuild\\fR"
	      " recreates, and the outbox of deferred intents, which it keeps\n"
	      ".TP\n.I CLONE/.git/config\n"
	      "the settings, as \\fBcoordsync.\\fR\\fIKEY\\fR (below)\n"
	      ".TP\n.I /var/lib/coordsync/NAME\n"
	      "the clones of the installed units, owned by the \\fBcoordsync\\fR user:"
	      " coordsync@NAME.timer starts coordsync@NAME.service (\\fBcoordsync run\\fR) every"
	      " minute; coordsync\\-daemon@NAME.service runs \\fBcoordsync daemon\\fR instead\n"
	      ".SH SETTINGS\n"
	      "Each setting is \\fBcoordsync.\\fR\\fIKEY\\fR in the clone's git config"
	      " (\\fBgit \\-C\\fR \\fICLONE\\fR \\fBconfig coordsync.\\fR\\fIKEY VALUE\\fR); the"
	      " environment variable named overrides it, and a command's flag both."
	      "  Durations take units (30s, 15m, 2h, 7d).  \\fBcoordsync config\\fR shows every"
	      " value in use and where it came from.\n", f);
	for (int i = 0; !cs_config_describe(i, &key, &env, &dflt, &help); i++) {
		fputs(".TP\n\\fBcoordsync.", f);
		roff(f, key);
		fputs("\\fR", f);
		if (dflt) {
			fputs(" (default: ", f);
			roff(f, dflt);
			fputs(")", f);
		}
		fputs("\n", f);
		roff(f, help);
		if (env) {
			fputs("; environment: \\fB", f);
			roff(f, env);
			fputs("\\fR", f);
		}
		fputs("\n", f);
	}
	fputs(".SH SEE ALSO\n\\fBcoordsync\\fR(1), \\fBcoordsync\\-config\\fR(1), \\fBgit\\-config\\fR(1),"
	      " \\fBsystemd.service\\fR(5)\n", f);
}

/* ---- bash completion ---------------------------------------------------- */

static void words_of(FILE *f, const cli_opt *o, int valued)
{
	for (; o && o->name; o++)
		if (valued < 0 || (o->kind != 'f') == valued)
			fprintf(f, " %s", o->name);
}

/* The options that take a file or directory name: their argument says so. */
static void path_opts(FILE *f, const cli_opt *o)
{
	for (; o && o->name; o++)
		if (o->arg && (strstr(o->arg, "FILE") || strstr(o->arg, "DIR")))
			fprintf(f, " %s", o->name);
}

static void bash_completion(FILE *f, const char **words, int nw)
{
	fputs("# bash completion for coordsync(1).  Generated by coordsync --gendoc (cli/gendoc.c)\n"
	      "# from the command table that --help prints: do not edit.\n"
	      "# Also zsh's, through bashcompinit (_coordsync for zsh): so no mapfile.\n"
	      "_coordsync_reply()\n{\n"
	      "\tlocal line\n\tCOMPREPLY=()\n"
	      "\twhile IFS= read -r line; do COMPREPLY+=(\"$line\"); done\n}\n"
	      "_coordsync()\n{\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev= i=1 w cmd opts vals paths\n"
	      "\t[ \"$COMP_CWORD\" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "\tCOMPREPLY=()\n"
	      "\t# the global options before the command, with their values\n"
	      "\twhile [ \"$i\" -lt \"$COMP_CWORD\" ]; do\n"
	      "\t\tw=${COMP_WORDS[i]}\n\t\tcase $w in\n\t\t", f);
	{
		int any = 0;
		for (const cli_opt *o = cli_global_opts; o->name; o++)
			if (o->kind != 'f')
				fprintf(f, "%s%s", any++ ? "|" : "", o->name);
		fputs(any ? ") i=$((i + 2)) ;;\n" : "--) i=$((i + 1)) ;;\n", f);
	}
	fputs("\t\t-*) i=$((i + 1)) ;;\n\t\t*) break ;;\n\t\tesac\n\tdone\n"
	      "\tvals=\"", f);
	words_of(f, cli_global_opts, 1);
	fputs(" \"\n\tpaths=\"", f);
	path_opts(f, cli_global_opts);
	fputs(" \"\n"
	      "\tif [ \"$i\" -ge \"$COMP_CWORD\" ]; then\n"
	      "\t\tcase \" $paths \" in *\" $prev \"*) _coordsync_reply < <(compgen -f -- \"$cur\"); return ;; esac\n"
	      "\t\tcase \" $vals \" in *\" $prev \"*) return ;; esac\n"
	      "\t\tif [[ $cur == -* ]]; then\n"
	      "\t\t\t_coordsync_reply < <(compgen -W \"", f);
	words_of(f, cli_global_opts, -1);
	fputs(" --help --version\" -- \"$cur\")\n\t\telse\n"
	      "\t\t\t_coordsync_reply < <(compgen -W \"", f);
	for (int i = 0; i < nw; i++)
		fprintf(f, "%s%s", i ? " " : "", words[i]);
	fputs(" help\" -- \"$cur\")\n\t\tfi\n\t\treturn\n\tfi\n"
	      "\t# the command: a group's word and its subcommand, or one word\n"
	      "\tcmd=${COMP_WORDS[i]}\n\tcase $cmd in\n"
	      "\thelp)\n\t\t[ $((i + 1)) -eq \"$COMP_CWORD\" ] &&\n"
	      "\t\t\t_coordsync_reply < <(compgen -W \"", f);
	for (int i = 0; i < nw; i++)
		fprintf(f, "%s%s", i ? " " : "", words[i]);
	fputs("\" -- \"$cur\")\n\t\treturn ;;\n", f);
	for (int k = 0; k < nw; k++) {
		size_t n = strlen(words[k]);
		int subs = 0;
		for (int g = 0; cli_groups[g]; g++)
			for (const cli_cmd *c = cli_groups[g]; c->name; c++)
				if (!strncmp(c->name, words[k], n) && c->name[n] == ' ') {
					if (!subs++)
						fprintf(f, "\t%s)\n\t\tif [ $((i + 1)) -eq \"$COMP_CWORD\" ]; then\n"
							   "\t\t\t_coordsync_reply < <(compgen -W \"",
							words[k]);
					fprintf(f, "%s%s", subs > 1 ? " " : "", c->name + n + 1);
				}
		if (subs)
			fputs("\" -- \"$cur\")\n\t\t\treturn\n\t\tfi\n"
			      "\t\tcmd=\"$cmd ${COMP_WORDS[i+1]}\" ;;\n", f);
	}
	fputs("\tesac\n\t# its options: all, those that take a value, those that take a path\n"
	      "\tcase $cmd in\n", f);
	for (int g = 0; cli_groups[g]; g++)
		for (const cli_cmd *c = cli_groups[g]; c->name; c++) {
			fprintf(f, "\t\"%s\") opts=\"", c->name);
			words_of(f, c->opts, -1);
			fputs("\" vals=\"$vals", f);
			words_of(f, c->opts, 1);
			fputs("\" paths=\"$paths", f);
			path_opts(f, c->opts);
			fputs("\" ;;\n", f);
		}
	fputs("\t*) return ;;\n\tesac\n"
	      "\tcase \" $paths \" in *\" $prev \"*) _coordsync_reply < <(compgen -f -- \"$cur\"); return ;; esac\n"
	      "\tcase \" $vals \" in *\" $prev \"*) return ;; esac\n"
	      "\tif [[ $cur == -* ]]; then\n"
	      "\t\t_coordsync_reply < <(compgen -W \"$opts", f);
	words_of(f, cli_global_opts, -1);
	fputs(" --help\" -- \"$cur\")\n\telse\n"
	      "\t\t_coordsync_reply < <(compgen -f -- \"$cur\")\n\tfi\n}\n"
	      "complete -F _coordsync coordsync\n", f);
}

/* ---- writing the files -------------------------------------------------- */

static FILE *open_out(const char *dir, const char *sub, const char *name, char *path, size_t len)
{
	FILE *f;
	snprintf(path, len, "%s/%s", dir, sub);
	if (mkdir(path, 0755) && errno != EEXIST)
		return fprintf(stderr, "coordsync: cannot create %s: %s\n", path, strerror(errno)), NULL;
	snprintf(path, len, "%s/%s/%s", dir, sub, name);
	if (!(f = fopen(path, "w")))
		fprintf(stderr, "coordsync: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

static int close_out(FILE *f, const char *path)
{
	if (ferror(f) | fclose(f))
		return fprintf(stderr, "coordsync: cannot write %s\n", path), -1;
	return 0;
}

int cli_gendoc(const char *dir)
{
	const char *words[128];
	char path[4096], name[80];
	int nw, rc = 0;
	FILE *f;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return fprintf(stderr, "coordsync: cannot create %s: %s\n", dir, strerror(errno)), EXIT_ERR;
	if ((nw = page_words(words, 128)) < 0)
		return fprintf(stderr, "coordsync: out of memory\n"), EXIT_ERR;
	if (!(f = open_out(dir, "man1", "coordsync.1", path, sizeof path)))
		rc = -1;
	else
		man_main(f, words, nw), rc = close_out(f, path);
	for (int i = 0; i < nw && !rc; i++) {
		snprintf(name, sizeof name, "coordsync-%s.1", words[i]);
		if (!(f = open_out(dir, "man1", name, path, sizeof path)))
			rc = -1;
		else
			man_group(f, words[i]), rc = close_out(f, path);
	}
	if (!rc && !(f = open_out(dir, "man5", "coordsync.5", path, sizeof path)))
		rc = -1;
	else if (!rc)
		man_files(f), rc = close_out(f, path);
	if (!rc && !(f = open_out(dir, "bash-completion", "coordsync", path, sizeof path)))
		rc = -1;
	else if (!rc)
		bash_completion(f, words, nw), rc = close_out(f, path);
	for (int i = 0; i < nw; i++)
		free((char *)words[i]);
	return rc ? EXIT_ERR : EXIT_OK;
}
