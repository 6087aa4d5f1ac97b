/* The command table: the global options, every command group, and finding
 * the command an argument vector names.  Below main.c (parsing, help) and
 * serve.c (which checks what it may serve). */
#include <stdio.h>
#include <string.h>
#include "cli.h"

const cli_opt cli_global_opts[] = {
	{"-C", 's', "DIR", "run as if started in DIR (the clone)"},
	{"--server", 's', "ID", "this server's id (default: coordsync.server in the clone)"},
	{"--db", 's', "FILE", "the mirror database (default: DIR/.git/coordsync/mirror.db)"},
	{"--json", 'f', NULL, "machine-readable output: one JSON object (docs/JSON.md)"},
	{"--local", 'f', NULL, "times in local time with its offset (default: UTC, ...Z)"},
	{"--quiet", 'f', NULL, "errors only: no notices, no report of what was done; a value"
	 " asked for (an id, a fence, a list, JSON) is still printed"},
	{"-q", 'f', NULL, "short for --quiet"},
	{NULL, 0, NULL, NULL}};

const cli_cmd *const cli_groups[] = {cli_sync_cmds, cli_query_cmds, cli_lock_cmds, cli_job_cmds,
					cli_msg_cmds, cli_status_cmds, cli_demo_cmds,
					cli_health_cmds, cli_report_cmds, cli_run_cmds,
					cli_outbox_cmds, cli_validate_cmds, cli_logs_cmds, cli_jira_cmds, NULL};

/* Match argv[i] against a table; handles "--name=value", "--name value",
 * and for a one-letter option with a value "-CDIR" as "-C DIR". */
const cli_opt *cli_match(const cli_opt *tab, const char *arg, const char **inl)
{
	*inl = NULL;
	for (const cli_opt *o = tab; o && o->name; o++) {
		size_t n = strlen(o->name);
		if (n == 2 && o->name[1] != '-' && o->kind != 'f' && !strncmp(arg, o->name, 2) &&
		    arg[2] && arg[2] != '=') {
			*inl = arg + 2;
			return o;
		}
		if (!strncmp(arg, o->name, n) && (arg[n] == 0 || (arg[n] == '=' && o->kind != 'f'))) {
			*inl = arg[n] == '=' ? arg + n + 1 : NULL;
			return o;
		}
	}
	return NULL;
}

/* The command argv[i] (and argv[i + 1]) names, longest match first:
 * "lock acquire" before "lock".  *used is the number of words. */
const cli_cmd *cli_lookup(int argc, char **argv, int i, int *used)
{
	size_t n = strlen(argv[i]);
	for (int g = 0; cli_groups[g]; g++)
		for (const cli_cmd *cmd = cli_groups[g]; cmd->name; cmd++) {
			if (strncmp(cmd->name, argv[i], n))
				continue;
			if (cmd->name[n] == ' ' && i + 1 < argc && !strcmp(cmd->name + n + 1, argv[i + 1]))
				return *used = 2, cmd;
			if (!cmd->name[n])
				return *used = 1, cmd;
		}
	return NULL;
}

const cli_cmd *cli_find(int argc, char **argv)
{
	int i = 1, used;
	while (i < argc && argv[i][0] == '-') {
		const char *inl;
		const cli_opt *o = cli_match(cli_global_opts, argv[i], &inl);
		if (!o)
			return NULL;
		i += o->kind != 'f' && !inl ? 2 : 1;
	}
	return i < argc ? cli_lookup(argc, argv, i, &used) : NULL;
}

/* List the commands of group name on f (or only count them when f is
 * NULL); returns how many there are. */
int cli_group_list(FILE *f, const char *name)
{
	size_t n = strlen(name);
	int shown = 0;
	for (int g = 0; cli_groups[g]; g++)
		for (const cli_cmd *cmd = cli_groups[g]; cmd->name; cmd++)
			if (!strncmp(cmd->name, name, n) && cmd->name[n] == ' ') {
				if (f && !shown)
					fprintf(f, "coordsync %s commands:\n", name);
				if (f)
					fprintf(f, "  %-16s %s\n", cmd->name, cmd->summary);
				shown++;
			}
	return shown;
}

/* What --help and the man pages (cli/gendoc.c) add after an option's own
 * help: one rule for both, so the pages cannot drift from --help. */
void cli_opt_note(FILE *f, const cli_opt *o)
{
	if (o->kind == 'm')
		fputs(" (repeatable)", f);
	else if (o->kind == 'd' && !strstr(o->help, "bare number"))
		fputs(" (a duration: 30s 15m 2h 7d 1h30m; a bare number is seconds)", f);
	else if (o->kind == 'F') {
		fputs(": ", f);
		cli_format_names(f);
	}
}
