/* Status, heartbeat and messages: the commands, delivered now in one
 * decision or deferred to the outbox (outbox.h, which applies both). */
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "util.h"
#include "json_int.h"
#include "db.h"
#include "kinds.h"
#include "values.h"
#include "identity.h"
#include "decide.h"
#include "intent.h"
#include "outbox.h"
#include "msgs.h"
#include "lockstate.h"

/* These are also intents: with defer they wait in the outbox, and each apply
 * is idempotent, so replaying one after a crash changes nothing twice. */

typedef struct intent_arg {
	const char *kind;
	cJSON *payload;
	int applied;
	int check_to;         /* a message: its recipient must be a known server */
	int held;             /* a message: refused for the seed's message_queue */
} intent_arg;

/* 1 when id is a server the remote knows: this one, one with a status.json
 * or heartbeat.json (a servers row), or a top-level directory of the tree
 * decided on (ctx->base), else of the last fetched remote head.  0 when
 * not; a negative code on error. */
static int known_server(cs_ctx *ctx, const char *id)
{
	git_tree *own = NULL;
	git_commit *c = NULL;
	git_oid head;
	const git_tree_entry *e;
	char ref[256];
	long long n = 0;
	int rc, yes = 0;

	if (ctx->server && !strcmp(id, ctx->server))
		return 1;
	if ((rc = db_int(ctx, &n, "SELECT count(*) FROM servers WHERE id=:a", id)))
		return rc;
	if (n)
		return 1;
	snprintf(ref, sizeof ref, "refs/remotes/origin/%s", ctx->branch);
	if (!ctx->base && !git_reference_name_to_id(&head, ctx->repo, ref) &&
	    !git_commit_lookup(&c, ctx->repo, &head))
		git_commit_tree(&own, c);
	git_error_clear();
	git_commit_free(c);
	if ((ctx->base || own) && (e = git_tree_entry_byname(ctx->base ? ctx->base : own, id)))
		yes = kinds_server_dir(e);
	git_tree_free(own);
	return yes;
}

/* CS_OK when a message may go to `to`: "all", or a known server.  Outside
 * a decision (a deferred message) the remote is as this clone last saw it. */
static int check_recipient(cs_ctx *ctx, const char *to)
{
	int rc;
	if (!strcmp(to, "all"))
		return CS_OK;
	if ((rc = known_server(ctx, to)) < 0)
		return rc;
	if (!rc)
		return ctx_err(ctx, CS_EINVAL, "unknown recipient '%s': no server directory or heartbeat"
			      " on the remote%s (a typo?); --force sends it anyway", to,
			      ctx->base ? "" : " as of this clone's last sync");
	return CS_OK;
}

static int intent_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	intent_arg *a = p;
	cJSON *copy;
	int rc;
	/* A seed server sends under message_queue with commits of its own:
	 * while another server holds it, do not send. */
	if (!strcmp(a->kind, "msg") &&
	    (rc = lockstate_respect(ctx, LOCKSTATE_SEED_MSGS, "send", &a->held)))
		return rc;
	if (a->check_to &&
	    (rc = check_recipient(ctx, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a->payload, "to")))))
		return rc;
	if (!(copy = cJSON_Duplicate(a->payload, 1)) || !cJSON_AddTrueToObject(copy, "direct")) {
		cJSON_Delete(copy);
		return ctx_err_oom(ctx);
	}
	rc = intent_apply(ctx, a->kind, copy, msg);
	cJSON_Delete(copy);
	return rc;
}

/* Deliver now (one decision) or queue in the outbox.  check_to: a message
 * whose recipient must be known, checked in the decision, or for a deferred
 * one now, against the mirror and the last fetched head (so that an intent
 * never waits in the outbox for a server that does not exist). */
static int intent(cs_ctx *ctx, const char *kind, cJSON *payload, int defer, int check_to)
{
	intent_arg a = {kind, payload, 0, check_to && !defer, 0};
	char *text;
	int rc = CS_OK;
	if (!ctx->server)
		rc = ctx_err(ctx, CS_EINVAL, "no server id: pass --server or set coordsync.server");
	else if (!defer)
		rc = lockstate_wait_run(ctx, intent_fn, &a, &a.held);
	else if (check_to &&
		 (rc = check_recipient(ctx, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(payload, "to")))))
		rc = rc < 0 ? rc : CS_ERROR;   /* refused: nothing queued */
	else if (!cJSON_AddStringToObject(payload, "server", ctx->server) ||
		 !(text = cJSON_PrintUnformatted(payload)))
		rc = ctx_err_oom(ctx);
	else {
		/* The outbox file, not the mirror: it waits for no decision's
		 * push and no rebuild replaces it (outbox.c). */
		rc = outbox_add(ctx, kind, text);
		cJSON_free(text);
	}
	cJSON_Delete(payload);
	return rc;
}

