/* Intents: status, heartbeat and messages as the records they change.  A
 * command applies its own at once (msgs.c), the outbox's flush applies the
 * deferred ones (outbox.c); either way the same code writes the file, and
 * applying one twice changes nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctx.h"
#include "util.h"
#include "json.h"
#include "json_int.h"
#include "db.h"
#include "values.h"
#include "export.h"
#include "identity.h"
#include "intent.h"

/* ---- applying an intent ---------------------------------------------------- */
/* Status, heartbeat and messages are intents: with defer they wait in the
 * outbox, and each apply is idempotent, so replaying one after a crash
 * changes nothing twice. */

/* cur as a whole object without the members named in unset and with those
 * of set (replaced in place, others appended), written again in the seed's
 * layout, as the seed's update_status writes the file. */
static int server_file_whole(cs_ctx *ctx, const char *cur, const cJSON *set, const cJSON *unset,
			     char **text)
{
	cJSON *o = values_exact_parse(cur);
	const cJSON *it;
	int rc = CS_OK;

	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return ctx_err(ctx, CS_ERROR, "cannot remove a member of %s's file: it is not one"
			      " JSON object with each member once", ctx->server);
	}
	cJSON_ArrayForEach(it, unset)
		cJSON_DeleteItemFromObjectCaseSensitive(o, cJSON_GetStringValue(it));
	cJSON_ArrayForEach(it, set) {
		cJSON *v = cJSON_Duplicate(it, 1);
		if (!v || !(cJSON_GetObjectItemCaseSensitive(o, it->string)
			    ? cJSON_ReplaceItemInObjectCaseSensitive(o, it->string, v)
			    : cJSON_AddItemToObject(o, it->string, v))) {
			cJSON_Delete(v);
			rc = ctx_err_oom(ctx);
			break;
		}
	}
	if (!rc && !(*text = values_render(o, 0)))
		rc = ctx_err_oom(ctx);
	cJSON_Delete(o);
	return rc;
}

/* The text of a server file: cur (NULL: none yet) with the members of set.
 * Members it has are replaced in place, others appended (export_patch).
 * replace: set is the whole file; unset (an array of names, or NULL):
 * members to remove, when cur has one the whole file is written again
 * (server_file_whole). */
static int server_file_text(cs_ctx *ctx, const char *cur, const cJSON *set, const cJSON *unset,
			    int replace, char **text)
{
	const char *keys[CTX_MAX_KV + 2];
	char *vals[CTX_MAX_KV + 2];
	int n = 0, rc = CS_OK;
	const cJSON *it;

	*text = NULL;
	if (!cur || replace)
		return (*text = values_render(set, 0)) ? CS_OK : ctx_err_oom(ctx);
	if (cJSON_GetArraySize(unset)) {
		cJSON *o = values_exact_parse(cur);
		int has = !o;   /* not parsed: server_file_whole says why */
		cJSON_ArrayForEach(it, unset)
			has |= cJSON_GetObjectItemCaseSensitive(o, cJSON_GetStringValue(it)) != NULL;
		cJSON_Delete(o);
		if (has)
			return server_file_whole(ctx, cur, set, unset, text);
	}
	cJSON_ArrayForEach(it, set) {
		sbuf b = {0};
		if (n == CTX_MAX_KV + 2) {
			rc = ctx_err(ctx, CS_ERROR, "an intent sets more than %d members", CTX_MAX_KV + 1);
			break;
		}
		json_put_value(&b, it, 2, 2);
		keys[n] = it->string;
		if (!(vals[n++] = sb_detach(&b))) {
			n--;
			rc = ctx_err_oom(ctx);
			break;
		}
	}
	if (!rc)
		rc = export_patch(ctx, cur, keys, vals, n, text);
	for (int i = 0; i < n; i++)
		free(vals[i]);
	return rc;
}

/* Set members of this server's status.json or heartbeat.json, written at
 * time at; remove those named in unset, or with replace write set as the
 * whole file (server_file_text).  A deferred one (not direct) never replaces a newer one: when
 * the file already holds a later timestamp (a direct update made after
 * the intent was recorded), it is left as it is and the intent is spent.
 * The same second is not older: replaying the intent changes nothing. */
