/*
 * coordsync: a SQLite mirror of a git repository of JSON coordination files.
 *
 * This is the umbrella header: it includes every public header, one per
 * part of the API, as git2.h does libgit2's.  A program may include only
 * the parts it uses; each is self-contained.
 *   coordsync/common.h   return codes, cs_ctx, cs_opts; ownership and
 *                        threading rules; ids, times, durations
 *   coordsync/handle.h   cs_open, cs_clone, cs_close, accessors, the
 *                        clone's lock, cs_hold, notices, abort
 *   coordsync/tls.h      the CA-certificate hook of a program
 *   coordsync/sync.h     cs_sync, cs_rebuild, mirror repair, new history
 *   coordsync/outbox.h   deferred intents
 *   coordsync/query.h    cs_query, cs_list, cs_rows_*
 *   coordsync/locks.h    decisions: locks
 *   coordsync/jobs.h     decisions: jobs
 *   coordsync/msgs.h     decisions: status, heartbeat, messages, auto-reply
 *   coordsync/health.h   health checks and alerts
 *   coordsync/report.h   reports
 *   coordsync/config.h   settings
 *   coordsync/maint.h    compact, logs
 *   coordsync/cycle.h    the unattended cycle of `run` and `daemon`
 *   coordsync/jira.h     the Jira workflow: issues in the mirror, the index
 *
 * Every function returns CS_OK (0) or a negative CS_E* code and leaves a
 * message on the handle (cs_errmsg).  Objects handed back through an out
 * parameter belong to the caller, who frees them with the matching _free;
 * strings handed back are freed with free().  Nothing here prints or exits.
 * coordsync/common.h states these rules in full, with the threading
 * contract; each header states the lifetimes of what its calls return.
 */
#ifndef COORDSYNC_H
#define COORDSYNC_H

#include "coordsync/common.h"
#include "coordsync/handle.h"
#include "coordsync/tls.h"
#include "coordsync/sync.h"
#include "coordsync/outbox.h"
#include "coordsync/query.h"
#include "coordsync/locks.h"
#include "coordsync/jobs.h"
#include "coordsync/msgs.h"
#include "coordsync/health.h"
#include "coordsync/report.h"
#include "coordsync/config.h"
#include "coordsync/maint.h"
#include "coordsync/cycle.h"
#include "coordsync/validate.h"
#include "coordsync/jira.h"

#endif