int cs_status_update(cs_ctx *ctx, const char *status, const char *const *kv, int n,
		     const cs_status_edit *e, int defer)
{
	cJSON *p;
	int rc = intent_status_payload(ctx, status, kv, n, e, &p);
	return rc ? rc : intent(ctx, "status", p, defer, 0);
}

int cs_status_set(cs_ctx *ctx, const char *status, const char *const *kv, int n, int defer)
{
	return cs_status_update(ctx, status, kv, n, NULL, defer);
}

/* The heartbeat carries this clone's instance id (identity.c): two clones
 * that use one server id overwrite each other's, which health reports. */
int cs_heartbeat(cs_ctx *ctx, int defer)
{
	cJSON *p = cJSON_CreateObject(), *set = cJSON_CreateObject();
	char inst[37];
	int rc;
	if (!p || !set || !cJSON_AddItemToObject(p, "set", set)) {
		cJSON_Delete(p);
		cJSON_Delete(set);
		return ctx_err_oom(ctx);
	}
	if (ctx->server && (rc = identity_instance(ctx, inst, 1))) {
		cJSON_Delete(p);
		return rc;
	}
	if (ctx->server)
		cJSON_AddStringToObject(set, "instance", inst);
	cJSON_AddNumberToObject(p, "at", values_now());
	return intent(ctx, "heartbeat", p, defer, 0);
}

int cs_msg_send(cs_ctx *ctx, char **id_out, const char *to, const char *type,
		const char *subject, const char *body, int defer)
{
	return cs_msg_send_set(ctx, id_out, to, type, subject, body, NULL, 0, defer);
}

/* Fields of a message that coordsync writes itself, or that its life
 * changes (read, read_by): never --set. */
static const char *const msg_own[] = {
	"id", "from", "to", "type", "subject", "body", "timestamp", "read", "read_by",
	"in_reply_to", NULL};

/* The --set list as the payload's "set_json": each value as its JSON
 * text (a string), so the outbox, which parses the payload again, keeps a
 * number's digits (as a status intent does). */
static int msg_set_json(cs_ctx *ctx, cJSON *p, const char *const *kv, int n)
{
	cJSON *set = NULL, *sj;
	int rc;
	if (!n)
		return CS_OK;
	if ((rc = values_kv_object(ctx, kv, n, &set)))
		return rc;
	for (const cJSON *it = set->child; it && !rc; it = it->next)
		for (int i = 0; msg_own[i] && !rc; i++)
			if (!strcmp(it->string, msg_own[i]))
				rc = ctx_err(ctx, CS_EINVAL, "--set '%s': a message's %s is set by"
					    " coordsync (its options, or reading it), not by --set",
					    it->string, it->string);
	if (!rc && !(sj = cJSON_AddObjectToObject(p, "set_json")))
		rc = ctx_err_oom(ctx);
	if (!rc)
		rc = values_put_texts(ctx, sj, set);
	cJSON_Delete(set);
	return rc;
}

int cs_msg_send_set(cs_ctx *ctx, char **id_out, const char *to, const char *type,
		    const char *subject, const char *body, const char *const *kv, int n,
		    int defer)
{
	static const char *const types[] = {"info", "warning", "error", "request", NULL};
	cJSON *p;
	char *id;
	int ok = 0, rc;

	*id_out = NULL;
	for (int i = 0; types[i]; i++)
		ok |= type && !strcmp(type, types[i]);
	if (!ok)
		return ctx_err(ctx, CS_EINVAL, "message type must be info, warning, error or request");
	if (!to || (strcmp(to, "all") && !cs_valid_id(to)))
		return ctx_err(ctx, CS_EINVAL, "invalid recipient '%s'", to ? to : "");
	if (strcmp(to, "all") && cs_reserved_id(to))
		return ctx_err(ctx, CS_EINVAL, "invalid recipient '%s': a reserved name, not a server", to);
	if (!subject || !*subject)
		return ctx_err(ctx, CS_EINVAL, "missing subject");
	if (!(id = util_uuid()) || !(p = cJSON_CreateObject())) {
		free(id);
		return ctx_err_oom(ctx);
	}
	cJSON_AddStringToObject(p, "id", id);
	cJSON_AddStringToObject(p, "to", to);
	cJSON_AddStringToObject(p, "type", type);
	cJSON_AddStringToObject(p, "subject", subject);
	if (body)
		cJSON_AddStringToObject(p, "body", body);
	cJSON_AddNumberToObject(p, "at", values_now());
	if ((rc = msg_set_json(ctx, p, kv, n))) {
		cJSON_Delete(p);
		free(id);
		return rc;
	}
	if ((rc = intent(ctx, "msg", p, defer & CS_DEFER, !(defer & CS_FORCE))))
		free(id);
	else
		*id_out = id;
	return rc;
}

