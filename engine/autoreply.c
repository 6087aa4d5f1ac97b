/* Auto-reply: the rules of docs/auto_reply_rules.json applied to unread
 * messages in one decision. */
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "util.h"
#include "json_int.h"
#include "db.h"
#include "values.h"
#include "decide.h"
#include "lockstate.h"
#include "intent.h"
#include "msglog.h"
#include "msgs.h"

typedef struct reply_arg {
	cJSON *rules;
	int replied, marked;
	sbuf log;
	cJSON *done;   /* for the auto-reply log (msglog_autoreply) */
} reply_arg;

/* Note an action for the auto-reply log: [what, id, from, type, subject,
 * reply id or null].  Out of memory loses the line, not the decision. */
static void note_done(reply_arg *a, const char *what, const char *id, const char *from,
		      const char *type, const char *subject, const char *rid)
{
	const char *v[] = {what, id, from, type, subject, rid};
	cJSON *e = cJSON_CreateArray();
	for (int i = 0; e && i < 6; i++)
		cJSON_AddItemToArray(e, v[i] ? cJSON_CreateString(v[i]) : cJSON_CreateNull());
	if (!e || !a->done || !cJSON_AddItemToArray(a->done, e))
		cJSON_Delete(e);
}

/* Case-insensitive substring test. */
static int contains_ci(const char *hay, const char *needle)
{
	return hay && needle && strcasestr(hay, needle) != NULL;
}

/* The rules of docs/auto_reply_rules.json at the remote head, checked. */
static int load_rules(cs_ctx *ctx, cJSON **out)
{
	char *text = NULL;
	size_t len;
	cJSON *doc = NULL;
	const cJSON *rules, *r;
	int rc;

	*out = NULL;
	if ((rc = decide_base_read(ctx, "docs/auto_reply_rules.json", &text, &len)) || !text)
		return rc;      /* no rules: nothing to do */
	doc = cJSON_ParseWithLength(text, len);
	rules = cJSON_GetObjectItemCaseSensitive(doc, "rules");
	if (!cJSON_IsArray(rules)) {
		rc = ctx_err(ctx, CS_ERROR, "docs/auto_reply_rules.json: expected {\"rules\": [...]}");
		goto done;
	}
	cJSON_ArrayForEach(r, rules) {
		const char *act = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "action"));
		const cJSON *rep = cJSON_GetObjectItemCaseSensitive(r, "reply");
		if (!cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "contains")) || !act ||
		    (strcmp(act, "reply") && strcmp(act, "mark")) ||
		    (!strcmp(act, "reply") && !cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep, "subject")))) {
			rc = ctx_err(ctx, CS_ERROR, "docs/auto_reply_rules.json: each rule needs \"contains\","
				    " \"action\" reply or mark, and a reply with a subject");
			goto done;
		}
	}
	*out = cJSON_DetachItemFromObjectCaseSensitive(doc, "rules");
done:
	cJSON_Delete(doc);
	free(text);
	return rc;
}

/* Append remote text s to an auto-reply log, whose contract is one line
 * per action: a line feed or carriage return in s is written as \n or \r,
 * the form the command line's escaping gives them (cli/format.c), which
 * escapes the rest when it prints the line. */
static void log_text(sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n' || *s == '\r')
			sb_puts(b, *s == '\n' ? "\\n" : "\\r");
		else
			sb_putc(b, *s);
	}
}

/* Every unread message to this server or to all, not from it, that a rule
 * matches: replied to and marked read, or only marked, all in one commit,
 * so a crash or a refused push never replies twice. */
