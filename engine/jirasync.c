/* The Jira sync (coordsync/jira.h, docs/JIRA.md): the project's issues into
 * the mirror (jira_issues, jira_history), each issue turned into its row;
 * the ticket index and the curated key map, read and committed as
 * decisions.  The helpers the curation commands (jiraops.c) share are here
 * too (jirasync.h). */
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <math.h>
#include <time.h>
#include "coordsync/config.h"
#include "coordsync/jira.h"
#include "ctx.h"
#include "util.h"
#include "json.h"
#include "json_int.h"
#include "db.h"
#include "handle.h"
#include "decide.h"
#include "jira.h"
#include "jirasync.h"

/* The widest offset west of UTC a Jira user's time zone has (UTC-12). */
#define JIRA_TZ_WEST (12 * 3600)

/* ---- settings -------------------------------------------------------------------- */

/* coordsync.jira.project: a project key as Jira makes them (a letter, then
 * letters, digits or '_'), so that it goes into JQL as it is. */
int jirasync_project(cs_ctx *ctx, char **out)
{
	char *p = cs_config_get(ctx, "jira.project");
	*out = NULL;
	if (!p)
		return ctx_err(ctx, CS_EINVAL, "coordsync.jira.project is not set (git config, or"
			      " COORDSYNC_JIRA_PROJECT)");
	if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) || strlen(p) > 64 ||
	    p[strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")]) {
		int rc = ctx_err(ctx, CS_EINVAL, "invalid coordsync.jira.project '%s': expected a"
				" project key (VNFFRAM)", p);
		free(p);
		return rc;
	}
	*out = p;
	return CS_OK;
}