int msgs_read_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	const char *id = p;
	char *to = NULL;
	int rc;
	if ((rc = db_text(ctx, &to, "SELECT to_server FROM messages WHERE id=:a", id)))
		return rc;
	if (!to)
		return ctx_err(ctx, CS_ENOTFOUND, "no message '%s'", id);
	if (!strcmp(to, ctx->server)) {
		rc = DB_RUN(ctx, "UPDATE messages SET read=1, dirty=1 WHERE id=:i AND NOT"
				 " coalesce(read, 0)", DB_TEXT(":i", id));
	} else if (!strcmp(to, "all")) {
		/* A broadcast is read per server, in read_by; the seed's flag turns
		 * true once every other server the mirror knows of has read it:
		 * here any server that acts (a heartbeat or status, a job, a lock,
		 * a message sent), wider than fleet_ids, so that the flag does not
		 * hide it from a seed server without a heartbeat.  Recipients do
		 * not count: a typo is not a server. */
		rc = DB_RUN(ctx, "UPDATE messages SET read_by=json_insert(coalesce(read_by, '[]'),"
				 " '$[#]', :s), dirty=1 WHERE id=:i AND NOT EXISTS(SELECT 1 FROM"
				 " json_each(coalesce(read_by, '[]')) WHERE value=:s)",
				DB_TEXT(":i", id), DB_TEXT(":s", ctx->server));
		if (rc >= 0)
			rc = DB_RUN(ctx, "UPDATE messages SET read=1, dirty=1 WHERE id=:i AND NOT coalesce(read, 0)"
					 " AND NOT EXISTS(SELECT 1 FROM (SELECT id FROM servers"
					 "  UNION SELECT assigned_to FROM jobs WHERE assigned_to IS NOT NULL"
					 "  UNION SELECT locked_by FROM locks WHERE locked_by IS NOT NULL"
					 "  UNION SELECT from_server FROM messages WHERE from_server IS NOT NULL)"
					 " AS f WHERE f.id != from_server"
					 " AND f.id != :s AND f.id NOT IN (SELECT value FROM json_each(read_by)))",
					DB_TEXT(":i", id), DB_TEXT(":s", ctx->server));
	} else {
		rc = ctx_err(ctx, CS_EREFUSED, "message '%s' is for %s, not %s", id, to, ctx->server);
	}
	free(to);
	if (rc >= 0)
		sb_printf(msg, "Message %s marked read by %s", id, ctx->server);
	return rc < 0 ? rc : CS_OK;
}

/* Every message this server has not read (message_unread's rule for it:
 * direct ones unread, broadcasts from others not in read_by and not marked
 * read by a seed tool), each as msgs_read_fn marks it; *p (an int) counts
 * them. */
static int msgs_read_all_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	int *count = p, rc = CS_OK, n = 0, cap = 0;
	char **ids = NULL;
	sqlite3_stmt *st = NULL;

	*count = 0;
	if ((rc = db_prepare(ctx, &st, "SELECT id FROM messages WHERE (to_server = :s AND NOT"
				       " coalesce(read, 0)) OR (to_server = 'all' AND from_server IS NOT :s"
				       " AND NOT (coalesce(read, 0) AND read_by IS NULL) AND NOT EXISTS"
				       " (SELECT 1 FROM json_each(coalesce(read_by, '[]')) WHERE value = :s))"
				       " ORDER BY timestamp, ord")) ||
	    (rc = db_bind_text(ctx, st, ":s", ctx->server)))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		if (n == cap) {
			char **nb = realloc(ids, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *ids);
			if (!nb) {
				rc = ctx_err_oom(ctx);
				goto done;
			}
			ids = nb;
		}
		if (!(ids[n] = strdup(id ? id : ""))) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
		n++;
	}
	if (rc != SQLITE_DONE)
		goto done;
	sqlite3_finalize(st);
	st = NULL;
	rc = CS_OK;
	for (int i = 0; i < n && !rc; i++) {
		sbuf ignored = {0};
		rc = msgs_read_fn(ctx, ids[i], &ignored);
		sb_free(&ignored);
	}
	if (!rc) {
		*count = n;
		sb_printf(msg, "%d message%s marked read by %s", n, n == 1 ? "" : "s", ctx->server);
	}
done:
	sqlite3_finalize(st);
	for (int i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return rc;
}

int cs_msg_read_all(cs_ctx *ctx, int *count)
{
	int n = 0, rc = decide_run(ctx, msgs_read_all_fn, &n);
	*count = rc ? 0 : n;
	return rc;
}

int cs_msg_read(cs_ctx *ctx, const char *id)
{
	char *full = NULL;
	int rc;
	if (!id || !*id)
		return ctx_err(ctx, CS_EINVAL, "missing message id");
	/* A unique prefix stands for its id; the decision sees the whole id. */
	if ((rc = cs_id_resolve(ctx, "message", id, &full)))
		return rc;
	rc = decide_run(ctx, msgs_read_fn, (void *)(full ? full : id));
	free(full);
	return rc;
}