static int apply_server_file(cs_ctx *ctx, int heartbeat, cJSON *set, const cJSON *unset,
			     int replace, double at, int direct)
{
	const char *col = heartbeat ? "heartbeat_json" : "status_json";
	char sql[256], *cur = NULL, *text = NULL;
	int rc;

	if (!direct) {
		rc = DB_RUN(ctx, heartbeat ? "SELECT 1 FROM servers WHERE id=:s AND heartbeat_at > :t"
					   : "SELECT 1 FROM servers WHERE id=:s AND status_at > :t",
				DB_TEXT(":s", ctx->server), DB_REAL(":t", at));
		if (rc)
			return rc < 0 ? rc : CS_OK;   /* 1: the file is newer */
	}
	cJSON_DeleteItemFromObjectCaseSensitive(set, "timestamp");   /* coordsync's own */
	values_add_time(set, "timestamp", at);
	/* checksrc: allow sql-format: col is one of two fixed names */
	snprintf(sql, sizeof sql, "SELECT %s FROM servers WHERE id=:a", col);
	if ((rc = db_text(ctx, &cur, sql, ctx->server)))
		return rc;
	rc = server_file_text(ctx, cur, set, unset, replace, &text);
	/* The export checks it again; here an intent that breaks it fails alone. */
	if (!rc)
		rc = export_check_record(ctx, heartbeat ? "heartbeat.json" : "status.json", ctx->server,
					text);
	free(cur);
	if (rc) {
		free(text);
		return rc;
	}
	if (heartbeat) {
		rc = DB_RUN(ctx, "INSERT INTO servers(id, heartbeat_at, heartbeat_json, heartbeat_dirty)"
				 " VALUES(:s, :t, :j, 1) ON CONFLICT(id) DO UPDATE SET"
				 " heartbeat_at=:t, heartbeat_json=:j, heartbeat_dirty=1",
				DB_TEXT(":s", ctx->server), DB_REAL(":t", at), DB_TEXT(":j", text));
		if (rc >= 0)
			rc = identity_note_instances(ctx);   /* this clone's own id, as written */
	} else
		rc = DB_RUN(ctx, "INSERT INTO servers(id, status, status_at, status_json, status_dirty)"
				 " VALUES(:s, json_extract(:j, '$.status'), :t, :j, 1)"
				 " ON CONFLICT(id) DO UPDATE SET status=json_extract(:j, '$.status'),"
				 " status_at=:t, status_json=:j, status_dirty=1",
				DB_TEXT(":s", ctx->server), DB_REAL(":t", at), DB_TEXT(":j", text));
	free(text);
	return rc < 0 ? rc : CS_OK;
}

/* The typed fields of a message (`msg send --set`): sj, the intent's
 * "set_json" (NULL: none), holds each value's JSON text; each becomes a
 * member of o after coordsync's own.  A name o has already, read_by, a
 * name that is not UTF-8 or a text that is not one JSON value is a
 * malformed intent (cs_msg_send_set refuses them before). */
static int msg_typed_fields(cs_ctx *ctx, cJSON *o, const cJSON *sj)
{
	if (!sj)
		return CS_OK;
	if (!cJSON_IsObject(sj) || cJSON_GetArraySize(sj) > CTX_MAX_KV)
		return ctx_err(ctx, CS_ERROR, "malformed message intent: 'set_json' is not an object"
			      " of at most %d members", CTX_MAX_KV);
	for (const cJSON *it = sj->child; it; it = it->next) {
		const char *t = cJSON_GetStringValue(it);
		cJSON *v;
		if (!it->string || !values_utf8_ok(it->string) || !strcmp(it->string, "read_by") ||
		    cJSON_GetObjectItemCaseSensitive(o, it->string))
			return ctx_err(ctx, CS_ERROR, "malformed message intent: it cannot set '%s'",
				      it->string ? it->string : "");
		if (!t || !(v = values_exact_parse(t)))
			return ctx_err(ctx, CS_ERROR, "malformed message intent: the value of '%s' is"
				      " not one JSON value", it->string);
		if (!cJSON_AddItemToObject(o, it->string, v)) {
			cJSON_Delete(v);
			return ctx_err_oom(ctx);
		}
	}
	return CS_OK;
}

