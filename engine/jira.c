/* The Jira REST client: libcurl, opened on demand (curl.c); the
 * site's URL and token (coordsync.jira.*); one request with bounded retries
 * (429 with Retry-After, 5xx, time-outs); searches page by page in both of
 * Jira's styles (startAt/total, nextPageToken/isLast).  docs/JIRA.md. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "coordsync/config.h"
#include "ctx.h"
#include "util.h"
#include "secret.h"
#include "curl.h"
#include "jira.h"

/* ---- the client ------------------------------------------------------------------ */

struct jira {
	CURL *curl;
	struct curl_slist *hdr;     /* one holds the token: wiped when freed */
	char *base;                 /* the URL, no final '/' */
	char origin[256];           /* scheme://host[:port], for messages */
	int classic;                /* search with /rest/api/2/search (startAt) */
	int cloud;                  /* Basic auth with a user: Jira Cloud */
	int page_size, retries;
	long timeout_ms;
	char errbuf[CURL_ERROR_SIZE];
	sbuf body;                  /* the answer being read */
	long retry_after;           /* seconds from the last answer's Retry-After; -1 none */
};

const char *jira_base(const jira *j)
{
	return j->base;
}

int jira_cloud(const jira *j)
{
	return j->cloud;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void jira_free(jira *j)
{
	if (!j)
		return;
	for (struct curl_slist *s = j->hdr; s; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	if (j->hdr)
		curl_fn.slist_free_all(j->hdr);
	if (j->curl)
		curl_fn.easy_cleanup(j->curl);
	sb_free(&j->body);
	free(j->base);
	free(j);
}

static void base64(sbuf *b, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		sb_putc(b, tab[v >> 18 & 63]);
		sb_putc(b, tab[v >> 12 & 63]);
		sb_putc(b, i + 1 < n ? tab[v >> 6 & 63] : '=');
		sb_putc(b, i + 2 < n ? tab[v & 63] : '=');
	}
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	jira *j = arg;
	if (j->body.n + size * n > (size_t)256 << 20)   /* 256 MiB: no page is that big */
		return 0;
	sb_put(&j->body, p, size * n);
	return j->body.oom ? 0 : size * n;
}

/* Retry-After: SECONDS (an HTTP date counts as 5 s). */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	jira *j = arg;
	size_t len = size * n;
	if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) {
		size_t i = 12;
		long v = 0;
		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i < len && p[i] >= '0' && p[i] <= '9') {
			for (; i < len && p[i] >= '0' && p[i] <= '9' && v < 100000; i++)
				v = v * 10 + (p[i] - '0');
			j->retry_after = v;
		} else {
			j->retry_after = 5;
		}
	}
	return len;
}

/* Text of the setting key, or NULL; a missing required one is an error. */
static int setting(cs_ctx *ctx, const char *key, int required, char **out)
{
	*out = cs_config_get(ctx, key);
	if (!*out && required)
		return ctx_err(ctx, CS_EINVAL, "coordsync.%s is not set (git config, or its"
			      " COORDSYNC_JIRA_* variable: see 'coordsync config')", key);
	return CS_OK;
}

