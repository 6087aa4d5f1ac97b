/* The seed's Jira curation commands (coordsync/jira.h, docs/JIRA.md):
 * create, verify, curate, backlog and plan, each writing to Jira only what
 * differs from what is wanted.  The sync, the index and the key map are
 * jirasync.c's. */
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "coordsync/config.h"
#include "coordsync/jira.h"
#include "ctx.h"
#include "util.h"
#include "jira.h"
#include "jirasync.h"

/* ---- shared by the curation commands ---------------------------------------------- */

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
	if (!rc && !cJSON_IsObject(jirasync_member(*out, "fields"))) {
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
		if (jirasync_text_eq(jirasync_str(u, ids[i]), who))
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
	else if (!hit || !jirasync_str(hit, cloud ? "accountId" : "name"))
		rc = ctx_err(ctx, CS_ENOTFOUND, "jira: no user '%s'", who);
	else if (!(*out = cJSON_CreateObject()) ||
		 !cJSON_AddStringToObject(*out, cloud ? "accountId" : "name",
					  jirasync_str(hit, cloud ? "accountId" : "name")))
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
	*same = (jirasync_str(w, "accountId") && jirasync_text_eq(jirasync_str(u, "accountId"), jirasync_str(w, "accountId"))) ||
		(jirasync_str(w, "name") && jirasync_text_eq(jirasync_str(u, "name"), jirasync_str(w, "name")));
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
	const cJSON *t = cJSON_IsArray(doc) ? doc : jirasync_member(doc, "tickets"), *x;
	*out = NULL;
	if (!cJSON_IsArray(t))
		return ctx_err(ctx, CS_EINVAL, "%s: expected {\"tickets\": [...]}", file);
	cJSON_ArrayForEach(x, t) {
		const char *id = jirasync_str(x, "id");
		if (!id || !*id || !jirasync_str(x, "summary"))
			return ctx_err(ctx, CS_EINVAL, "%s: each ticket needs a string \"id\" and"
				      " \"summary\"", file);
		for (const cJSON *y = t->child; y != x; y = y->next)
			if (!strcmp(jirasync_str(y, "id"), id))
				return ctx_err(ctx, CS_EINVAL, "%s: ticket id '%s' twice", file, id);
	}
	*out = t;
	return CS_OK;
}


/* ---- jira create ------------------------------------------------------------------ */


/* One ticket: created when the map has no key for it, else its summary,
 * description and labels brought to the file's; then assigned when its
 * assignee differs.  Adds a new key to map. */
