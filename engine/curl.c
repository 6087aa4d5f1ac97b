/* libcurl, opened on demand: its function table, and the options every
 * transfer holds to (curl.h). */
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>
#include "curl.h"

struct curl_fns curl_fn;

int curl_open(cs_ctx *ctx, const char *who)
{
	static const struct { const char *name; size_t off; } fns[] = {
#define FN(f) {"curl_" #f, offsetof(struct curl_fns, f)}
		FN(global_init), FN(global_cleanup), FN(slist_append), FN(slist_free_all),
		FN(easy_init), FN(easy_setopt), FN(easy_perform), FN(easy_getinfo),
		FN(easy_strerror), FN(easy_cleanup),
#undef FN
	};

	if (!curl_fn.lib) {
		void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
		if (!lib)
			return ctx_err(ctx, CS_ERROR, "%s libcurl (libcurl.so.4): %s", who, dlerror());
		for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
			void *f = dlsym(lib, fns[i].name);
			if (!f) {
				dlclose(lib);
				return ctx_err(ctx, CS_ERROR, "libcurl.so.4 lacks %s", fns[i].name);
			}
			memcpy((char *)&curl_fn + fns[i].off, &f, sizeof f);
		}
		curl_fn.lib = lib;
	}
	if (curl_fn.global_init(CURL_GLOBAL_DEFAULT))
		return ctx_err(ctx, CS_ERROR, "cannot start libcurl");
	return CS_OK;
}

void curl_close(void)
{
	curl_fn.global_cleanup();
}

int curl_secure(CURL *c, long conn_ms, long total_ms)
{
	return curl_fn.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) ||
#if LIBCURL_VERSION_NUM >= 0x075500
	       curl_fn.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") ||
	       curl_fn.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") ||
#else
	       curl_fn.easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) ||
	       curl_fn.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS,
				   (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) ||
#endif
	       curl_fn.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) ||
	       curl_fn.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) ||
	       curl_fn.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, conn_ms) ||
	       curl_fn.easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms) ||
	       curl_fn.easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
	       curl_fn.easy_setopt(c, CURLOPT_USERAGENT, "coordsync/0.1.0");
}
