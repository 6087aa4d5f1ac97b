/* The program's side of the engine's CA-certificate hook (coordsync/tls.h):
 * mbedTLS's certificate parsing interposed, so that libgit2's set-up only
 * notes where the CA certificates are. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include "coordsync/coordsync.h"
#include "tls.h"

/* Debian's libgit2 is built with mbedTLS and parses the whole system CA
 * bundle in git_libgit2_init: about 10 ms, 41% of a claim on a local remote,
 * which never speaks TLS.  It reads the bundle through mbedTLS's
 * mbedtls_x509_crt_parse_file (_parse_path for a directory), and this
 * program defines both, so libgit2's call lands here first.  Inside the
 * engine's git_libgit2_init (the hook's setup) they only note the location;
 * the engine's transport_tls_ready asks for it (the hook's ca_locations) and hands
 * it back to libgit2 (GIT_OPT_SET_SSL_CERT_LOCATIONS, which parses through
 * mbedTLS itself) before the first clone, fetch or push over http:// or
 * https://.  Until then libgit2's CA chain is empty, so a TLS connection
 * that got past transport_tls_ready would fail verification, never skip it.  A
 * libgit2 built with OpenSSL never calls these; other callers reach mbedTLS
 * unchanged. */
struct mbedtls_x509_crt;
int mbedtls_x509_crt_parse_file(struct mbedtls_x509_crt *chain, const char *path);
int mbedtls_x509_crt_parse_path(struct mbedtls_x509_crt *chain, const char *path);

static int tls_noting;            /* inside the engine's git_libgit2_init */
static char *tls_file, *tls_dir;  /* what libgit2's set-up asked for */

static int crt_parse(const char *fn, struct mbedtls_x509_crt *chain, const char *path,
		     char **note)
{
	int (*real)(struct mbedtls_x509_crt *, const char *);
	void *sym;

	if (tls_noting) {
		free(*note);
		*note = strdup(path);   /* NULL: no CA at all, so TLS fails closed */
		return 0;
	}
	if (!(sym = dlsym(RTLD_NEXT, fn)))
		return -0x2900;         /* MBEDTLS_ERR_X509_FILE_IO_ERROR */
	memcpy(&real, &sym, sizeof sym);
	return real(chain, path);
}

int mbedtls_x509_crt_parse_file(struct mbedtls_x509_crt *chain, const char *path)
{
	return crt_parse("mbedtls_x509_crt_parse_file", chain, path, &tls_file);
}

int mbedtls_x509_crt_parse_path(struct mbedtls_x509_crt *chain, const char *path)
{
	return crt_parse("mbedtls_x509_crt_parse_path", chain, path, &tls_dir);
}

static void tls_setup(int entering, void *arg)
{
	(void)arg;
	tls_noting = entering;
}

static void tls_ca_locations(const char **file, const char **dir, void *arg)
{
	(void)arg;
	*file = tls_file;
	*dir = tls_dir;
}

void cli_tls_register(void)
{
	static const cs_tls_hook hook = {tls_setup, tls_ca_locations, NULL};
	cs_tls_hook_set(&hook);
}