static int reply_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	reply_arg *a = p;
	sqlite3_stmt *st = NULL;
	cJSON *pending = cJSON_CreateArray();
	const cJSON *row;
	int rc, queue = -1;   /* message_queue: -1 not looked at, 0 free, 1 held */

	a->replied = a->marked = 0;
	sb_free(&a->log);      /* a retry starts a fresh log */
	cJSON_Delete(a->done);
	a->done = cJSON_CreateArray();
	cJSON_Delete(a->rules);
	if ((rc = load_rules(ctx, &a->rules)) || !a->rules) {
		cJSON_Delete(pending);
		return rc;
	}
	if ((rc = db_prepare(ctx, &st,
			     /* unread by this server (message_unread: the one rule;
			      * '' for a server no message or heartbeat names yet) */
			     "SELECT m.id, m.from_server, m.type, m.subject FROM message_unread u"
			     " JOIN messages m ON m.id = u.id"
			     " WHERE u.server = coalesce((SELECT id FROM message_servers WHERE id = :s), '')"
			     " AND m.from_server IS NOT :s ORDER BY m.timestamp, m.ord")) ||
	    (rc = db_bind_text(ctx, st, ":s", ctx->server)))
		goto done;
	/* Collect first: the loop below writes to the table being read. */
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		cJSON *m = cJSON_CreateArray();
		for (int i = 0; m && i < 4; i++) {
			const char *v = (const char *)sqlite3_column_text(st, i);
			cJSON_AddItemToArray(m, v ? cJSON_CreateString(v) : cJSON_CreateNull());
		}
		if (!m || !pending || !cJSON_AddItemToArray(pending, m)) {
			cJSON_Delete(m);
			rc = ctx_err_oom(ctx);
			break;
		}
	}
	if (rc != SQLITE_DONE)
		goto done;
	rc = CS_OK;
	cJSON_ArrayForEach(row, pending) {
		const char *id = cJSON_GetStringValue(cJSON_GetArrayItem(row, 0));
		const char *from = cJSON_GetStringValue(cJSON_GetArrayItem(row, 1));
		const char *type = cJSON_GetStringValue(cJSON_GetArrayItem(row, 2));
		const char *subject = cJSON_GetStringValue(cJSON_GetArrayItem(row, 3));
		const cJSON *r, *hit = NULL;
		sbuf ignored = {0};
		int reply;
		cJSON_ArrayForEach(r, a->rules) {
			const char *want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "type"));
			if (contains_ci(subject, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "contains"))) &&
			    (!want || (type && !strcmp(want, type)))) {
				hit = r;
				break;
			}
		}
		if (!hit)
			continue;       /* no rule: stays unread */
		reply = !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(hit, "action")),
				"reply");
		if (reply && queue < 0) {
			/* A reply is a send: not while a seed server holds
			 * message_queue (lockstate.h). */
			int held = 0;
			if ((rc = lockstate_respect(ctx, LOCKSTATE_SEED_MSGS, "reply", &held)) && !held)
				break;
			if ((queue = held)) {
				sb_printf(&a->log, "auto-reply: %s; replies wait for the next run\n", ctx->err);
				rc = CS_OK;
			}
		}
		if (reply && queue) {
			continue;       /* stays unread: the next run replies */
		} else if (reply) {
			const cJSON *rep = cJSON_GetObjectItemCaseSensitive(hit, "reply");
			const char *rt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep, "type"));
			char *rid = util_uuid();
			cJSON *in = cJSON_CreateObject();
			if (!rid || !in || !from || !cs_valid_server_id(from)) {
				free(rid);
				cJSON_Delete(in);
				if (!rid || !in) {
					rc = ctx_err_oom(ctx);
					break;
				}
				continue;   /* a sender we cannot address (or "all") */
			}
			cJSON_AddStringToObject(in, "id", rid);
			cJSON_AddStringToObject(in, "to", from);
			cJSON_AddStringToObject(in, "type", rt ? rt : "info");
			cJSON_AddStringToObject(in, "subject",
						cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep, "subject")));
			if (cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep, "body")))
				cJSON_AddStringToObject(in, "body",
							cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep, "body")));
			cJSON_AddStringToObject(in, "in_reply_to", id);
			rc = intent_apply_msg(ctx, in, values_now());
			cJSON_Delete(in);
			if (!rc) {
				a->replied++;
				sb_puts(&a->log, "auto-reply: replied to ");
				log_text(&a->log, id);
				sb_puts(&a->log, " from ");
				log_text(&a->log, from);
				sb_puts(&a->log, " (\"");
				log_text(&a->log, subject ? subject : "");
				sb_printf(&a->log, "\") with %s\n", rid);
				note_done(a, "replied", id, from, type, subject, rid);
			}
			free(rid);
		} else {
			a->marked++;
			sb_puts(&a->log, "auto-reply: marked ");
			log_text(&a->log, id);
			sb_puts(&a->log, " from ");
			log_text(&a->log, from ? from : "?");
			sb_puts(&a->log, " (\"");
			log_text(&a->log, subject ? subject : "");
			sb_puts(&a->log, "\") read\n");
			note_done(a, "marked", id, from, type, subject, NULL);
		}
		if (!rc)
			rc = msgs_read_fn(ctx, (void *)id, &ignored);
		sb_free(&ignored);
		if (rc)
			break;
	}
	sb_printf(msg, "%s: auto-reply (%d replied, %d marked read)", ctx->server, a->replied,
		  a->marked);
done:
	cJSON_Delete(pending);
	sqlite3_finalize(st);
	return rc;
}

int cs_autoreply(cs_ctx *ctx, int *replied, int *marked, char **log)
{
	reply_arg a = {NULL, 0, 0, {0}, NULL};
	int rc = decide_run(ctx, reply_fn, &a);
	if (!rc) {
		/* The messages first, then what was done with them; a log that
		 * cannot be written is a notice (msglog.c). */
		msglog_notice(ctx, msglog_received(ctx));
		msglog_notice(ctx, msglog_autoreply(ctx, a.done));
	}
	cJSON_Delete(a.done);
	*replied = rc ? 0 : a.replied;
	*marked = rc ? 0 : a.marked;
	*log = rc ? NULL : sb_detach(&a.log);
	sb_free(&a.log);
	cJSON_Delete(a.rules);
	return rc;
}
