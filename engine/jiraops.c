/* The seed's Jira workflow (coordsync/jira.h, docs/JIRA.md): the project's
 * issues into the mirror (jira_issues, jira_history), the ticket index and
 * the curated key map committed as decisions, and the curation commands,
 * each writing to Jira only what differs from what is wanted. */
#include <stdlib.h>
#include <string.h>
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
		sb_printf(&jql, " AND (%s)", o->jql);
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
