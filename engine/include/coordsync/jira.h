/*
 * coordsync/jira.h: the seed's Jira workflow (docs/JIRA.md).  The issues of
 * coordsync.jira.project are mirrored into the tables jira_issues and
 * jira_history (schema/008_jira.sql) beside the coordination data, the
 * ticket index and the curated key map are committed to the remote as
 * decisions, and the curation commands change Jira only where it differs
 * from what is wanted, so that a second run writes nothing.
 *
 * The conventions of coordsync/common.h hold.  Every call talks to Jira
 * over libcurl (opened on demand) within coordsync.jira.timeout per
 * request; the token (coordsync.jira.tokenfile) is never put in a message,
 * the mirror or the remote.
 */
#ifndef COORDSYNC_JIRA_H
#define COORDSYNC_JIRA_H

#include "coordsync/common.h"

typedef struct cs_jira_sync_opts {
	const char *jql;     /* narrows `project = KEY AND jql` (in parentheses when it
			      * holds an OR; no ORDER BY); NULL: the project */
	int full;            /* ask for every issue, not only those updated since the last sync */
	int page_size;       /* > 0: overrides coordsync.jira.pagesize */
} cs_jira_sync_opts;

typedef struct cs_jira_sync_stats {
	int pages;           /* search requests */
	int seen;            /* issues Jira gave */
	int added;           /* new in the mirror */
	int changed;         /* changed since the mirror's copy */
	int fields;          /* rows added to jira_history */
} cs_jira_sync_stats;

/* Take the project's issues into jira_issues, recording each changed field
 * in jira_history.  Incremental: without o->jql or o->full, only issues
 * updated since a minute before the last full sync's newest `updated`; a
 * narrowed sync leaves that mark alone.  Each issue is written in its own
 * transaction, so an error keeps what came before it. */
int cs_jira_sync(cs_ctx *ctx, const cs_jira_sync_opts *o, cs_jira_sync_stats *st);

/* Write docs/JIRA_CURATED_TICKETS.md from the view jira_index (queries/):
 * the issues of docs/curated_ticket_keys.json when the remote has that
 * file, else every issue of the project in the mirror.  One commit, made
 * only when the file changed; *tickets counts the rows, commit gets the
 * commit's id, or "" when nothing changed.  Reads the mirror only: run
 * cs_jira_sync first. */
int cs_jira_index(cs_ctx *ctx, int *tickets, char commit[41]);

typedef struct cs_jira_create_stats {
	int created;         /* issues created */
	int updated;         /* issues whose summary, description or labels were brought to the file's */
	int assigned;        /* assignments changed */
	int unchanged;       /* tickets Jira had as the file says */
} cs_jira_create_stats;

/* The seed's create_and_assign: for each ticket of file ({"tickets":
 * [{"id", "summary", "type", "description", "labels", "assignee"}, ...]}),
 * create the issue when docs/curated_ticket_keys.json ({"id": "KEY"}) has
 * no key for it, else bring its summary, description and labels to the
 * file's (labels are only added); then assign it when its assignee is
 * another.  The key map, when it changed, is pushed in one commit (commit
 * gets its id, "" when none), also when a later ticket failed. */
int cs_jira_create(cs_ctx *ctx, const char *file, cs_jira_create_stats *st, char commit[41]);

/* One check of cs_jira_verify: a field of an issue, what was expected and
 * what Jira has ("(none)" for nobody).  Valid during the callback. */
typedef struct cs_jira_check {
	const char *key, *field, *expected, *actual;
	int ok;
} cs_jira_check;
typedef int (*cs_jira_check_fn)(const cs_jira_check *c, void *arg);
typedef struct cs_jira_expect {
	const char *file;    /* a ticket file: each ticket's "reporter", "assignee", "status" */
	const char *reporter, *assignee, *status;   /* without a file, for every key */
} cs_jira_expect;
/* The seed's verify_created_updated: reporter, assignee and status of the
 * issues keys[0, n) (none: every key of the key map, or of the file),
 * checked against e.  A user matches by accountId, name, email or display
 * name.  fn sees each check; *mismatches counts the failed ones. */
int cs_jira_verify(cs_ctx *ctx, const char *const *keys, int n, const cs_jira_expect *e,
		   cs_jira_check_fn fn, void *arg, int *mismatches);

/* The seed's curate_jira_metadata: add the labels of coordsync.jira.labels
 * that each issue lacks, and link each non-epic to coordsync.jira.epic (its
 * Epic Link field, or its parent where the site has no Epic Link).  keys
 * as cs_jira_verify.  One edit per issue that needs one; *changed counts
 * them. */
int cs_jira_curate(cs_ctx *ctx, const char *const *keys, int n, int *seen, int *changed);

/* The seed's move_to_backlog: bring key to "To Do" through its workflow's
 * transition (CS_EREFUSED when there is none), then out of any open sprint
 * into the backlog.  Each step only when needed. */
int cs_jira_backlog(cs_ctx *ctx, const char *key, int *transitioned, int *moved);

typedef struct cs_jira_plan_result {
	int scrum;           /* 1: the board is scrum (a sprint), 0: kanban (a fix version) */
	int created;         /* the sprint or version was created */
	int added;           /* issues added to it */
} cs_jira_plan_result;
/* The seed's plan_sprint: on coordsync.jira.board's type, find or create
 * the open sprint (scrum) or the project's version (kanban) called name and
 * put the issues keys (as cs_jira_verify) in it, those not in it yet. */
int cs_jira_plan(cs_ctx *ctx, const char *name, const char *const *keys, int n,
		 cs_jira_plan_result *r);

#endif
