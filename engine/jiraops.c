/* The seed's Jira workflow (coordsync/jira.h, docs/JIRA.md): the project's
 * issues into the mirror (jira_issues, jira_history), the ticket index and
 * the curated key map committed as decisions, and the curation commands,
 * each writing to Jira only what differs from what is wanted. */
#include <stdlib.h>
#include <ctype.h>
#include <errno.h>
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

/* ---- settings -------------------------------------------------------------------- */

/* coordsync.jira.project: a project key as Jira makes them (a letter, then
 * letters, digits or '_'), so that it goes into JQL as it is. */
static int project_key(cs_ctx *ctx, char **out)
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
static int valid_key(const char *k)
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

static const cJSON *member(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *v = member(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The ids of the custom fields named "Epic Link" and "Sprint" (GET
 * /rest/api/2/field); left empty where the site has none. */
typedef struct custom_fields {
	char epic[64], sprint[64];
} custom_fields;

static int find_fields(cs_ctx *ctx, jira *j, custom_fields *cf)
{
	cJSON *doc = NULL;
	const cJSON *f;
	int rc;

	cf->epic[0] = cf->sprint[0] = 0;
	if ((rc = jira_call_json(ctx, j, "GET", "/rest/api/2/field", NULL, JIRA_RETRY, &doc)))
		return rc;
	cJSON_ArrayForEach(f, doc) {
		const char *id = str_of(f, "id"), *name = str_of(f, "name");
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
	if (cJSON_IsObject(last) && str_of(last, "name"))
		return strdup(str_of(last, "name"));
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
			const char *s = cJSON_IsString(x) ? x->valuestring : str_of(x, "name");
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

typedef struct issue_row {
	char *key, *id, *raw;
	char *f[F_N];
} issue_row;

static void issue_row_free(issue_row *r)
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
	const char *uid = str_of(u, "accountId");
	*name = dup_or_null(str_of(u, "displayName"), oom);
	*id = dup_or_null(uid ? uid : str_of(u, "name"), oom);
}

static int issue_row_make(cs_ctx *ctx, const cJSON *issue, const custom_fields *cf, issue_row *r)
{
	const cJSON *f = member(issue, "fields"), *id = member(issue, "id");
	const char *key = str_of(issue, "key");
	int oom = 0;

	memset(r, 0, sizeof *r);
	if (!key || !valid_key(key) || !cJSON_IsObject(f))
		return ctx_err(ctx, CS_ERROR, "jira search: an issue without a valid key or fields");
	r->key = dup_or_null(key, &oom);
	if (cJSON_IsString(id))
		r->id = dup_or_null(id->valuestring, &oom);
	else if (cJSON_IsNumber(id) && (r->id = malloc(32)))
		snprintf(r->id, 32, "%.0f", id->valuedouble);
	r->raw = cJSON_PrintUnformatted(issue);
	r->f[F_SUMMARY] = dup_or_null(str_of(f, "summary"), &oom);
	r->f[F_TYPE] = dup_or_null(str_of(member(f, "issuetype"), "name"), &oom);
	r->f[F_STATUS] = dup_or_null(str_of(member(f, "status"), "name"), &oom);
	r->f[F_STATUSCAT] = dup_or_null(str_of(member(member(f, "status"), "statusCategory"), "key"),
					&oom);
	user_of(member(f, "assignee"), &r->f[F_ASSIGNEE], &r->f[F_ASSIGNEE_ID], &oom);
	user_of(member(f, "reporter"), &r->f[F_REPORTER], &r->f[F_REPORTER_ID], &oom);
	r->f[F_LABELS] = names_json(member(f, "labels"));
	r->f[F_PARENT] = dup_or_null(str_of(member(f, "parent"), "key"), &oom);
	if (cf->epic[0]) {
		const cJSON *e = member(f, cf->epic);
		r->f[F_EPIC] = dup_or_null(cJSON_IsString(e) ? e->valuestring : str_of(e, "key"), &oom);
	}
	if (cf->sprint[0])
		r->f[F_SPRINT] = sprint_name(member(f, cf->sprint));
	r->f[F_FIXVERSIONS] = names_json(member(f, "fixVersions"));
	r->f[F_CREATED] = dup_or_null(str_of(f, "created"), &oom);
	r->f[F_UPDATED] = dup_or_null(str_of(f, "updated"), &oom);
	if (oom || !r->key || !r->raw || !r->f[F_LABELS] || !r->f[F_FIXVERSIONS])
		return ctx_err_oom(ctx);
	return CS_OK;
}

static int text_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* ---- jira sync ------------------------------------------------------------------ */

typedef struct sync_arg {
	const custom_fields *cf;
	const char *project, *base;
	cs_jira_sync_stats *st;
	double high, now;
} sync_arg;

static double jira_time(const char *s)
{
	double t;
	return s && !util_time_parse(s, &t) ? t : NAN;
}

/* One issue, in its own transaction: compared with the mirror's copy, each
 * changed field a row of jira_history, then the row replaced. */
static int sync_issue(cs_ctx *ctx, const cJSON *issue, void *p)
{
	sync_arg *a = p;
	issue_row r;
	sqlite3_stmt *st = NULL;
	char *old[F_N] = {0}, *oldraw = NULL;
	sbuf browse = {0};
	int rc, have = 0;
	double upd;

	a->st->seen++;
	if ((rc = issue_row_make(ctx, issue, a->cf, &r)))
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
	upd = jira_time(r.f[F_UPDATED]);
	if (!isnan(upd) && (isnan(a->high) || upd > a->high))
		a->high = upd;
	/* Seen before as it is (the minute of overlap): nothing to write. */
	if (have && text_eq(oldraw, r.raw)) {
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
			if (i == F_UPDATED || text_eq(old[i], r.f[i]))
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
		double c = jira_time(r.f[F_CREATED]);
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
	issue_row_free(&r);
	return rc;
}

/* The fields a search asks for. */
static char *search_fields(const custom_fields *cf)
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
	custom_fields cf;
	sbuf jql = {0};
	sync_arg a = {0};
	double high = NAN;
	long long have = 0;
	int rc;

	memset(st, 0, sizeof *st);
	if ((rc = project_key(ctx, &project)) || (rc = handle_lock_clone(ctx)) ||
	    (rc = jira_open(ctx, &j, o->page_size)) || (rc = find_fields(ctx, j, &cf)))
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
			/* A minute early, to the minute JQL knows: what changed in
			 * the same minute as the mark comes again and is deduped. */
			time_t t = (time_t)floor(high) - 60;
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
	rc = jira_search(ctx, j, jql.p, fields, sync_issue, &a, &st->pages);
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
#define KEYS_PATH "docs/curated_ticket_keys.json"

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
	if ((rc = decide_base_read(ctx, KEYS_PATH, &keys, &klen)))
		return rc;
	if (keys) {
		cJSON *doc = cJSON_ParseWithLength(keys, klen);
		int ok = cJSON_IsObject(doc) || cJSON_IsArray(doc);
		cJSON_Delete(doc);
		if (!ok) {
			free(keys);
			return ctx_err(ctx, CS_ERROR, KEYS_PATH ": expected a JSON object of keys");
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
		  keys ? " (the keys of " KEYS_PATH ")" : "");
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
	if ((rc = project_key(ctx, &project)))
		return rc;
	a.project = project;
	if (!(rc = decide_run(ctx, index_fn, &a))) {
		*tickets = a.tickets;
		snprintf(commit, 41, "%.40s", ctx->pushed);
	}
	free(project);
	return rc;
}

/* ---- shared by the curation commands ---------------------------------------------- */

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
	if ((rc = decide_base_read(ctx, KEYS_PATH, &text, &len)) || !text)
		return rc;
	if (!(*out = cJSON_ParseWithLength(text, len)) || !cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		rc = ctx_err(ctx, CS_ERROR, KEYS_PATH ": expected a JSON object {\"ticket id\": \"KEY\"}");
	}
	free(text);
	return rc;
}

static int keymap_read(cs_ctx *ctx, cJSON **out)
{
	*out = NULL;
	return decide_run(ctx, keymap_fn, out);
}

/* The keys to work on: keys[0, n) when given (each checked), else the values
 * of the key map, else (none) an error.  *out is a cJSON array of strings. */
static int work_keys(cs_ctx *ctx, const char *const *keys, int n, cJSON **out)
{
	cJSON *map = NULL, *arr = cJSON_CreateArray(), *x;
	int rc = CS_OK;

	*out = NULL;
	if (!arr)
		return ctx_err_oom(ctx);
	for (int i = 0; i < n && !rc; i++)
		if (!valid_key(keys[i]))
			rc = ctx_err(ctx, CS_EINVAL, "invalid issue key '%s': expected PROJECT-NUMBER",
				    keys[i]);
		else if (!cJSON_AddItemToArray(arr, cJSON_CreateString(keys[i])))
			rc = ctx_err_oom(ctx);
	if (!rc && !n) {
		if (!(rc = keymap_read(ctx, &map)) && !map)
			rc = ctx_err(ctx, CS_EINVAL, "no keys given and the remote has no " KEYS_PATH
				    " (run `coordsync jira create FILE` first)");
		cJSON_ArrayForEach(x, map)
			if (!rc && cJSON_IsString(x) && valid_key(x->valuestring) &&
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

/* GET an issue with the fields asked for; *out freed with cJSON_Delete. */
static int issue_get(cs_ctx *ctx, jira *j, const char *key, const char *fields, cJSON **out)
{
	sbuf path = {0};
	int rc;
	sb_puts(&path, "/rest/api/2/issue/");
	jira_escape(&path, key);
	sb_puts(&path, "?fields=");
	jira_escape(&path, fields);
	rc = path.oom ? ctx_err_oom(ctx) : jira_call_json(ctx, j, "GET", path.p, NULL, JIRA_RETRY, out);
	sb_free(&path);
	if (!rc && !cJSON_IsObject(member(*out, "fields"))) {
		cJSON_Delete(*out);
		*out = NULL;
		rc = ctx_err(ctx, CS_ERROR, "jira: issue '%s' came without fields", key);
	}
	return rc;
}

/* PUT or POST body (a cJSON value, consumed) to /rest/api/2/issue/KEY + tail. */
static int issue_write(cs_ctx *ctx, jira *j, const char *method, const char *key,
		       const char *tail, cJSON *body)
{
	sbuf path = {0};
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	int rc;
	sb_puts(&path, "/rest/api/2/issue/");
	jira_escape(&path, key);
	sb_puts(&path, tail);
	rc = path.oom || (body && !text) ? ctx_err_oom(ctx)
					 : jira_call(ctx, j, method, path.p, text, JIRA_RETRY, NULL);
	sb_free(&path);
	free(text);
	cJSON_Delete(body);
	return rc;
}

/* Whether user object u (assignee, reporter; NULL: nobody) is who: its
 * accountId, name, emailAddress or displayName. */
static int user_is(const cJSON *u, const char *who)
{
	static const char *const ids[] = {"accountId", "name", "emailAddress", "displayName", NULL};
	if (!who || !*who)
		return !cJSON_IsObject(u);
	for (int i = 0; ids[i]; i++)
		if (text_eq(str_of(u, ids[i]), who))
			return 1;
	return 0;
}

/* The user who names (an accountId, a name, an email or a display name) as
 * the body of an assignment: {"accountId": ..} on Cloud, {"name": ..} on
 * Data Center.  *out freed with cJSON_Delete. */
static int user_find(cs_ctx *ctx, jira *j, const char *who, cJSON **out)
{
	sbuf path = {0};
	cJSON *doc = NULL;
	const cJSON *u, *hit = NULL;
	int rc, cloud = jira_cloud(j);

	*out = NULL;
	sb_puts(&path, cloud ? "/rest/api/2/user/search?query=" : "/rest/api/2/user/search?username=");
	jira_escape(&path, who);
	rc = path.oom ? ctx_err_oom(ctx) : jira_call_json(ctx, j, "GET", path.p, NULL, JIRA_RETRY, &doc);
	sb_free(&path);
	if (rc)
		return rc;
	cJSON_ArrayForEach(u, doc)
		if (user_is(u, who)) {
			hit = u;
			break;
		}
	/* Jira's search matches more than the exact fields (a Cloud user
	 * shows no name): a single answer is the one. */
	if (!hit && cJSON_GetArraySize(doc) == 1)
		hit = doc->child;
	if (!hit && cJSON_GetArraySize(doc) > 1)
		rc = ctx_err(ctx, CS_EINVAL, "jira: '%s' names %d users; give the accountId or the"
			    " email", who, cJSON_GetArraySize(doc));
	else if (!hit || !str_of(hit, cloud ? "accountId" : "name"))
		rc = ctx_err(ctx, CS_ENOTFOUND, "jira: no user '%s'", who);
	else if (!(*out = cJSON_CreateObject()) ||
		 !cJSON_AddStringToObject(*out, cloud ? "accountId" : "name",
					  str_of(hit, cloud ? "accountId" : "name")))
		rc = ctx_err_oom(ctx);
	cJSON_Delete(doc);
	return rc;
}

/* Whether user object u is who: by its fields, else by the id Jira's user
 * search gives for who (a Cloud user shows no name).  *id (when not NULL)
 * gets the assignment body of who when it was looked up. */
static int user_same(cs_ctx *ctx, jira *j, const cJSON *u, const char *who, int *same,
		     cJSON **id)
{
	cJSON *w = NULL;
	int rc;
	*same = user_is(u, who);
	if (id)
		*id = NULL;
	if (*same || !cJSON_IsObject(u))
		return CS_OK;
	if ((rc = user_find(ctx, j, who, &w)))
		return rc == CS_ENOTFOUND ? CS_OK : rc;   /* nobody: not u */
	*same = (str_of(w, "accountId") && text_eq(str_of(u, "accountId"), str_of(w, "accountId"))) ||
		(str_of(w, "name") && text_eq(str_of(u, "name"), str_of(w, "name")));
	if (id)
		*id = w;
	else
		cJSON_Delete(w);
	return CS_OK;
}

/* Read a JSON file of at most 16 MiB; *out freed with cJSON_Delete. */
static int json_file(cs_ctx *ctx, const char *file, cJSON **out)
{
	FILE *f = fopen(file, "rb");
	sbuf b = {0};
	char buf[65536];
	size_t n;

	*out = NULL;
	if (!f)
		return ctx_err(ctx, CS_EINVAL, "cannot read '%s': %s", file, strerror(errno));
	while ((n = fread(buf, 1, sizeof buf, f)) > 0 && b.n < (16u << 20))
		sb_put(&b, buf, n);
	fclose(f);
	if (b.oom) {
		sb_free(&b);
		return ctx_err_oom(ctx);
	}
	if (b.n >= (16u << 20)) {
		sb_free(&b);
		return ctx_err(ctx, CS_EINVAL, "'%s' is over 16 MiB", file);
	}
	*out = b.p ? cJSON_ParseWithLength(b.p, b.n) : NULL;
	sb_free(&b);
	if (!*out)
		return ctx_err(ctx, CS_EINVAL, "'%s' is not JSON", file);
	return CS_OK;
}

/* The tickets of a ticket file: {"tickets": [...]} or [...]; each an object
 * with a string "id" (the key map's key) and "summary". */
static int ticket_list(cs_ctx *ctx, const char *file, cJSON *doc, const cJSON **out)
{
	const cJSON *t = cJSON_IsArray(doc) ? doc : member(doc, "tickets"), *x;
	*out = NULL;
	if (!cJSON_IsArray(t))
		return ctx_err(ctx, CS_EINVAL, "%s: expected {\"tickets\": [...]}", file);
	cJSON_ArrayForEach(x, t) {
		const char *id = str_of(x, "id");
		if (!id || !*id || !str_of(x, "summary"))
			return ctx_err(ctx, CS_EINVAL, "%s: each ticket needs a string \"id\" and"
				      " \"summary\"", file);
		for (const cJSON *y = t->child; y != x; y = y->next)
			if (!strcmp(str_of(y, "id"), id))
				return ctx_err(ctx, CS_EINVAL, "%s: ticket id '%s' twice", file, id);
	}
	*out = t;
	return CS_OK;
}

/* ---- jira create ------------------------------------------------------------------ */

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
	rc = b.oom ? ctx_err_oom(ctx) : decide_edit_put(ctx, KEYS_PATH, b.p, b.n);
	sb_printf(msg, "%s: Update " KEYS_PATH " (%d tickets)", ctx->server,
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

/* One ticket: created when the map has no key for it, else its summary,
 * description and labels brought to the file's; then assigned when its
 * assignee differs.  Adds a new key to map. */
static int create_one(cs_ctx *ctx, jira *j, const char *project, const cJSON *t, cJSON *map,
		      cs_jira_create_stats *st)
{
	const char *id = str_of(t, "id"), *assignee = str_of(t, "assignee");
	const char *key = str_of(map, id);
	const cJSON *labels = member(t, "labels");
	cJSON *issue = NULL, *body = NULL, *fields = NULL, *who = NULL, *ans = NULL;
	int rc = CS_OK, wrote = 0;

	if (key && !valid_key(key))
		return ctx_err(ctx, CS_ERROR, KEYS_PATH ": invalid key '%s' for '%s'", key, id);
	if (!(body = cJSON_CreateObject()) || !(fields = cJSON_AddObjectToObject(body, "fields"))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if (!key) {
		cJSON *pk = cJSON_AddObjectToObject(fields, "project");
		cJSON *ty = cJSON_AddObjectToObject(fields, "issuetype");
		const char *type = str_of(t, "type");
		if (!pk || !ty || !cJSON_AddStringToObject(pk, "key", project) ||
		    !cJSON_AddStringToObject(ty, "name", type ? type : "Task") ||
		    !cJSON_AddStringToObject(fields, "summary", str_of(t, "summary")) ||
		    (str_of(t, "description") &&
		     !cJSON_AddStringToObject(fields, "description", str_of(t, "description"))) ||
		    (cJSON_IsArray(labels) &&
		     !cJSON_AddItemToObject(fields, "labels", cJSON_Duplicate(labels, 1)))) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
		{
			char *text = cJSON_PrintUnformatted(body);
			if (!text) {
				rc = ctx_err_oom(ctx);
				goto done;
			}
			rc = jira_call_json(ctx, j, "POST", "/rest/api/2/issue", text, JIRA_ONCE, &ans);
			free(text);
		}
		if (rc)
			goto done;
		if (!(key = str_of(ans, "key")) || !valid_key(key)) {
			rc = ctx_err(ctx, CS_ERROR, "jira: the created issue of '%s' came without a key", id);
			goto done;
		}
		if (!cJSON_AddStringToObject(map, id, key)) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
		key = str_of(map, id);
		st->created++;
		wrote = 1;
		if (!assignee)
			goto done;
	}
	if ((rc = issue_get(ctx, j, key, "summary,description,labels,assignee", &issue)))
		goto done;
	if (!wrote) {
		const cJSON *f = member(issue, "fields"), *l;
		if (!text_eq(str_of(f, "summary"), str_of(t, "summary")) &&
		    !cJSON_AddStringToObject(fields, "summary", str_of(t, "summary")))
			rc = ctx_err_oom(ctx);
		if (str_of(t, "description") &&
		    !text_eq(str_of(f, "description"), str_of(t, "description")) &&
		    !cJSON_AddStringToObject(fields, "description", str_of(t, "description")))
			rc = ctx_err_oom(ctx);
		if (cJSON_IsArray(labels)) {
			/* The labels wanted, as a set: added ones only, never removed. */
			cJSON *upd = NULL, *arr = NULL;
			cJSON_ArrayForEach(l, labels) {
				const cJSON *h;
				int found = 0;
				if (!cJSON_IsString(l))
					continue;
				cJSON_ArrayForEach(h, member(f, "labels"))
					found |= cJSON_IsString(h) && !strcmp(h->valuestring, l->valuestring);
				if (found)
					continue;
				if ((!upd && !(upd = cJSON_AddObjectToObject(body, "update"))) ||
				    (!arr && !(arr = cJSON_AddArrayToObject(upd, "labels")))) {
					rc = ctx_err_oom(ctx);
					break;
				}
				{
					cJSON *add = cJSON_CreateObject();
					if (!add || !cJSON_AddStringToObject(add, "add", l->valuestring) ||
					    !cJSON_AddItemToArray(arr, add)) {
						cJSON_Delete(add);
						rc = ctx_err_oom(ctx);
					}
				}
			}
		}
		if (rc)
			goto done;
		if (fields->child || member(body, "update")) {
			if (!fields->child)
				cJSON_DeleteItemFromObjectCaseSensitive(body, "fields");
			rc = issue_write(ctx, j, "PUT", key, "", body);
			body = NULL;
			if (rc)
				goto done;
			st->updated++;
			wrote = 1;
		}
	}
	if (assignee) {
		int same;
		if ((rc = user_same(ctx, j, member(member(issue, "fields"), "assignee"), assignee,
				    &same, &who)))
			goto done;
		if (!same) {
			if (!who && (rc = user_find(ctx, j, assignee, &who)))
				goto done;
			rc = issue_write(ctx, j, "PUT", key, "/assignee", who);
			who = NULL;
			if (rc)
				goto done;
			st->assigned++;
			wrote = 1;
		}
	}
	if (!wrote)
		st->unchanged++;
done:
	cJSON_Delete(issue);
	cJSON_Delete(body);
	cJSON_Delete(who);
	cJSON_Delete(ans);
	return rc;
}

int cs_jira_create(cs_ctx *ctx, const char *file, cs_jira_create_stats *st, char commit[41])
{
	jira *j = NULL;
	cJSON *doc = NULL, *map = NULL, *old = NULL;
	const cJSON *list, *t;
	char *project = NULL;
	int rc, rc2;

	memset(st, 0, sizeof *st);
	commit[0] = 0;
	if ((rc = project_key(ctx, &project)) || (rc = json_file(ctx, file, &doc)) ||
	    (rc = ticket_list(ctx, file, doc, &list)) || (rc = keymap_read(ctx, &map)))
		goto done;
	if (!map && !(map = cJSON_CreateObject())) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if (!(old = cJSON_Duplicate(map, 1))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if ((rc = jira_open(ctx, &j, 0)))
		goto done;
	cJSON_ArrayForEach(t, list)
		if ((rc = create_one(ctx, j, project, t, map, st)))
			break;
	/* The keys of what was created are pushed even when a later ticket
	 * failed: else the next run would create those again. */
	if (!cJSON_Compare(map, old, 1)) {
		keymap_arg a = {map};
		char saved[sizeof ctx->err];
		memcpy(saved, ctx->err, sizeof saved);
		if (sort_members(map))
			rc2 = ctx_err_oom(ctx);
		else
			rc2 = decide_run(ctx, keymap_put_fn, &a);
		if (!rc2)
			snprintf(commit, 41, "%.40s", ctx->pushed);
		if (rc)
			memcpy(ctx->err, saved, sizeof saved);
		else
			rc = rc2;
	}
done:
	jira_free(j);
	cJSON_Delete(doc);
	cJSON_Delete(map);
	cJSON_Delete(old);
	free(project);
	return rc;
}

/* ---- jira verify ------------------------------------------------------------------ */

int cs_jira_verify(cs_ctx *ctx, const char *const *keys, int nkeys, const cs_jira_expect *e,
		   cs_jira_check_fn fn, void *arg, int *mismatches)
{
	jira *j = NULL;
	cJSON *doc = NULL, *map = NULL, *want = NULL;
	const cJSON *list = NULL, *t;
	int rc;

	*mismatches = 0;
	if (!(want = cJSON_CreateArray()))
		return ctx_err_oom(ctx);
	/* What is expected of which key: the file's tickets (through the key
	 * map), narrowed to keys[]; or keys[] with e's expectations. */
	if (e->file) {
		if ((rc = json_file(ctx, e->file, &doc)) || (rc = ticket_list(ctx, e->file, doc, &list)) ||
		    (rc = keymap_read(ctx, &map)))
			goto done;
		cJSON_ArrayForEach(t, list) {
			const char *key = str_of(map, str_of(t, "id"));
			cJSON *w;
			int in = !nkeys;
			for (int i = 0; i < nkeys; i++)
				in |= key && !strcmp(keys[i], key);
			if (!in)
				continue;
			if (!key) {
				cs_jira_check c = {str_of(t, "id"), "key", "a key in " KEYS_PATH, "(none)", 0};
				(*mismatches)++;
				if ((rc = fn(&c, arg)))
					goto done;
				continue;
			}
			if (!(w = cJSON_Duplicate(t, 1)) || !cJSON_AddItemToArray(want, w) ||
			    !cJSON_AddStringToObject(w, "key", key)) {
				rc = ctx_err_oom(ctx);
				goto done;
			}
		}
	} else {
		cJSON *k = NULL;
		if ((rc = work_keys(ctx, keys, nkeys, &k)))
			goto done;
		cJSON_ArrayForEach(t, k) {
			cJSON *w = cJSON_CreateObject();
			if (!w || !cJSON_AddItemToArray(want, w) ||
			    !cJSON_AddStringToObject(w, "key", t->valuestring) ||
			    (e->reporter && !cJSON_AddStringToObject(w, "reporter", e->reporter)) ||
			    (e->assignee && !cJSON_AddStringToObject(w, "assignee", e->assignee)) ||
			    (e->status && !cJSON_AddStringToObject(w, "status", e->status))) {
				cJSON_Delete(k);
				rc = ctx_err_oom(ctx);
				goto done;
			}
		}
		cJSON_Delete(k);
	}
	if (!cJSON_GetArraySize(want))
		goto done;
	if ((rc = jira_open(ctx, &j, 0)))
		goto done;
	cJSON_ArrayForEach(t, want) {
		static const char *const what[] = {"reporter", "assignee", "status"};
		const char *key = str_of(t, "key");
		cJSON *issue = NULL;
		const cJSON *f;
		if ((rc = issue_get(ctx, j, key, "reporter,assignee,status", &issue)))
			goto done;
		f = member(issue, "fields");
		for (int i = 0; i < 3 && !rc; i++) {
			const char *exp = str_of(t, what[i]);
			const cJSON *v = member(f, what[i]);
			const char *act = i == 2 ? str_of(v, "name") : str_of(v, "displayName");
			cs_jira_check c = {key, what[i], exp, act ? act : "(none)", 0};
			if (!exp)
				continue;
			if (i == 2)
				c.ok = text_eq(act, exp);
			else if ((rc = user_same(ctx, j, v, exp, &c.ok, NULL)))
				break;
			if (!c.ok)
				(*mismatches)++;
			if (!rc)
				rc = fn(&c, arg);
		}
		cJSON_Delete(issue);
		if (rc)
			goto done;
	}
done:
	jira_free(j);
	cJSON_Delete(doc);
	cJSON_Delete(map);
	cJSON_Delete(want);
	return rc;
}

/* ---- jira curate ------------------------------------------------------------------ */

/* The labels of a comma-separated list, trimmed, as a cJSON array. */
static cJSON *label_list(const char *s)
{
	cJSON *arr = cJSON_CreateArray();
	while (arr && s && *s) {
		size_t n = strcspn(s, ","), a = 0, b = n;
		while (a < b && s[a] == ' ')
			a++;
		while (b > a && s[b - 1] == ' ')
			b--;
		if (b > a) {
			char *l = strndup(s + a, b - a);
			if (!l || !cJSON_AddItemToArray(arr, cJSON_CreateString(l))) {
				free(l);
				cJSON_Delete(arr);
				return NULL;
			}
			free(l);
		}
		s += n + (s[n] == ',');
	}
	return arr;
}

int cs_jira_curate(cs_ctx *ctx, const char *const *keys, int nkeys, int *seen, int *changed)
{
	jira *j = NULL;
	cJSON *k = NULL, *labels = NULL;
	char *lab = NULL, *epic = NULL;
	custom_fields cf;
	sbuf fields = {0};
	const cJSON *t;
	int rc;

	*seen = *changed = 0;
	lab = cs_config_get(ctx, "jira.labels");
	epic = cs_config_get(ctx, "jira.epic");
	if (epic && !valid_key(epic)) {
		rc = ctx_err(ctx, CS_EINVAL, "invalid coordsync.jira.epic '%s': expected an issue key",
			     epic);
		goto done;
	}
	if (!(labels = label_list(lab))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if ((rc = work_keys(ctx, keys, nkeys, &k)) || (rc = jira_open(ctx, &j, 0)) ||
	    (rc = find_fields(ctx, j, &cf)))
		goto done;
	sb_puts(&fields, "labels,issuetype,parent");
	if (cf.epic[0])
		sb_printf(&fields, ",%s", cf.epic);
	if (fields.oom) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	cJSON_ArrayForEach(t, k) {
		const char *key = t->valuestring, *type;
		cJSON *issue = NULL, *body = cJSON_CreateObject(), *upd = NULL, *arr = NULL;
		const cJSON *f, *l;
		if (!body) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
		if ((rc = issue_get(ctx, j, key, fields.p, &issue))) {
			cJSON_Delete(body);
			goto done;
		}
		(*seen)++;
		f = member(issue, "fields");
		cJSON_ArrayForEach(l, labels) {
			const cJSON *h;
			int found = 0;
			cJSON *add;
			cJSON_ArrayForEach(h, member(f, "labels"))
				found |= cJSON_IsString(h) && !strcmp(h->valuestring, l->valuestring);
			if (found)
				continue;
			if ((!upd && !(upd = cJSON_AddObjectToObject(body, "update"))) ||
			    (!arr && !(arr = cJSON_AddArrayToObject(upd, "labels"))) ||
			    !(add = cJSON_CreateObject()) || !cJSON_AddItemToArray(arr, add) ||
			    !cJSON_AddStringToObject(add, "add", l->valuestring))
				rc = ctx_err_oom(ctx);
		}
		/* Non-epics (and not sub-tasks, whose parent is their story) go
		 * under the main epic: its Epic Link, or the parent field where
		 * the site has no Epic Link. */
		type = str_of(member(f, "issuetype"), "name");
		if (!rc && epic && strcmp(key, epic) && !(type && !strcmp(type, "Epic")) &&
		    !cJSON_IsTrue(member(member(f, "issuetype"), "subtask"))) {
			const char *now = cf.epic[0] ? str_of(f, cf.epic) : str_of(member(f, "parent"), "key");
			if (!text_eq(now, epic)) {
				cJSON *fl = cJSON_AddObjectToObject(body, "fields"), *pk;
				if (!fl || (cf.epic[0] ? !cJSON_AddStringToObject(fl, cf.epic, epic)
						       : (!(pk = cJSON_AddObjectToObject(fl, "parent")) ||
							  !cJSON_AddStringToObject(pk, "key", epic))))
					rc = ctx_err_oom(ctx);
			}
		}
		cJSON_Delete(issue);
		if (!rc && body->child) {
			rc = issue_write(ctx, j, "PUT", key, "", body);
			body = NULL;
			(*changed)++;
		}
		cJSON_Delete(body);
		if (rc)
			goto done;
	}
done:
	jira_free(j);
	cJSON_Delete(k);
	cJSON_Delete(labels);
	sb_free(&fields);
	free(lab);
	free(epic);
	return rc;
}

/* ---- jira backlog ------------------------------------------------------------------ */

/* Whether the sprint value v holds a sprint still open (active or future). */
static int in_open_sprint(const cJSON *v)
{
	const cJSON *x;
	cJSON_ArrayForEach(x, v) {
		const char *state = cJSON_IsObject(x) ? str_of(x, "state") : NULL;
		if (cJSON_IsString(x)) {
			const char *p = strstr(x->valuestring, ",state=");
			if (p && (!strncasecmp(p + 7, "ACTIVE", 6) || !strncasecmp(p + 7, "FUTURE", 6)))
				return 1;
		} else if (state && (!strcasecmp(state, "active") || !strcasecmp(state, "future"))) {
			return 1;
		}
	}
	return 0;
}

int cs_jira_backlog(cs_ctx *ctx, const char *key, int *transitioned, int *moved)
{
	jira *j = NULL;
	cJSON *issue = NULL, *tr = NULL;
	custom_fields cf;
	sbuf fields = {0};
	const char *status;
	int rc;

	*transitioned = *moved = 0;
	if (!valid_key(key))
		return ctx_err(ctx, CS_EINVAL, "invalid issue key '%s': expected PROJECT-NUMBER", key);
	if ((rc = jira_open(ctx, &j, 0)) || (rc = find_fields(ctx, j, &cf)))
		goto done;
	sb_puts(&fields, "status");
	if (cf.sprint[0])
		sb_printf(&fields, ",%s", cf.sprint);
	if (fields.oom) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if ((rc = issue_get(ctx, j, key, fields.p, &issue)))
		goto done;
	status = str_of(member(member(issue, "fields"), "status"), "name");
	if (!text_eq(status, "To Do")) {
		sbuf path = {0};
		const cJSON *x, *hit = NULL;
		sb_puts(&path, "/rest/api/2/issue/");
		jira_escape(&path, key);
		sb_puts(&path, "/transitions");
		rc = path.oom ? ctx_err_oom(ctx)
			      : jira_call_json(ctx, j, "GET", path.p, NULL, JIRA_RETRY, &tr);
		sb_free(&path);
		if (rc)
			goto done;
		cJSON_ArrayForEach(x, member(tr, "transitions"))
			if (text_eq(str_of(member(x, "to"), "name"), "To Do") && str_of(x, "id")) {
				hit = x;
				break;
			}
		if (!hit) {
			rc = ctx_err(ctx, CS_EREFUSED, "jira: issue '%s' is '%s' and has no transition to"
				    " 'To Do'", key, status ? status : "?");
			goto done;
		}
		{
			cJSON *body = cJSON_CreateObject(), *t = cJSON_AddObjectToObject(body, "transition");
			if (!t || !cJSON_AddStringToObject(t, "id", str_of(hit, "id"))) {
				cJSON_Delete(body);
				rc = ctx_err_oom(ctx);
				goto done;
			}
			if ((rc = issue_write(ctx, j, "POST", key, "/transitions", body)))
				goto done;
		}
		*transitioned = 1;
	}
	/* In the backlog: in no open sprint.  Only then is there nothing to move. */
	if (cf.sprint[0] && !in_open_sprint(member(member(issue, "fields"), cf.sprint)))
		goto done;
	{
		cJSON *body = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(body, "issues");
		char *text;
		if (!arr || !cJSON_AddItemToArray(arr, cJSON_CreateString(key)) ||
		    !(text = cJSON_PrintUnformatted(body))) {
			cJSON_Delete(body);
			rc = ctx_err_oom(ctx);
			goto done;
		}
		cJSON_Delete(body);
		rc = jira_call(ctx, j, "POST", "/rest/agile/1.0/backlog/issue", text, JIRA_RETRY, NULL);
		free(text);
		if (!rc)
			*moved = 1;
	}
done:
	jira_free(j);
	cJSON_Delete(issue);
	cJSON_Delete(tr);
	sb_free(&fields);
	return rc;
}

/* ---- jira plan -------------------------------------------------------------------- */

/* The id of the board's open sprint called name, or 0. */
static int sprint_find(cs_ctx *ctx, jira *j, const char *board, const char *name, long long *id)
{
	long long start = 0;
	int rc = CS_OK;
	*id = 0;
	for (int page = 0; page < 1000 && !rc && !*id; page++) {
		sbuf path = {0};
		cJSON *doc = NULL;
		const cJSON *x;
		int n = 0;
		sb_puts(&path, "/rest/agile/1.0/board/");
		jira_escape(&path, board);
		sb_printf(&path, "/sprint?state=active,future&startAt=%lld", start);
		rc = path.oom ? ctx_err_oom(ctx) : jira_call_json(ctx, j, "GET", path.p, NULL, JIRA_RETRY, &doc);
		sb_free(&path);
		if (rc)
			break;
		cJSON_ArrayForEach(x, member(doc, "values")) {
			n++;
			if (text_eq(str_of(x, "name"), name) && cJSON_IsNumber(member(x, "id")))
				*id = (long long)member(x, "id")->valuedouble;
		}
		start += n;
		if (!n || cJSON_IsTrue(member(doc, "isLast")) || !member(doc, "isLast")) {
			cJSON_Delete(doc);
			break;
		}
		cJSON_Delete(doc);
	}
	return rc;
}

/* Whether the sprint value v holds the sprint id. */
static int has_sprint(const cJSON *v, long long id)
{
	const cJSON *x;
	char pat[40];
	snprintf(pat, sizeof pat, "[id=%lld,", id);
	cJSON_ArrayForEach(x, v)
		if ((cJSON_IsObject(x) && cJSON_IsNumber(member(x, "id")) &&
		     (long long)member(x, "id")->valuedouble == id) ||
		    (cJSON_IsString(x) && strstr(x->valuestring, pat)))
			return 1;
	return 0;
}

int cs_jira_plan(cs_ctx *ctx, const char *name, const char *const *keys, int nkeys,
		 cs_jira_plan_result *r)
{
	jira *j = NULL;
	cJSON *k = NULL, *board = NULL, *add = NULL, *ans = NULL;
	char *bid = NULL, *project = NULL;
	custom_fields cf;
	const cJSON *t;
	sbuf path = {0};
	int rc;

	memset(r, 0, sizeof *r);
	if (!*name || strlen(name) > 255)
		return ctx_err(ctx, CS_EINVAL, "invalid sprint or version name: 1 to 255 characters");
	if (!(bid = cs_config_get(ctx, "jira.board")) || !*bid || bid[strspn(bid, "0123456789")]) {
		rc = ctx_err(ctx, CS_EINVAL, "coordsync.jira.board is %s: expected the board's number",
			    bid ? "not a number" : "not set");
		goto done;
	}
	if ((rc = project_key(ctx, &project)) || (rc = work_keys(ctx, keys, nkeys, &k)) ||
	    (rc = jira_open(ctx, &j, 0)) || (rc = find_fields(ctx, j, &cf)))
		goto done;
	sb_printf(&path, "/rest/agile/1.0/board/%s", bid);
	if (path.oom || (rc = jira_call_json(ctx, j, "GET", path.p, NULL, JIRA_RETRY, &board))) {
		rc = rc ? rc : ctx_err_oom(ctx);
		goto done;
	}
	r->scrum = text_eq(str_of(board, "type"), "scrum");
	if (!r->scrum && !text_eq(str_of(board, "type"), "kanban")) {
		rc = ctx_err(ctx, CS_ERROR, "jira: board %s is neither scrum nor kanban", bid);
		goto done;
	}
	if (!(add = cJSON_CreateArray())) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if (r->scrum) {
		long long sid;
		if ((rc = sprint_find(ctx, j, bid, name, &sid)))
			goto done;
		if (!sid) {
			cJSON *body = cJSON_CreateObject();
			char *text = NULL;
			if (!body || !cJSON_AddStringToObject(body, "name", name) ||
			    !cJSON_AddNumberToObject(body, "originBoardId", strtod(bid, NULL)) ||
			    !(text = cJSON_PrintUnformatted(body))) {
				cJSON_Delete(body);
				rc = ctx_err_oom(ctx);
				goto done;
			}
			cJSON_Delete(body);
			rc = jira_call_json(ctx, j, "POST", "/rest/agile/1.0/sprint", text, JIRA_ONCE, &ans);
			free(text);
			if (rc)
				goto done;
			if (!cJSON_IsNumber(member(ans, "id"))) {
				rc = ctx_err(ctx, CS_ERROR, "jira: the new sprint came without an id");
				goto done;
			}
			sid = (long long)member(ans, "id")->valuedouble;
			r->created = 1;
		}
		cJSON_ArrayForEach(t, k) {
			cJSON *issue = NULL;
			if (!cf.sprint[0]) {
				rc = ctx_err(ctx, CS_ERROR, "jira: the site has no Sprint field");
				goto done;
			}
			if ((rc = issue_get(ctx, j, t->valuestring, cf.sprint, &issue)))
				goto done;
			if (!has_sprint(member(member(issue, "fields"), cf.sprint), sid) &&
			    !cJSON_AddItemToArray(add, cJSON_CreateString(t->valuestring)))
				rc = ctx_err_oom(ctx);
			cJSON_Delete(issue);
			if (rc)
				goto done;
		}
		if (cJSON_GetArraySize(add)) {
			cJSON *body = cJSON_CreateObject();
			char *text = NULL;
			if (!body || !cJSON_AddItemReferenceToObject(body, "issues", add) ||
			    !(text = cJSON_PrintUnformatted(body))) {
				cJSON_Delete(body);
				rc = ctx_err_oom(ctx);
				goto done;
			}
			cJSON_Delete(body);
			path.n = 0;
			sb_printf(&path, "/rest/agile/1.0/sprint/%lld/issue", sid);
			rc = path.oom ? ctx_err_oom(ctx)
				      : jira_call(ctx, j, "POST", path.p, text, JIRA_RETRY, NULL);
			free(text);
			if (rc)
				goto done;
			r->added = cJSON_GetArraySize(add);
		}
	} else {
		cJSON *vers = NULL;
		const cJSON *x;
		int found = 0;
		path.n = 0;
		sb_puts(&path, "/rest/api/2/project/");
		jira_escape(&path, project);
		sb_puts(&path, "/versions");
		if (path.oom || (rc = jira_call_json(ctx, j, "GET", path.p, NULL, JIRA_RETRY, &vers))) {
			rc = rc ? rc : ctx_err_oom(ctx);
			goto done;
		}
		cJSON_ArrayForEach(x, vers)
			found |= text_eq(str_of(x, "name"), name);
		cJSON_Delete(vers);
		if (!found) {
			cJSON *body = cJSON_CreateObject();
			char *text = NULL;
			if (!body || !cJSON_AddStringToObject(body, "name", name) ||
			    !cJSON_AddStringToObject(body, "project", project) ||
			    !(text = cJSON_PrintUnformatted(body))) {
				cJSON_Delete(body);
				rc = ctx_err_oom(ctx);
				goto done;
			}
			cJSON_Delete(body);
			rc = jira_call(ctx, j, "POST", "/rest/api/2/version", text, JIRA_ONCE, NULL);
			free(text);
			if (rc)
				goto done;
			r->created = 1;
		}
		cJSON_ArrayForEach(t, k) {
			cJSON *issue = NULL, *body = NULL, *upd, *arr, *op, *v;
			const cJSON *fv;
			int has = 0;
			if ((rc = issue_get(ctx, j, t->valuestring, "fixVersions", &issue)))
				goto done;
			cJSON_ArrayForEach(fv, member(member(issue, "fields"), "fixVersions"))
				has |= text_eq(str_of(fv, "name"), name);
			cJSON_Delete(issue);
			if (has)
				continue;
			if (!(body = cJSON_CreateObject()) || !(upd = cJSON_AddObjectToObject(body, "update")) ||
			    !(arr = cJSON_AddArrayToObject(upd, "fixVersions")) ||
			    !(op = cJSON_CreateObject()) || !cJSON_AddItemToArray(arr, op) ||
			    !(v = cJSON_AddObjectToObject(op, "add")) ||
			    !cJSON_AddStringToObject(v, "name", name)) {
				cJSON_Delete(body);
				rc = ctx_err_oom(ctx);
				goto done;
			}
			if ((rc = issue_write(ctx, j, "PUT", t->valuestring, "", body)))
				goto done;
			r->added++;
		}
	}
done:
	jira_free(j);
	cJSON_Delete(k);
	cJSON_Delete(board);
	cJSON_Delete(add);
	cJSON_Delete(ans);
	sb_free(&path);
	free(bid);
	free(project);
	return rc;
}
