/* libcurl, opened on demand (curl.c): the one table of its functions that
 * alerts (alert.c) and the Jira client (jira.c) call through, and the
 * transfer options both hold to.  Linking libcurl would load some twenty
 * more shared libraries into every process (about 5 ms of each `job
 * claim`), so it is opened with dlopen by the runs that need it. */
#ifndef CS_CURL_H
#define CS_CURL_H

#include <curl/curl.h>
#include "ctx.h"

/* The libcurl functions coordsync calls, filled by curl_open. */
struct curl_fns {
	void *lib;
	CURLcode (*global_init)(long);
	void (*global_cleanup)(void);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	void (*easy_cleanup)(CURL *);
};
extern struct curl_fns curl_fn;

/* Open libcurl.so.4 (once a process; it stays loaded) and start it
 * (curl_global_init, which libcurl counts).  who names the user in the
 * error when the library is missing: "alerts need", "jira needs".  CS_ERROR
 * when it is not there or does not start. */
int curl_open(cs_ctx *ctx, const char *who);
/* curl_global_cleanup, one for each curl_open that may end. */
void curl_close(void);
/* The options every coordsync transfer holds to: http and https only, no
 * redirects, peer and host verified, connecting within conn_ms and done
 * within total_ms, no signals, coordsync's user agent.  Nonzero when
 * libcurl refuses one. */
int curl_secure(CURL *c, long conn_ms, long total_ms);

#endif