int jira_open(cs_ctx *ctx, jira **out, int page_size)
{
	jira *j = NULL;
	char *url = NULL, *user = NULL, *file = NULL, *token = NULL, *search = NULL;
	struct curl_slist *s;
	secret_url u;
	long long n;
	int rc;

	*out = NULL;
	if ((rc = setting(ctx, "jira.url", 1, &url)) || (rc = setting(ctx, "jira.tokenfile", 1, &file)) ||
	    (rc = setting(ctx, "jira.user", 0, &user)) || (rc = setting(ctx, "jira.search", 0, &search)))
		goto done;
	if (secret_url_parse(&u, url) || u.form != SECRET_URL_SCHEME ||
	    !((u.scheme.n == 4 && !strncasecmp(u.scheme.p, "http", 4)) ||
	      (u.scheme.n == 5 && !strncasecmp(u.scheme.p, "https", 5)))) {
		rc = ctx_err(ctx, CS_EINVAL, "invalid coordsync.jira.url: expected https://HOST[/PATH]");
		goto done;
	}
	if (u.user.p) {
		rc = ctx_err(ctx, CS_EINVAL, "coordsync.jira.url must not hold credentials; use"
			    " coordsync.jira.user and coordsync.jira.tokenfile");
		goto done;
	}
	if (u.scheme.n == 4 && !secret_host_loopback(u.host.p, u.host.n)) {
		rc = ctx_err(ctx, CS_EINVAL, "coordsync.jira.url is http to '%.*s': the token would"
			    " cross the network in clear; use https", (int)u.host.n, u.host.p);
		goto done;
	}
	if (search && strcmp(search, "jql") && strcmp(search, "classic")) {
		rc = ctx_err(ctx, CS_EINVAL, "invalid setting coordsync.jira.search '%s': expected jql"
			    " or classic", search);
		goto done;
	}
	if (!(j = calloc(1, sizeof *j)) || !(j->base = strdup(url))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	for (size_t l = strlen(j->base); l && j->base[l - 1] == '/'; l--)
		j->base[l - 1] = 0;
	snprintf(j->origin, sizeof j->origin, "%.*s://%.*s%s%.*s", (int)u.scheme.n, u.scheme.p,
		 (int)u.host.n, u.host.p, u.port.p ? ":" : "", (int)u.port.n,
		 u.port.p ? u.port.p : "");
	j->classic = search ? !strcmp(search, "classic") : !user;
	j->cloud = user != NULL;
	if ((rc = cs_config_int(ctx, "jira.timeout", &n)))
		goto done;
	j->timeout_ms = (long)n * 1000L;
	if ((rc = cs_config_int(ctx, "jira.retries", &n)))
		goto done;
	j->retries = (int)n;
	if ((rc = cs_config_int(ctx, "jira.pagesize", &n)))
		goto done;
	j->page_size = page_size > 0 ? page_size : (int)n;
	if ((rc = secret_token_read(ctx, file, &token)) || (rc = curl_open(ctx, "jira needs")))
		goto done;
	if (!(j->curl = curl_fn.easy_init())) {
		rc = ctx_err(ctx, CS_ERROR, "cannot start libcurl");
		goto done;
	}
	{
		sbuf auth = {0}, cred = {0};
		if (user) {
			sb_puts(&cred, user);
			sb_putc(&cred, ':');
			sb_puts(&cred, token);
			sb_puts(&auth, "Authorization: Basic ");
			if (!cred.oom)
				base64(&auth, (const unsigned char *)cred.p, cred.n);
		} else {
			sb_puts(&auth, "Authorization: Bearer ");
			sb_puts(&auth, token);
		}
		s = auth.oom || cred.oom ? NULL : curl_fn.slist_append(NULL, auth.p);
		if (auth.p)
			explicit_bzero(auth.p, auth.n);
		if (cred.p)
			explicit_bzero(cred.p, cred.n);
		sb_free(&auth);
		sb_free(&cred);
		if (!(j->hdr = s) || !(s = curl_fn.slist_append(j->hdr, "Accept: application/json")) ||
		    !(s = curl_fn.slist_append(j->hdr, "Content-Type: application/json")) ||
		    !(s = curl_fn.slist_append(j->hdr, "Expect:"))) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
	}
	if (curl_fn.easy_setopt(j->curl, CURLOPT_HTTPHEADER, j->hdr) ||
	    curl_secure(j->curl, j->timeout_ms < 10000 ? j->timeout_ms : 10000L, j->timeout_ms) ||
	    curl_fn.easy_setopt(j->curl, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_fn.easy_setopt(j->curl, CURLOPT_WRITEDATA, j) ||
	    curl_fn.easy_setopt(j->curl, CURLOPT_HEADERFUNCTION, on_header) ||
	    curl_fn.easy_setopt(j->curl, CURLOPT_HEADERDATA, j) ||
	    curl_fn.easy_setopt(j->curl, CURLOPT_ERRORBUFFER, j->errbuf)) {
		rc = ctx_err(ctx, CS_ERROR, "cannot set up libcurl for jira");
		goto done;
	}
	*out = j;
	j = NULL;
done:
	jira_free(j);
	wipe_free(token);
	free(url);
	free(user);
	free(file);
	free(search);
	return rc;
}

/* ---- requests -------------------------------------------------------------------- */

void jira_escape(sbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~')
			sb_putc(b, (char)c);
		else
			sb_printf(b, "%%%02X", c);
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts))
		;
}

