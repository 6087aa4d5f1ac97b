/* The Jira REST client (jira.c): libcurl opened on demand, the site's
 * settings and token, one request with its retries, and searches in both
 * of Jira's pagination styles.  The token is read once, kept only in the
 * client's Authorization header and wiped when the client is freed: no
 * message, log or table ever holds it. */
#ifndef CS_JIRA_H
#define CS_JIRA_H

#include <cjson/cJSON.h>
#include "ctx.h"
#include "util.h"

typedef struct jira jira;

/* A client for coordsync.jira.* (url, user, tokenfile, search, timeout,
 * retries, pagesize): the URL checked (http only to a loopback host), the
 * token file read (mode 0600), libcurl opened.  page_size > 0 overrides
 * coordsync.jira.pagesize.  *out is freed with jira_free. */
int jira_open(cs_ctx *ctx, jira **out, int page_size);
void jira_free(jira *j);   /* NULL-safe; wipes the token */
/* The base URL without a final '/', e.g. for browse links. */
const char *jira_base(const jira *j);
/* 1 for Jira Cloud (coordsync.jira.user set: users are accountIds), 0 for
 * Data Center (users are names). */
int jira_cloud(const jira *j);

/* Retry policy of one request. */
#define JIRA_ONCE 0    /* a create: only a 429 (not done) is tried again */
#define JIRA_RETRY 1   /* idempotent: 429, 5xx and time-outs are tried again */

/* method ("GET", "POST", "PUT") path (from "/rest/...", its query already
 * escaped, jira_escape) with body (JSON text, or NULL).  CS_OK on a 2xx
 * answer, *out (when not NULL) the body, malloc'd, "" when empty.  Else:
 * CS_ENOTFOUND on 404, CS_ERROR on 401/403 (an authentication failure),
 * other answers and transport errors; CS_EINVAL on other 4xx.  429 waits
 * Retry-After (at most 60 s), 5xx and time-outs back off; at most
 * coordsync.jira.retries more attempts.  Messages name the method, the
 * path without its query, and Jira's errorMessages. */
int jira_call(cs_ctx *ctx, jira *j, const char *method, const char *path, const char *body,
	      int retry, char **out);
/* jira_call with the answer parsed: *out (NULL for an empty answer) is
 * freed with cJSON_Delete. */
int jira_call_json(cs_ctx *ctx, jira *j, const char *method, const char *path, const char *body,
		   int retry, cJSON **out);
/* Append s percent-encoded for a query value (RFC 3986 unreserved kept). */
void jira_escape(sbuf *b, const char *s);

/* Called for each issue of a search, in the order Jira gives them. */
typedef int (*jira_issue_fn)(cs_ctx *ctx, const cJSON *issue, void *arg);
/* Every issue jql matches, fields (comma-separated) asked for, page by
 * page: /rest/api/2/search/jql (nextPageToken, isLast) or /rest/api/2/search
 * (startAt, total) as coordsync.jira.search says.  *pages counts the
 * requests.  At most 100,000 pages; a page that repeats a token or gives
 * nothing before the end stops it with an error. */
int jira_search(cs_ctx *ctx, jira *j, const char *jql, const char *fields, jira_issue_fn fn,
		void *arg, int *pages);

#endif