int intent_apply_msg(cs_ctx *ctx, const cJSON *in, double at)
{
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "id"));
	const char *to = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "to"));
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "type"));
	const char *subject = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "subject"));
	const char *body = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "body"));
	cJSON *o;
	char *text;
	long long have;
	int rc;

	if (!id || !to || !type || !subject)
		return ctx_err(ctx, CS_ERROR, "malformed message intent");
	if ((rc = db_int(ctx, &have, "SELECT count(*) FROM messages WHERE id=:a", id)) || have)
		return rc;       /* already delivered */
	if (!(o = cJSON_CreateObject()))
		return ctx_err_oom(ctx);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "from", ctx->server);
	cJSON_AddStringToObject(o, "to", to);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "subject", subject);
	if (body)
		cJSON_AddStringToObject(o, "body", body);
	else
		cJSON_AddNullToObject(o, "body");
	values_add_time(o, "timestamp", at);
	cJSON_AddFalseToObject(o, "read");
	if (cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "in_reply_to")))
		cJSON_AddStringToObject(o, "in_reply_to",
					cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "in_reply_to")));
	if ((rc = msg_typed_fields(ctx, o, cJSON_GetObjectItemCaseSensitive(in, "set_json")))) {
		cJSON_Delete(o);
		return rc;
	}
	text = values_render(o, 4);
	cJSON_Delete(o);
	if (!text)
		return ctx_err_oom(ctx);
	rc = export_add(ctx, "messages", NULL, text);
	free(text);
	return rc;
}

/* What in the older form's "set" object (parsed by cJSON, so not checked
 * as the command checks a value) the writer could not write back as it is:
 * a member name, at any depth, that is not valid UTF-8 (the writer turns
 * other bytes into U+FFFD, so two names could become one), or a number too
 * large for a double (5E888 parses as infinity, which JSON cannot hold).
 * NULL when there is none. */
static const char *set_unwritable(const cJSON *o)
{
	const char *why;
	if (cJSON_IsNumber(o) && !isfinite(o->valuedouble))
		return "a number is out of range";
	for (const cJSON *it = o ? o->child : NULL; it; it = it->next) {
		if (it->string && !values_utf8_ok(it->string))
			return "a member name is not valid UTF-8";
		if ((why = set_unwritable(it)))
			return why;
	}
	return NULL;
}

/* The members an intent sets (*set, detached from or made for p): its
 * "set_json" (each value's JSON text, as cs_status_set writes it) as raw
 * items, or the "set" object of an intent written before it.  An intent
 * that names a member twice, or whose text is not one JSON value, is an
 * error and is not applied. */
static int intent_set(cs_ctx *ctx, cJSON *p, cJSON **set)
{
	cJSON *sj = cJSON_GetObjectItemCaseSensitive(p, "set_json");
	const char *dup;
	int rc = CS_OK;

	*set = NULL;
	if (!sj) {
		*set = cJSON_DetachItemFromObjectCaseSensitive(p, "set");
		if (!*set && !(*set = cJSON_CreateObject()))
			return ctx_err_oom(ctx);
	} else if (!cJSON_IsObject(sj)) {
		return ctx_err(ctx, CS_ERROR, "malformed intent: 'set_json' is not an object");
	} else if (!(*set = cJSON_CreateObject())) {
		return ctx_err_oom(ctx);
	} else {
		for (const cJSON *it = sj->child; it && !rc; it = it->next) {
			const char *t = cJSON_GetStringValue(it);
			cJSON *v = t && it->string ? values_exact_parse(t) : NULL;
			if (!v) {
				rc = ctx_err(ctx, CS_ERROR, "malformed intent: the value of '%s' is not"
					    " one JSON value", it->string ? it->string : "");
				break;
			}
			if (!cJSON_AddItemToObject(*set, it->string, v)) {
				cJSON_Delete(v);
				rc = ctx_err_oom(ctx);
			}
		}
	}
	if (!rc && !cJSON_IsObject(*set))
		rc = ctx_err(ctx, CS_ERROR, "malformed intent: 'set' is not an object");
	if (!rc && cJSON_GetArraySize(*set) > CTX_MAX_KV + 1)   /* --set and the status */
		rc = ctx_err(ctx, CS_ERROR, "malformed intent: it sets more than %d members",
			    CTX_MAX_KV + 1);
	if (!rc && (dup = set_unwritable(*set)))
		rc = ctx_err(ctx, CS_ERROR, "malformed intent: %s", dup);
	if (!rc && (dup = values_twice(*set)))
		rc = ctx_err(ctx, CS_ERROR, "malformed intent: it sets '%s' twice", dup);
	if (rc) {
		cJSON_Delete(*set);
		*set = NULL;
	}
	return rc;
}

/* The members a status intent removes (*unset, detached from p, or NULL:
 * an intent written before "unset" removes none) and whether it replaces
 * the whole file (*replace).  A name that is not valid UTF-8, or one of
 * the members coordsync writes itself, is an error. */
