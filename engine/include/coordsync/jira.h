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
	const char *jql;     /* narrows `project = KEY` (AND (jql)); NULL: the project */
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

#endif
