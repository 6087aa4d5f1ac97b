/* The Jira sync (jirasync.c): issues into mirror rows, the index and the
 * key map; and what the curation commands (jiraops.c) share with it: the
 * project's key, issue keys, the custom fields, reading an issue's JSON. */
#ifndef CS_JIRASYNC_H
#define CS_JIRASYNC_H

#include <cjson/cJSON.h>
#include "coordsync/jira.h"
#include "ctx.h"
#include "jira.h"

/* The curated key map in the remote: {"ticket id": "KEY"}. */
#define JIRASYNC_KEYS "docs/curated_ticket_keys.json"

/* coordsync.jira.project, checked to be a project key as Jira makes them
 * (a letter, then letters, digits or '_'), so that it goes into JQL as it
 * is.  *out is freed with free. */
int jirasync_project(cs_ctx *ctx, char **out);
/* 1 for an issue key: PROJECT-NUMBER. */
int jirasync_valid_key(const char *k);

/* o's member name (case-sensitive), and the same when it is a string. */
const cJSON *jirasync_member(const cJSON *o, const char *name);
const char *jirasync_str(const cJSON *o, const char *name);
/* Two texts equal, NULL equal only to NULL. */
int jirasync_text_eq(const char *a, const char *b);

/* The ids of the custom fields named "Epic Link" and "Sprint" (GET
 * /rest/api/2/field); left empty where the site has none. */
typedef struct jirasync_fields {
	char epic[64], sprint[64];
} jirasync_fields;
int jirasync_find_fields(cs_ctx *ctx, jira *j, jirasync_fields *cf);

/* The key map at the remote's head (a decision that writes nothing); *out
 * is NULL when the remote has none, else freed with cJSON_Delete. */
int jirasync_keymap_read(cs_ctx *ctx, cJSON **out);
/* The keys to work on: keys[0, n) when given (each checked), else the
 * values of the key map, else an error.  *out is a cJSON array of strings. */
int jirasync_work_keys(cs_ctx *ctx, const char *const *keys, int n, cJSON **out);
/* Push map (sorted here by ticket id) as the key map, one decision. */
int jirasync_keymap_write(cs_ctx *ctx, cJSON *map);

/* An issue as the columns of jira_issues a sync compares (the order of
 * jirasync.c's field_cols), every text malloc'd or NULL. */
#define JIRASYNC_NF 15
typedef struct jirasync_row {
	char *key, *id, *raw;
	char *f[JIRASYNC_NF];
} jirasync_row;
/* issue (one of a search's "issues", Jira's own text, so anything) into
 * *r: CS_ERROR for an issue without a valid key or fields.  *r is freed
 * with jirasync_row_free whatever the result. */
int jirasync_row_make(cs_ctx *ctx, const cJSON *issue, const jirasync_fields *cf,
		      jirasync_row *r);
void jirasync_row_free(jirasync_row *r);

/* What a sync carries from issue to issue. */
typedef struct jirasync_arg {
	const jirasync_fields *cf;
	const char *project, *base;
	cs_jira_sync_stats *st;
	double high, now;   /* the highest "updated" seen (NAN: none), the sync's time */
} jirasync_arg;
/* One issue of a search (a jira_issue_fn, arg a jirasync_arg) into the
 * mirror, in its own transaction: compared with the mirror's row, each
 * changed field a row of jira_history, then the row replaced. */
int jirasync_issue(cs_ctx *ctx, const cJSON *issue, void *arg);

#endif