static int intent_unset(cs_ctx *ctx, cJSON *p, cJSON **unset, int *replace)
{
	const cJSON *it;
	*replace = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "replace"));
	if (!(*unset = cJSON_DetachItemFromObjectCaseSensitive(p, "unset")))
		return CS_OK;
	if (!cJSON_IsArray(*unset) || cJSON_GetArraySize(*unset) > CTX_MAX_KV)
		goto bad;
	cJSON_ArrayForEach(it, *unset) {
		const char *k = cJSON_GetStringValue(it);
		if (!k || !values_utf8_ok(k) || !strcmp(k, "status") || !strcmp(k, "timestamp"))
			goto bad;
	}
	return CS_OK;
bad:
	cJSON_Delete(*unset);
	*unset = NULL;
	return ctx_err(ctx, CS_ERROR, "malformed intent: 'unset' is not a list of at most %d member"
		      " names other than status and timestamp", CTX_MAX_KV);
}

static int apply_intent_as(cs_ctx *ctx, const char *kind, cJSON *p, sbuf *msg);

/* Apply one intent: kind is "status", "heartbeat" or "msg"; p its payload.
 * A payload marked "direct" (msgs.c) is applied now; any other comes
 * from the outbox.  A deferred intent is applied as the server that
 * recorded it (its "server", the command's --server), not as the clone's
 * server that happens to flush it; an intent written before it recorded
 * one is applied as ctx->server. */
int intent_apply(cs_ctx *ctx, const char *kind, cJSON *p, sbuf *msg)
{
	cJSON *who = cJSON_GetObjectItemCaseSensitive(p, "server");
	const char *id = cJSON_GetStringValue(who);
	char *own = ctx->server;
	int rc;

	if (!who || (own && id && !strcmp(id, own)))
		return apply_intent_as(ctx, kind, p, msg);
	if (!id || !cs_valid_id(id) || cs_reserved_id(id))
		return ctx_err(ctx, CS_ERROR, "malformed %s intent: invalid server id '%s'", kind,
			      id ? id : "");
	ctx->server = (char *)id;
	rc = apply_intent_as(ctx, kind, p, msg);
	ctx->server = own;
	return rc;
}

static int apply_intent_as(cs_ctx *ctx, const char *kind, cJSON *p, sbuf *msg)
{
	double at = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "at"));
	int direct = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "direct"));
	cJSON *set, *unset = NULL;
	int rc, replace = 0;
	if (!(at >= UTIL_TIME_MIN && at <= UTIL_TIME_MAX))
		return ctx_err(ctx, CS_ERROR, "malformed %s intent: no valid time 'at'", kind);
	if (!strcmp(kind, "msg")) {
		const char *to = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "to"));
		rc = intent_apply_msg(ctx, p, at);
		sb_printf(msg, "Message from %s to %s", ctx->server, to ? to : "?");
		return rc;
	}
	if (!strcmp(kind, "status") && (rc = intent_unset(ctx, p, &unset, &replace)))
		return rc;
	if ((rc = intent_set(ctx, p, &set))) {
		cJSON_Delete(unset);
		return rc;
	}
	rc = apply_server_file(ctx, !strcmp(kind, "heartbeat"), set, unset, replace, at, direct);
	cJSON_Delete(unset);
	if (!strcmp(kind, "heartbeat")) {
		sb_printf(msg, "%s heartbeat", ctx->server);
	} else {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(set, "status"));
		sb_printf(msg, "%s status: %s", ctx->server, name ? name : "?");
	}
	cJSON_Delete(set);
	return rc;
}

/* The "unset" list of a status intent (--unset KEY...) in p: none of the
 * members coordsync writes itself, none also set, none twice. */
static int status_unset(cs_ctx *ctx, cJSON *p, const cJSON *set, const cs_status_edit *e)
{
	cJSON *arr;
	if (!e || !e->nunset)
		return CS_OK;
	if (e->nunset > CTX_MAX_KV)
		return ctx_err(ctx, CS_EINVAL, "at most %d --unset", CTX_MAX_KV);
	if (e->replace)
		return ctx_err(ctx, CS_EINVAL, "--unset with --replace: --replace removes every"
			      " member it does not set");
	if (!(arr = cJSON_AddArrayToObject(p, "unset")))
		return ctx_err_oom(ctx);
	for (int i = 0; i < e->nunset; i++) {
		const char *k = e->unset[i];
		cJSON *s;
		if (!k || !*k || strlen(k) >= 128 || !values_utf8_ok(k))
			return ctx_err(ctx, CS_EINVAL, "--unset '%s': not a member name", k ? k : "");
		if (!strcmp(k, "status") || !strcmp(k, "timestamp"))
			return ctx_err(ctx, CS_EINVAL, "--unset '%s': coordsync writes it on every status", k);
		if (cJSON_GetObjectItemCaseSensitive(set, k))
			return ctx_err(ctx, CS_EINVAL, "--unset '%s' and --set '%s' at once", k, k);
		for (int j = 0; j < i; j++)
			if (!strcmp(e->unset[j], k))
				return ctx_err(ctx, CS_EINVAL, "--unset '%s' is given twice", k);
		if (!(s = cJSON_CreateString(k)) || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			return ctx_err_oom(ctx);
		}
	}
	return CS_OK;
}

