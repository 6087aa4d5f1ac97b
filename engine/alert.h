/* Alerts of the health checks (alert.c): libcurl opened on demand, the
 * alert URL, posting, and the alert state in the mirror's `alerts` table. */
#ifndef CS_ALERT_H
#define CS_ALERT_H

#include <stddef.h>
#include "ctx.h"

/* ---- alerts (alert.c) ---------------------------------------------------- */
/* Open libcurl (dlopen, about 5 ms: only a run with an alert pays it) and
 * start it (curl_global_init).  CS_ERROR when it is not there; after CS_OK,
 * one alert_close. */
int alert_open(cs_ctx *ctx);
void alert_close(void);   /* curl_global_cleanup; libcurl stays loaded */
/* Accept url, http:// or https:// without user or password (else
 * CS_EINVAL).  origin gets "scheme://host[:port]" (truncated to len), the
 * only part of the URL ever put in a message: webhook paths are often
 * secrets themselves.  *plain is set for http to a host other than a
 * loopback address.  The URL is parsed by secret_url_parse. */
int alert_url_check(cs_ctx *ctx, const char *url, char *origin, size_t len, int *plain);
/* Replace control characters in s by '?': messages end up on status lines
 * and logs. */
void alert_printable(char *s);
/* Append a zeroed problem to *list (n entries, grown by one) and return
 * it, or NULL on oom (*list unchanged).  Free members as cs_health_free. */
cs_problem *alert_problem_new(cs_problem **list, int *n);
/* Record h's problems, found at now, in `alerts` and find what needs
 * posting: each problem's alert becomes CS_ALERT_PENDING (never notified,
 * or worsened from warning to critical) or CS_ALERT_EARLIER; notified
 * problems that are gone are appended to h->cleared, pending; gone
 * problems never notified are forgotten.  One transaction. */
int alert_state(cs_ctx *ctx, cs_health *h, double now);
/* Post every pending alert to url, then every pending recovery, each
 * within timeout seconds, with token (NULL: none) as a bearer token,
 * recording each delivery at once.  The first failure stops the posting;
 * what was not delivered stays pending (h->pending counts it) and the
 * reason, naming origin only, is in h->alert_error.  Only errors of the
 * mirror are returned.  Needs alert_open. */
int alert_post(cs_ctx *ctx, cs_health *h, const char *url, int timeout, double now,
	       const char *token, const char *origin);

#endif
