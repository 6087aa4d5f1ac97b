/* The message log and the auto-reply log (msglog.c): files on this machine,
 * one line per message received and per auto-reply action, rotated. */
#ifndef CS_MSGLOG_H
#define CS_MSGLOG_H

#include "ctx.h"

struct cJSON;

/* Append a line to the message log (coordsync.log.messages) for each
 * message to this server, or to all from another server, that the mirror
 * holds and that is not logged yet; mark them logged (msglog.db).  Only
 * when coordination/messages.json changed since the last pass.  On the
 * first pass for a server, the messages it has read already are marked
 * without a line.  Outside any transaction of the handle's.  CS_OK when
 * the log is off or there is no server. */
int msglog_received(cs_ctx *ctx);
/* Append a line to the auto-reply log (coordsync.log.autoreplies) for each
 * entry of done, an array of [action ("replied" or "marked"), id, from,
 * type, subject, reply id or null]. */
int msglog_autoreply(cs_ctx *ctx, const struct cJSON *done);
/* A notice naming the failure rc of a log (the message on ctx), if any:
 * a log that cannot be written does not fail what it records. */
void msglog_notice(cs_ctx *ctx, int rc);

#endif