/* The payload of a status intent: STATUS and the --set list, each value as
 * its JSON text in "set_json" (a string), so the outbox, which parses the
 * payload again, keeps numbers' digits; "unset" (the --unset names) and
 * "replace" (true) when given; and "at", now. */
int intent_status_payload(cs_ctx *ctx, const char *status, const char *const *kv, int n,
		      const cs_status_edit *e, cJSON **out)
{
	cJSON *p = NULL, *set = NULL, *sj = NULL;
	int rc;
	*out = NULL;
	if (!status || !*status)
		return ctx_err(ctx, CS_EINVAL, "missing status");
	if ((rc = values_kv_object(ctx, kv, n, &set)))
		return rc;
	if (cJSON_GetObjectItemCaseSensitive(set, "status"))
		rc = ctx_err(ctx, CS_EINVAL, "--set 'status' collides with the STATUS argument");
	else if (cJSON_GetObjectItemCaseSensitive(set, "timestamp"))
		rc = ctx_err(ctx, CS_EINVAL, "'timestamp' is set by coordsync");
	else if (!(p = cJSON_CreateObject()) || !(sj = cJSON_AddObjectToObject(p, "set_json")))
		rc = ctx_err_oom(ctx);
	else if (!(rc = status_unset(ctx, p, set, e)) && e && e->replace &&
		 !cJSON_AddTrueToObject(p, "replace"))
		rc = ctx_err_oom(ctx);
	if (!rc) {
		sbuf b = {0};
		json_put_string(&b, status);
		if (b.oom || !values_utf8_ok(status) || !cJSON_AddStringToObject(sj, "status", b.p))
			rc = b.oom ? ctx_err_oom(ctx) : ctx_err(ctx, CS_EINVAL, "status is not valid UTF-8");
		sb_free(&b);
	}
	if (!rc)
		rc = values_put_texts(ctx, sj, set);
	if (!rc && !cJSON_AddNumberToObject(p, "at", values_now()))
		rc = ctx_err_oom(ctx);
	cJSON_Delete(set);
	if (rc)
		cJSON_Delete(p);
	else
		*out = p;
	return rc;
}

int intent_status_text(cs_ctx *ctx, const char *status, const char *const *kv, int n, char **out)
{
	cJSON *p;
	int rc = intent_status_payload(ctx, status, kv, n, NULL, &p);
	*out = NULL;
	if (rc)
		return rc;
	{
		char *t = cJSON_PrintUnformatted(p);
		if (!t || !(*out = strdup(t)))
			rc = ctx_err_oom(ctx);
		cJSON_free(t);
	}
	cJSON_Delete(p);
	return rc;
}

int intent_text(cs_ctx *ctx, const char *payload, const char *cur, char **out)
{
	cJSON *p = cJSON_Parse(payload), *set = NULL, *unset = NULL;
	double at;
	int rc, replace = 0;
	*out = NULL;
	if (!cJSON_IsObject(p)) {
		cJSON_Delete(p);
		return ctx_err(ctx, CS_ERROR, "an intent is not a JSON object");
	}
	at = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "at"));
	if (!(at >= UTIL_TIME_MIN && at <= UTIL_TIME_MAX))
		rc = ctx_err(ctx, CS_ERROR, "malformed intent: no valid time 'at'");
	else if (!(rc = intent_unset(ctx, p, &unset, &replace)) && !(rc = intent_set(ctx, p, &set))) {
		/* as apply_server_file does */
		cJSON_DeleteItemFromObjectCaseSensitive(set, "timestamp");
		values_add_time(set, "timestamp", at);
		rc = server_file_text(ctx, cur, set, unset, replace, out);
	}
	cJSON_Delete(set);
	cJSON_Delete(unset);
	cJSON_Delete(p);
	return rc;
}