/* Jira's error text of an answer ({"errorMessages":[..],"errors":{..}}),
 * the first of each, printable and short, into out. */
static void jira_reason(const char *body, char *out, size_t len)
{
	cJSON *doc = body && *body ? cJSON_Parse(body) : NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "errorMessages");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "errors");
	sbuf b = {0};

	out[0] = 0;
	if (cJSON_IsArray(m))
		for (const cJSON *x = m->child; x; x = x->next)
			if (cJSON_IsString(x))
				sb_printf(&b, "%s%s", b.n ? "; " : "", x->valuestring);
	if (cJSON_IsObject(e))
		for (const cJSON *x = e->child; x; x = x->next)
			if (cJSON_IsString(x))
				sb_printf(&b, "%s%s: %s", b.n ? "; " : "", x->string, x->valuestring);
	cJSON_Delete(doc);
	if (b.p && !b.oom) {
		snprintf(out, len, ": %s", b.p);
		for (char *p = out; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	sb_free(&b);
}

int jira_call(cs_ctx *ctx, jira *j, const char *method, const char *path, const char *body,
	      int retry, char **out)
{
	sbuf url = {0};
	int plen = (int)strcspn(path, "?"), rc = CS_OK;
	int get = !strcmp(method, "GET");

	if (out)
		*out = NULL;
	sb_puts(&url, j->base);
	sb_puts(&url, path);
	if (url.oom)
		return ctx_err_oom(ctx);
	for (int attempt = 0;; attempt++) {
		long code = 0, wait_ms;
		char why[600];
		CURLcode cc;

		j->body.n = 0;
		j->retry_after = -1;
		j->errbuf[0] = 0;
		if (curl_fn.easy_setopt(j->curl, CURLOPT_URL, url.p) ||
		    curl_fn.easy_setopt(j->curl, CURLOPT_CUSTOMREQUEST, get ? NULL : method) ||
		    (get ? curl_fn.easy_setopt(j->curl, CURLOPT_HTTPGET, 1L)
			 : (curl_fn.easy_setopt(j->curl, CURLOPT_POSTFIELDS, body ? body : "") ||
			    curl_fn.easy_setopt(j->curl, CURLOPT_POSTFIELDSIZE_LARGE,
					   (curl_off_t)(body ? strlen(body) : 0))))) {
			rc = ctx_err(ctx, CS_ERROR, "cannot set up libcurl for jira");
			break;
		}
		cc = curl_fn.easy_perform(j->curl);
		if (cc == CURLE_OK)
			curl_fn.easy_getinfo(j->curl, CURLINFO_RESPONSE_CODE, &code);
		if (cc == CURLE_OK && code >= 200 && code <= 299) {
			if (out) {
				sb_putc(&j->body, 0);
				if (j->body.oom || !(*out = strdup(j->body.p)))
					rc = ctx_err_oom(ctx);
			}
			break;
		}
		/* What failed, and whether to try again. */
		if (cc != CURLE_OK) {
			snprintf(why, sizeof why, "%s", j->errbuf[0] ? j->errbuf : curl_fn.easy_strerror(cc));
			wait_ms = retry == JIRA_RETRY ? 500L << (attempt < 4 ? attempt : 4) : -1;
		} else {
			sb_putc(&j->body, 0);
			jira_reason(j->body.oom ? NULL : j->body.p, why + 20, sizeof why - 20);
			snprintf(why, 20, "HTTP %ld", code);
			memmove(why + strlen(why), why + 20, strlen(why + 20) + 1);
			if (code == 429)
				wait_ms = (j->retry_after >= 0 ? (j->retry_after < 60 ? j->retry_after : 60)
							 : 1L << (attempt < 5 ? attempt : 5)) * 1000L;
			else if (code >= 500 && retry == JIRA_RETRY)
				wait_ms = 500L << (attempt < 4 ? attempt : 4);
			else
				wait_ms = -1;
		}
		if (wait_ms >= 0 && attempt < j->retries) {
			sleep_ms(wait_ms);
			continue;
		}
		if (code == 401 || code == 403)
			rc = ctx_err(ctx, CS_ERROR, "jira %s %.*s: authentication failed: check"
				    " coordsync.jira.user and the token file (%s)", method, plen, path, why);
		else if (code == 404)
			rc = ctx_err(ctx, CS_ENOTFOUND, "jira %s %.*s: not found (%s)", method, plen, path,
				    why);
		else if (code >= 400 && code < 500 && code != 429)
			rc = ctx_err(ctx, CS_EINVAL, "jira %s %.*s: refused (%s)", method, plen, path, why);
		else
			rc = ctx_err(ctx, CS_ERROR, "jira %s %.*s at '%s': %s%s", method, plen, path,
				    j->origin, why, attempt ? " (after retries)" : "");
		break;
	}
	sb_free(&url);
	return rc;
}

int jira_call_json(cs_ctx *ctx, jira *j, const char *method, const char *path, const char *body,
		   int retry, cJSON **out)
{
	char *text = NULL;
	int rc;

	*out = NULL;
	if ((rc = jira_call(ctx, j, method, path, body, retry, &text)))
		return rc;
	if (*text && !(*out = cJSON_Parse(text)))
		rc = ctx_err(ctx, CS_ERROR, "jira %s %.*s: the answer is not JSON", method,
			    (int)strcspn(path, "?"), path);
	free(text);
	return rc;
}

/* ---- searches ------------------------------------------------------------------- */

#define JIRA_MAX_PAGES 100000

int jira_search(cs_ctx *ctx, jira *j, const char *jql, const char *fields, jira_issue_fn fn,
		void *arg, int *pages)
{
	char *token = NULL;
	long long start = 0;
	int rc = CS_OK;

	*pages = 0;
	for (int page = 0; !rc; page++) {
		sbuf path = {0};
		cJSON *doc = NULL;
		const cJSON *issues, *it;
		int n = 0, last;

		if (page == JIRA_MAX_PAGES) {
			rc = ctx_err(ctx, CS_ERROR, "jira search: over %d pages", JIRA_MAX_PAGES);
			break;
		}
		sb_puts(&path, j->classic ? "/rest/api/2/search?jql=" : "/rest/api/2/search/jql?jql=");
		jira_escape(&path, jql);
		sb_printf(&path, "&maxResults=%d&fields=", j->page_size);
		jira_escape(&path, fields);
		if (j->classic) {
			sb_printf(&path, "&startAt=%lld", start);
		} else if (token) {
			sb_puts(&path, "&nextPageToken=");
			jira_escape(&path, token);
		}
		if (path.oom)
			rc = ctx_err_oom(ctx);
		else
			rc = jira_call_json(ctx, j, "GET", path.p, NULL, JIRA_RETRY, &doc);
		sb_free(&path);
		if (rc)
			break;
		(*pages)++;
		issues = cJSON_GetObjectItemCaseSensitive(doc, "issues");
		if (!cJSON_IsArray(issues)) {
			cJSON_Delete(doc);
			rc = ctx_err(ctx, CS_ERROR, "jira search: the answer has no \"issues\" array");
			break;
		}
		cJSON_ArrayForEach(it, issues) {
			if (!rc)
				rc = fn(ctx, it, arg);
			n++;
		}
		if (j->classic) {
			const cJSON *total = cJSON_GetObjectItemCaseSensitive(doc, "total");
			start += n;
			last = !n || !cJSON_IsNumber(total) || (double)start >= total->valuedouble;
		} else {
			const cJSON *il = cJSON_GetObjectItemCaseSensitive(doc, "isLast");
			const cJSON *nt = cJSON_GetObjectItemCaseSensitive(doc, "nextPageToken");
			last = cJSON_IsTrue(il) || !cJSON_IsString(nt) || !*nt->valuestring;
			if (!last && token && !strcmp(token, nt->valuestring) && !rc)
				rc = ctx_err(ctx, CS_ERROR, "jira search: the same nextPageToken twice");
			if (!last && !n && !rc)
				rc = ctx_err(ctx, CS_ERROR, "jira search: an empty page before the last");
			free(token);
			token = NULL;
			if (!last && !rc && !(token = strdup(nt->valuestring)))
				rc = ctx_err_oom(ctx);
		}
		cJSON_Delete(doc);
		if (last)
			break;
	}
	free(token);
	return rc;
}