/* An issue key: PROJECT-NUMBER. */
int jirasync_valid_key(const char *k)
{
	const char *dash = strrchr(k, '-');
	if (!dash || dash == k || !dash[1] || dash[1 + strspn(dash + 1, "0123456789")] ||
	    strlen(k) > 80)
		return 0;
	for (const char *p = k; p < dash; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

/* ---- the fields of an issue ------------------------------------------------------ */

const cJSON *jirasync_member(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

const char *jirasync_str(const cJSON *o, const char *name)
{
	const cJSON *v = jirasync_member(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int jirasync_find_fields(cs_ctx *ctx, jira *j, jirasync_fields *cf)
{
	cJSON *doc = NULL;
	const cJSON *f;
	int rc;

	cf->epic[0] = cf->sprint[0] = 0;
	if ((rc = jira_call_json(ctx, j, "GET", "/rest/api/2/field", NULL, JIRA_RETRY, &doc)))
		return rc;
	cJSON_ArrayForEach(f, doc) {
		const char *id = jirasync_str(f, "id"), *name = jirasync_str(f, "name");
		if (!id || !name || strlen(id) >= sizeof cf->epic ||
		    strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(id))
			continue;
		if (!strcmp(name, "Epic Link") && !cf->epic[0])
			snprintf(cf->epic, sizeof cf->epic, "%s", id);
		else if (!strcmp(name, "Sprint") && !cf->sprint[0])
			snprintf(cf->sprint, sizeof cf->sprint, "%s", id);
	}
	cJSON_Delete(doc);
	return CS_OK;
}

/* The name of an issue's last sprint: an object {"name": ..} (Cloud, Data
 * Center 8.x), or the older string "...Sprint@1a2b[id=1,...,name=S,...]". */
static char *sprint_name(const cJSON *v)
{
	const cJSON *last = NULL, *x;
	if (!cJSON_IsArray(v))
		return NULL;
	cJSON_ArrayForEach(x, v)
		last = x;
	if (cJSON_IsObject(last) && jirasync_str(last, "name"))
		return strdup(jirasync_str(last, "name"));
	if (cJSON_IsString(last)) {
		const char *p = strstr(last->valuestring, ",name=");
		if (p) {
			p += 6;
			return strndup(p, strcspn(p, ",]"));
		}
	}
	return NULL;
}

/* A JSON array of the strings (or the "name" members) of v, "[]" for none. */
static char *names_json(const cJSON *v)
{
	sbuf b = {0};
	const cJSON *x;
	int n = 0;
	sb_putc(&b, '[');
	if (cJSON_IsArray(v))
		cJSON_ArrayForEach(x, v) {
			const char *s = cJSON_IsString(x) ? x->valuestring : jirasync_str(x, "name");
			if (!s)
				continue;
			if (n++)
				sb_puts(&b, ", ");
			json_put_string(&b, s);
		}
	sb_putc(&b, ']');
	return sb_detach(&b);
}

/* The columns of jira_issues that a sync compares, in order. */
enum { F_SUMMARY, F_TYPE, F_STATUS, F_STATUSCAT, F_ASSIGNEE, F_ASSIGNEE_ID, F_REPORTER,
       F_REPORTER_ID, F_LABELS, F_PARENT, F_EPIC, F_SPRINT, F_FIXVERSIONS, F_CREATED, F_UPDATED,
       F_N };
static const char *const field_cols[F_N] = {
	"summary", "type", "status", "status_category", "assignee", "assignee_id", "reporter",
	"reporter_id", "labels", "parent", "epic", "sprint", "fix_versions", "created", "updated"};
_Static_assert(F_N == JIRASYNC_NF, "jirasync.h: JIRASYNC_NF is the number of fields");

void jirasync_row_free(jirasync_row *r)
{
	free(r->key);
	free(r->id);
	free(r->raw);
	for (int i = 0; i < F_N; i++)
		free(r->f[i]);
}

static char *dup_or_null(const char *s, int *oom)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		*oom = 1;
	return d;
}

/* A user's display name and id: accountId (Cloud) or name (Data Center). */
static void user_of(const cJSON *u, char **name, char **id, int *oom)
{
	const char *uid = jirasync_str(u, "accountId");
	*name = dup_or_null(jirasync_str(u, "displayName"), oom);
	*id = dup_or_null(uid ? uid : jirasync_str(u, "name"), oom);
}

int jirasync_row_make(cs_ctx *ctx, const cJSON *issue, const jirasync_fields *cf,
		      jirasync_row *r)
{
	const cJSON *f = jirasync_member(issue, "fields"), *id = jirasync_member(issue, "id");
	const char *key = jirasync_str(issue, "key");
	int oom = 0;

	memset(r, 0, sizeof *r);
	if (!key || !jirasync_valid_key(key) || !cJSON_IsObject(f))
		return ctx_err(ctx, CS_ERROR, "jira search: an issue without a valid key or fields");
	r->key = dup_or_null(key, &oom);
	if (cJSON_IsString(id))
		r->id = dup_or_null(id->valuestring, &oom);
	else if (cJSON_IsNumber(id) && (r->id = malloc(32)))
		snprintf(r->id, 32, "%.0f", id->valuedouble);
	r->raw = cJSON_PrintUnformatted(issue);
	r->f[F_SUMMARY] = dup_or_null(jirasync_str(f, "summary"), &oom);
	r->f[F_TYPE] = dup_or_null(jirasync_str(jirasync_member(f, "issuetype"), "name"), &oom);
	r->f[F_STATUS] = dup_or_null(jirasync_str(jirasync_member(f, "status"), "name"), &oom);
	r->f[F_STATUSCAT] = dup_or_null(jirasync_str(jirasync_member(jirasync_member(f, "status"), "statusCategory"), "key"),
					&oom);
	user_of(jirasync_member(f, "assignee"), &r->f[F_ASSIGNEE], &r->f[F_ASSIGNEE_ID], &oom);
	user_of(jirasync_member(f, "reporter"), &r->f[F_REPORTER], &r->f[F_REPORTER_ID], &oom);
	r->f[F_LABELS] = names_json(jirasync_member(f, "labels"));
	r->f[F_PARENT] = dup_or_null(jirasync_str(jirasync_member(f, "parent"), "key"), &oom);
	if (cf->epic[0]) {
		const cJSON *e = jirasync_member(f, cf->epic);
		r->f[F_EPIC] = dup_or_null(cJSON_IsString(e) ? e->valuestring : jirasync_str(e, "key"), &oom);
	}
	if (cf->sprint[0])
		r->f[F_SPRINT] = sprint_name(jirasync_member(f, cf->sprint));
	r->f[F_FIXVERSIONS] = names_json(jirasync_member(f, "fixVersions"));
	r->f[F_CREATED] = dup_or_null(jirasync_str(f, "created"), &oom);
	r->f[F_UPDATED] = dup_or_null(jirasync_str(f, "updated"), &oom);
	if (oom || !r->key || !r->raw || !r->f[F_LABELS] || !r->f[F_FIXVERSIONS])
		return ctx_err_oom(ctx);
	return CS_OK;
}

int jirasync_text_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* ---- jira sync ------------------------------------------------------------------ */

static double jirasync_time(const char *s)
{
	double t;
	return s && !util_time_parse(s, &t) ? t : NAN;
}

/* One issue, in its own transaction: compared with the mirror's copy, each
 * changed field a row of jira_history, then the row replaced. */
int jirasync_issue(cs_ctx *ctx, const cJSON *issue, void *p)
{
	jirasync_arg *a = p;
	jirasync_row r;
	sqlite3_stmt *st = NULL;
	char *old[F_N] = {0}, *oldraw = NULL;
	sbuf browse = {0};
	int rc, have = 0;
	double upd;

	a->st->seen++;
	if ((rc = jirasync_row_make(ctx, issue, a->cf, &r)))
		goto done;
	if ((rc = db_begin(ctx)))
		goto done;
	if ((rc = db_prepare(ctx, &st, "SELECT summary, type, status, status_category, assignee,"
				       " assignee_id, reporter, reporter_id, labels, parent, epic,"
				       " sprint, fix_versions, created, updated, raw"
				       " FROM jira_issues WHERE key = :k")) ||
	    (rc = db_bind_text(ctx, st, ":k", r.key)))
		goto done;
	if ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		have = 1;
		for (int i = 0; i <= F_N; i++) {
			const char *t = (const char *)sqlite3_column_text(st, i);
			char *d = t ? strdup(t) : NULL;
			if (t && !d) {
				rc = ctx_err_oom(ctx);
				goto done;
			}
			if (i < F_N)
				old[i] = d;
			else
				oldraw = d;
		}
	} else if (rc != SQLITE_DONE) {
		goto done;
	}
	sqlite3_finalize(st);
	st = NULL;
	upd = jirasync_time(r.f[F_UPDATED]);
	if (!isnan(upd) && (isnan(a->high) || upd > a->high))
		a->high = upd;
	/* Seen before as it is (the minute of overlap): nothing to write. */
	if (have && jirasync_text_eq(oldraw, r.raw)) {
		rc = db_commit(ctx);
		goto done;
	}
	if (!have) {
		rc = DB_RUN(ctx, "INSERT INTO jira_history(key, field, old, new, seen_at)"
				 " VALUES(:k, 'created', NULL, :k, :t)",
			    DB_TEXT(":k", r.key), DB_REAL(":t", a->now));
		a->st->added++;
		a->st->fields++;
	} else {
		int changed = 0;
		for (int i = 0; i < F_N && rc >= 0; i++) {
			if (i == F_UPDATED || jirasync_text_eq(old[i], r.f[i]))
				continue;
			rc = DB_RUN(ctx, "INSERT INTO jira_history(key, field, old, new, seen_at)"
					 " VALUES(:k, :f, :o, :n, :t)",
				    DB_TEXT(":k", r.key), DB_TEXT(":f", field_cols[i]),
				    DB_TEXT(":o", old[i]), DB_TEXT(":n", r.f[i]), DB_REAL(":t", a->now));
			changed++;
		}
		a->st->fields += changed;
		a->st->changed++;
	}
	if (rc < 0)
		goto done;
	sb_printf(&browse, "%s/browse/%s", a->base, r.key);
	if (browse.oom) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if ((rc = db_prepare(ctx, &st,
			     "INSERT OR REPLACE INTO jira_issues(key, id, project, summary, type, status,"
			     " status_category, assignee, assignee_id, reporter, reporter_id, labels,"
			     " parent, epic, sprint, fix_versions, created, updated, created_at,"
			     " updated_at, browse, raw, synced_at) VALUES(:key, :id, :project,"
			     " :summary, :type, :status, :status_category, :assignee, :assignee_id,"
			     " :reporter, :reporter_id, :labels, :parent, :epic, :sprint,"
			     " :fix_versions, :created, :updated, :created_at, :updated_at, :browse,"
			     " :raw, :now)")) ||
	    (rc = db_bind_text(ctx, st, ":key", r.key)) || (rc = db_bind_text(ctx, st, ":id", r.id)) ||
	    (rc = db_bind_text(ctx, st, ":project", a->project)) ||
	    (rc = db_bind_text(ctx, st, ":browse", browse.p)) ||
	    (rc = db_bind_text(ctx, st, ":raw", r.raw)) || (rc = db_bind_real(ctx, st, ":now", a->now)))
		goto done;
	for (int i = 0; i < F_N; i++) {
		char name[40];
		snprintf(name, sizeof name, ":%s", field_cols[i]);
		if ((rc = db_bind_text(ctx, st, name, r.f[i])))
			goto done;
	}
	{
		double c = jirasync_time(r.f[F_CREATED]);
		if ((rc = isnan(c) ? db_bind_null(ctx, st, ":created_at")
				   : db_bind_real(ctx, st, ":created_at", c)) ||
		    (rc = isnan(upd) ? db_bind_null(ctx, st, ":updated_at")
				     : db_bind_real(ctx, st, ":updated_at", upd)))
			goto done;
	}
	if ((rc = db_step(ctx, st)) != SQLITE_DONE)
		goto done;
	rc = db_commit(ctx);
done:
	sqlite3_finalize(st);
	if (rc)
		db_rollback(ctx);
	for (int i = 0; i < F_N; i++)
		free(old[i]);
	free(oldraw);
	sb_free(&browse);
	jirasync_row_free(&r);
	return rc;
}

/* The fields a search asks for. */
static char *search_fields(const jirasync_fields *cf)
{
	sbuf b = {0};
	sb_puts(&b, "summary,issuetype,status,assignee,reporter,labels,parent,fixVersions,created,"
		    "updated");
	if (cf->epic[0])
		sb_printf(&b, ",%s", cf->epic);
	if (cf->sprint[0])
		sb_printf(&b, ",%s", cf->sprint);
	return sb_detach(&b);
}

/* Whether s holds w as a word of its own, in any case. */
static int word_in(const char *s, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = s; *p; p++)
		if (!strncasecmp(p, w, n) && (p == s || !isalnum((unsigned char)p[-1])) &&
		    !isalnum((unsigned char)p[n]) && p[n] != '_')
			return 1;
	return 0;
}

int cs_jira_sync(cs_ctx *ctx, const cs_jira_sync_opts *o, cs_jira_sync_stats *st)
{
	jira *j = NULL;
	char *project = NULL, *fields = NULL;
	jirasync_fields cf;
	sbuf jql = {0};
	jirasync_arg a = {0};
	double high = NAN;
	long long have = 0;
	int rc;

	memset(st, 0, sizeof *st);
	if ((rc = jirasync_project(ctx, &project)) || (rc = handle_lock_clone(ctx)) ||
	    (rc = jira_open(ctx, &j, o->page_size)) || (rc = jirasync_find_fields(ctx, j, &cf)))
		goto done;
	if (!(fields = search_fields(&cf))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	sb_printf(&jql, "project = %s", project);
	if (o->jql && *o->jql) {
		/* AND binds tighter than OR in JQL: only an OR needs the
		 * parentheses (a word "or" anywhere gets them, harmlessly). */
		int or = word_in(o->jql, "or");
		if (word_in(o->jql, "order")) {
			rc = ctx_err(ctx, CS_EINVAL, "--jql: no ORDER BY (the sync orders by updated)");
			goto done;
		}
		sb_printf(&jql, or ? " AND (%s)" : " AND %s", o->jql);
	} else if (!o->full) {
		sqlite3_stmt *q = NULL;
		if (!(rc = db_prepare(ctx, &q, "SELECT high_water FROM jira_sync WHERE project = :p"
					       " AND high_water IS NOT NULL")) &&
		    !(rc = db_bind_text(ctx, q, ":p", project)) && (rc = db_step(ctx, q)) == SQLITE_ROW) {
			high = sqlite3_column_double(q, 0);
			have = 1;
		}
		sqlite3_finalize(q);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			goto done;
		rc = CS_OK;
		if (have) {
			/* JQL reads the date in the token user's time zone, which
			 * no answer here names: written in UTC, it is up to 12 h late
			 * for a user west of UTC (UTC-12), and early for one east of
			 * it.  So the date is 12 h and a minute (JQL has minutes)
			 * before the mark: right in every zone, and what comes again
			 * as it was is deduped (sync_issue). */
			time_t t = (time_t)floor(high) - (JIRA_TZ_WEST + 60);
			struct tm tm;
			char when[32];
			gmtime_r(&t, &tm);
			strftime(when, sizeof when, "%Y/%m/%d %H:%M", &tm);
			sb_printf(&jql, " AND updated >= \"%s\"", when);
		}
	}
	sb_puts(&jql, " ORDER BY updated ASC");
	if (jql.oom) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	a.cf = &cf;
	a.project = project;
	a.base = jira_base(j);
	a.st = st;
	a.high = high;
	a.now = util_now();
	rc = jira_search(ctx, j, jql.p, fields, jirasync_issue, &a, &st->pages);
	/* The mark moves only after a whole project's search went through. */
	if (!rc && !(o->jql && *o->jql))
		rc = DB_RUN(ctx, "INSERT INTO jira_sync(project, high_water, synced_at, issues)"
				 " VALUES(:p, :h, :t, (SELECT count(*) FROM jira_issues WHERE project = :p))"
				 " ON CONFLICT(project) DO UPDATE SET high_water ="
				 " coalesce(max(excluded.high_water, coalesce(high_water, excluded.high_water)),"
				 " high_water), synced_at = excluded.synced_at, issues = excluded.issues",
			    DB_TEXT(":p", project), isnan(a.high) ? DB_TEXT(":h", NULL) : DB_REAL(":h", a.high),
			    DB_REAL(":t", a.now));
	if (rc > 0)
		rc = CS_OK;
done:
	jira_free(j);
	free(project);
	free(fields);
	sb_free(&jql);
	return rc;
}

/* ---- jira index ----------------------------------------------------------------- */

#define INDEX_PATH "docs/JIRA_CURATED_TICKETS.md"

/* s as one Markdown table cell: '|' escaped, control characters blanked. */
static void md_cell(sbuf *b, const char *s)
{
	if (!s || !*s) {
		sb_puts(b, " ");
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '|' || c == '\\')
			sb_putc(b, '\\');
		sb_putc(b, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
}

typedef struct index_arg {
	const char *project;
	int tickets;
} index_arg;

static int index_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	index_arg *a = p;
	sqlite3_stmt *st = NULL;
	char *keys = NULL;
	size_t klen = 0;
	sbuf md = {0};
	int rc;

	a->tickets = 0;
	if ((rc = decide_base_read(ctx, JIRASYNC_KEYS, &keys, &klen)))
		return rc;
	if (keys) {
		cJSON *doc = cJSON_ParseWithLength(keys, klen);
		int ok = cJSON_IsObject(doc) || cJSON_IsArray(doc);
		cJSON_Delete(doc);
		if (!ok) {
			free(keys);
			return ctx_err(ctx, CS_ERROR, JIRASYNC_KEYS ": expected a JSON object of keys");
		}
	}
	if ((rc = db_prepare(ctx, &st, "SELECT key, link, type, status, assignee, reporter, labels,"
				       " parent, summary FROM jira_index WHERE project = :p AND"
				       " (:keys IS NULL OR key IN (SELECT value FROM json_each(:keys)))")) ||
	    (rc = db_bind_text(ctx, st, ":p", a->project)) ||
	    (rc = db_bind_text(ctx, st, ":keys", keys)))
		goto done;
	sb_printf(&md, "# Jira curated tickets (%s)\n\n", a->project);
	sb_printf(&md, "Written by `coordsync jira index` from the issues `coordsync jira sync` took"
		       " into the mirror%s. Do not edit: the next run replaces it.\n\n",
		  keys ? " (the keys of " JIRASYNC_KEYS ")" : "");
	sb_puts(&md, "| Key | Type | Status | Assignee | Reporter | Labels | Parent | Summary |\n");
	sb_puts(&md, "|---|---|---|---|---|---|---|---|\n");
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		const char *c[9];
		for (int i = 0; i < 9; i++)
			c[i] = (const char *)sqlite3_column_text(st, i);
		sb_puts(&md, "| [");
		md_cell(&md, c[0]);
		sb_puts(&md, "](");
		md_cell(&md, c[1]);
		sb_puts(&md, ")");
		for (int i = 2; i < 9; i++) {
			sb_puts(&md, " | ");
			if (i == 7 && c[i] && *c[i]) {
				sb_putc(&md, '`');
				md_cell(&md, c[i]);
				sb_putc(&md, '`');
			} else {
				md_cell(&md, c[i]);
			}
		}
		sb_puts(&md, " |\n");
		a->tickets++;
	}
	if (rc != SQLITE_DONE)
		goto done;
	if (md.oom) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	rc = decide_edit_put(ctx, INDEX_PATH, md.p, md.n);
	sb_printf(msg, "%s: Update " INDEX_PATH " (%d tickets)", ctx->server, a->tickets);
done:
	sqlite3_finalize(st);
	free(keys);
	sb_free(&md);
	return rc;
}

int cs_jira_index(cs_ctx *ctx, int *tickets, char commit[41])
{
	index_arg a = {0};
	char *project = NULL;
	int rc;

	*tickets = 0;
	commit[0] = 0;
	if ((rc = jirasync_project(ctx, &project)))
		return rc;
	a.project = project;
	if (!(rc = decide_run(ctx, index_fn, &a))) {
		*tickets = a.tickets;
		snprintf(commit, 41, "%.40s", ctx->pushed);
	}
	free(project);
	return rc;
}

/* ---- the key map ------------------------------------------------------------------ */

/* The key map docs/curated_ticket_keys.json ({"ticket id": "KEY"}) at the
 * remote's head, read by a decision that writes nothing (so no commit);
 * *out is NULL when the remote has none.  cJSON_Delete frees it. */
static int keymap_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	cJSON **out = p;
	char *text = NULL;
	size_t len = 0;
	int rc;
	(void)msg;
	if ((rc = decide_base_read(ctx, JIRASYNC_KEYS, &text, &len)) || !text)
		return rc;
	if (!(*out = cJSON_ParseWithLength(text, len)) || !cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		rc = ctx_err(ctx, CS_ERROR, JIRASYNC_KEYS ": expected a JSON object {\"ticket id\": \"KEY\"}");
	}
	free(text);
	return rc;
}

int jirasync_keymap_read(cs_ctx *ctx, cJSON **out)
{
	*out = NULL;
	return decide_run(ctx, keymap_fn, out);
}

/* The keys to work on: keys[0, n) when given (each checked), else the values
 * of the key map, else (none) an error.  *out is a cJSON array of strings. */
int jirasync_work_keys(cs_ctx *ctx, const char *const *keys, int n, cJSON **out)
{
	cJSON *map = NULL, *arr = cJSON_CreateArray(), *x;
	int rc = CS_OK;

	*out = NULL;
	if (!arr)
		return ctx_err_oom(ctx);
	for (int i = 0; i < n && !rc; i++)
		if (!jirasync_valid_key(keys[i]))
			rc = ctx_err(ctx, CS_EINVAL, "invalid issue key '%s': expected PROJECT-NUMBER",
				    keys[i]);
		else if (!cJSON_AddItemToArray(arr, cJSON_CreateString(keys[i])))
			rc = ctx_err_oom(ctx);
	if (!rc && !n) {
		if (!(rc = jirasync_keymap_read(ctx, &map)) && !map)
			rc = ctx_err(ctx, CS_EINVAL, "no keys given and the remote has no " JIRASYNC_KEYS
				    " (run `coordsync jira create FILE` first)");
		cJSON_ArrayForEach(x, map)
			if (!rc && cJSON_IsString(x) && jirasync_valid_key(x->valuestring) &&
			    !cJSON_AddItemToArray(arr, cJSON_CreateString(x->valuestring)))
				rc = ctx_err_oom(ctx);
	}
	cJSON_Delete(map);
	if (rc)
		cJSON_Delete(arr);
	else
		*out = arr;
	return rc;
}


typedef struct keymap_arg {
	cJSON *map;          /* the key map wanted: {"id": "KEY"} */
} keymap_arg;

/* Write the key map, sorted by ticket id, as Python's json.dump(indent=2). */
static int keymap_put_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	keymap_arg *a = p;
	sbuf b = {0};
	int rc;
	json_put_value(&b, a->map, 0, 2);
	sb_putc(&b, '\n');
	rc = b.oom ? ctx_err_oom(ctx) : decide_edit_put(ctx, JIRASYNC_KEYS, b.p, b.n);
	sb_printf(msg, "%s: Update " JIRASYNC_KEYS " (%d tickets)", ctx->server,
		  cJSON_GetArraySize(a->map));
	sb_free(&b);
	return rc;
}

static int by_name(const void *x, const void *y)
{
	return strcmp((*(cJSON *const *)x)->string, (*(cJSON *const *)y)->string);
}

/* Sort an object's members by name (the key map's order). */
static int sort_members(cJSON *o)
{
	int n = cJSON_GetArraySize(o), i = 0;
	cJSON **v = n ? malloc((size_t)n * sizeof *v) : NULL, *x;
	if (n && !v)
		return -1;
	for (x = o->child; x; x = x->next)
		v[i++] = x;
	qsort(v, (size_t)n, sizeof *v, by_name);
	for (i = 0; i < n; i++) {
		v[i]->prev = i ? v[i - 1] : v[n - 1];
		v[i]->next = i + 1 < n ? v[i + 1] : NULL;
	}
	o->child = n ? v[0] : NULL;
	free(v);
	return 0;
}

int jirasync_keymap_write(cs_ctx *ctx, cJSON *map)
{
	keymap_arg a = {map};
	if (sort_members(map))
		return ctx_err_oom(ctx);
	return decide_run(ctx, keymap_put_fn, &a);
}