static int create_one(cs_ctx *ctx, jira *j, const char *project, const cJSON *t, cJSON *map,
		      cs_jira_create_stats *st)
{
	const char *id = jirasync_str(t, "id"), *assignee = jirasync_str(t, "assignee");
	const char *key = jirasync_str(map, id);
	const cJSON *labels = jirasync_member(t, "labels");
	cJSON *issue = NULL, *body = NULL, *fields = NULL, *who = NULL, *ans = NULL;
	int rc = CS_OK, wrote = 0;

	if (key && !jirasync_valid_key(key))
		return ctx_err(ctx, CS_ERROR, JIRASYNC_KEYS ": invalid key '%s' for '%s'", key, id);
	if (!(body = cJSON_CreateObject()) || !(fields = cJSON_AddObjectToObject(body, "fields"))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if (!key) {
		cJSON *pk = cJSON_AddObjectToObject(fields, "project");
		cJSON *ty = cJSON_AddObjectToObject(fields, "issuetype");
		const char *type = jirasync_str(t, "type");
		if (!pk || !ty || !cJSON_AddStringToObject(pk, "key", project) ||
		    !cJSON_AddStringToObject(ty, "name", type ? type : "Task") ||
		    !cJSON_AddStringToObject(fields, "summary", jirasync_str(t, "summary")) ||
		    (jirasync_str(t, "description") &&
		     !cJSON_AddStringToObject(fields, "description", jirasync_str(t, "description"))) ||
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
		if (!(key = jirasync_str(ans, "key")) || !jirasync_valid_key(key)) {
			rc = ctx_err(ctx, CS_ERROR, "jira: the created issue of '%s' came without a key", id);
			goto done;
		}
		if (!cJSON_AddStringToObject(map, id, key)) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
		key = jirasync_str(map, id);
		st->created++;
		wrote = 1;
		if (!assignee)
			goto done;
	}
	if ((rc = issue_get(ctx, j, key, "summary,description,labels,assignee", &issue)))
		goto done;
	if (!wrote) {
		const cJSON *f = jirasync_member(issue, "fields"), *l;
		if (!jirasync_text_eq(jirasync_str(f, "summary"), jirasync_str(t, "summary")) &&
		    !cJSON_AddStringToObject(fields, "summary", jirasync_str(t, "summary")))
			rc = ctx_err_oom(ctx);
		if (jirasync_str(t, "description") &&
		    !jirasync_text_eq(jirasync_str(f, "description"), jirasync_str(t, "description")) &&
		    !cJSON_AddStringToObject(fields, "description", jirasync_str(t, "description")))
			rc = ctx_err_oom(ctx);
		if (cJSON_IsArray(labels)) {
			/* The labels wanted, as a set: added ones only, never removed. */
			cJSON *upd = NULL, *arr = NULL;
			cJSON_ArrayForEach(l, labels) {
				const cJSON *h;
				int found = 0;
				if (!cJSON_IsString(l))
					continue;
				cJSON_ArrayForEach(h, jirasync_member(f, "labels"))
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
		if (fields->child || jirasync_member(body, "update")) {
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
		if ((rc = user_same(ctx, j, jirasync_member(jirasync_member(issue, "fields"), "assignee"), assignee,
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
	if ((rc = jirasync_project(ctx, &project)) || (rc = json_file(ctx, file, &doc)) ||
	    (rc = ticket_list(ctx, file, doc, &list)) || (rc = jirasync_keymap_read(ctx, &map)))
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
		char saved[sizeof ctx->err];
		memcpy(saved, ctx->err, sizeof saved);
		rc2 = jirasync_keymap_write(ctx, map);
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
		    (rc = jirasync_keymap_read(ctx, &map)))
			goto done;
		cJSON_ArrayForEach(t, list) {
			const char *key = jirasync_str(map, jirasync_str(t, "id"));
			cJSON *w;
			int in = !nkeys;
			for (int i = 0; i < nkeys; i++)
				in |= key && !strcmp(keys[i], key);
			if (!in)
				continue;
			if (!key) {
				cs_jira_check c = {jirasync_str(t, "id"), "key", "a key in " JIRASYNC_KEYS, "(none)", 0};
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
		if ((rc = jirasync_work_keys(ctx, keys, nkeys, &k)))
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
		const char *key = jirasync_str(t, "key");
		cJSON *issue = NULL;
		const cJSON *f;
		if ((rc = issue_get(ctx, j, key, "reporter,assignee,status", &issue)))
			goto done;
		f = jirasync_member(issue, "fields");
		for (int i = 0; i < 3 && !rc; i++) {
			const char *exp = jirasync_str(t, what[i]);
			const cJSON *v = jirasync_member(f, what[i]);
			const char *act = i == 2 ? jirasync_str(v, "name") : jirasync_str(v, "displayName");
			cs_jira_check c = {key, what[i], exp, act ? act : "(none)", 0};
			if (!exp)
				continue;
			if (i == 2)
				c.ok = jirasync_text_eq(act, exp);
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
	jirasync_fields cf;
	sbuf fields = {0};
	const cJSON *t;
	int rc;

	*seen = *changed = 0;
	lab = cs_config_get(ctx, "jira.labels");
	epic = cs_config_get(ctx, "jira.epic");
	if (epic && !jirasync_valid_key(epic)) {
		rc = ctx_err(ctx, CS_EINVAL, "invalid coordsync.jira.epic '%s': expected an issue key",
			     epic);
		goto done;
	}
	if (!(labels = label_list(lab))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if ((rc = jirasync_work_keys(ctx, keys, nkeys, &k)) || (rc = jira_open(ctx, &j, 0)) ||
	    (rc = jirasync_find_fields(ctx, j, &cf)))
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
		f = jirasync_member(issue, "fields");
		cJSON_ArrayForEach(l, labels) {
			const cJSON *h;
			int found = 0;
			cJSON *add;
			cJSON_ArrayForEach(h, jirasync_member(f, "labels"))
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
		type = jirasync_str(jirasync_member(f, "issuetype"), "name");
		if (!rc && epic && strcmp(key, epic) && !(type && !strcmp(type, "Epic")) &&
		    !cJSON_IsTrue(jirasync_member(jirasync_member(f, "issuetype"), "subtask"))) {
			const char *now = cf.epic[0] ? jirasync_str(f, cf.epic) : jirasync_str(jirasync_member(f, "parent"), "key");
			if (!jirasync_text_eq(now, epic)) {
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
		const char *state = cJSON_IsObject(x) ? jirasync_str(x, "state") : NULL;
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
	jirasync_fields cf;
	sbuf fields = {0};
	const char *status;
	int rc;

	*transitioned = *moved = 0;
	if (!jirasync_valid_key(key))
		return ctx_err(ctx, CS_EINVAL, "invalid issue key '%s': expected PROJECT-NUMBER", key);
	if ((rc = jira_open(ctx, &j, 0)) || (rc = jirasync_find_fields(ctx, j, &cf)))
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
	status = jirasync_str(jirasync_member(jirasync_member(issue, "fields"), "status"), "name");
	if (!jirasync_text_eq(status, "To Do")) {
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
		cJSON_ArrayForEach(x, jirasync_member(tr, "transitions"))
			if (jirasync_text_eq(jirasync_str(jirasync_member(x, "to"), "name"), "To Do") && jirasync_str(x, "id")) {
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
			if (!t || !cJSON_AddStringToObject(t, "id", jirasync_str(hit, "id"))) {
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
	if (cf.sprint[0] && !in_open_sprint(jirasync_member(jirasync_member(issue, "fields"), cf.sprint)))
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
		cJSON_ArrayForEach(x, jirasync_member(doc, "values")) {
			n++;
			if (jirasync_text_eq(jirasync_str(x, "name"), name) && cJSON_IsNumber(jirasync_member(x, "id")))
				*id = (long long)jirasync_member(x, "id")->valuedouble;
		}
		start += n;
		if (!n || cJSON_IsTrue(jirasync_member(doc, "isLast")) || !jirasync_member(doc, "isLast")) {
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
		if ((cJSON_IsObject(x) && cJSON_IsNumber(jirasync_member(x, "id")) &&
		     (long long)jirasync_member(x, "id")->valuedouble == id) ||
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
	jirasync_fields cf;
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
	if ((rc = jirasync_project(ctx, &project)) || (rc = jirasync_work_keys(ctx, keys, nkeys, &k)) ||
	    (rc = jira_open(ctx, &j, 0)) || (rc = jirasync_find_fields(ctx, j, &cf)))
		goto done;
	sb_printf(&path, "/rest/agile/1.0/board/%s", bid);
	if (path.oom || (rc = jira_call_json(ctx, j, "GET", path.p, NULL, JIRA_RETRY, &board))) {
		rc = rc ? rc : ctx_err_oom(ctx);
		goto done;
	}
	r->scrum = jirasync_text_eq(jirasync_str(board, "type"), "scrum");
	if (!r->scrum && !jirasync_text_eq(jirasync_str(board, "type"), "kanban")) {
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
			if (!cJSON_IsNumber(jirasync_member(ans, "id"))) {
				rc = ctx_err(ctx, CS_ERROR, "jira: the new sprint came without an id");
				goto done;
			}
			sid = (long long)jirasync_member(ans, "id")->valuedouble;
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
			if (!has_sprint(jirasync_member(jirasync_member(issue, "fields"), cf.sprint), sid) &&
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
			found |= jirasync_text_eq(jirasync_str(x, "name"), name);
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
			cJSON_ArrayForEach(fv, jirasync_member(jirasync_member(issue, "fields"), "fixVersions"))
				has |= jirasync_text_eq(jirasync_str(fv, "name"), name);
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
