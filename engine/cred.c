/* Credentials for a remote: libgit2's credential callback, answered from
 * init's arguments or the coordsync.remote.* settings, and the checks on a
 * remote URL that keep a secret out of messages and off plain http. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ctx.h"
#include "secret.h"
#include "cred.h"

/* ---- credentials ---------------------------------------------------------- */

/* libgit2 calls the credential callback again after every refusal (with an
 * ssh agent, without end): a handle gets this many tries, and after that
 * sends none at all, so that the steps of a run cycle do not hammer a
 * server (and its lockout rules) with a password it refused. */
#define CRED_TRIES 3

int cred_url_origin(const char *url, char *out, size_t len)
{
	secret_url u;

	if (secret_url_parse(&u, url)) {
		snprintf(out, len, "(an invalid URL)");
		return 1;              /* no token goes to it */
	}
	if (u.form == SECRET_URL_LOCAL) {
		snprintf(out, len, "%.*s", (int)u.path.n, u.path.p ? u.path.p : "");
		return 0;
	}
	if (u.form == SECRET_URL_SCP) {
		snprintf(out, len, "%.*s", (int)u.host.n, u.host.p);
		return 0;
	}
	snprintf(out, len, "%.*s://%.*s%s%.*s", (int)u.scheme.n, u.scheme.p, (int)u.host.n, u.host.p,
		 u.port.p ? ":" : "", (int)u.port.n, u.port.p ? u.port.p : "");
	return u.scheme.n == 4 && !strncasecmp(u.scheme.p, "http", 4) &&
	       !secret_host_loopback(u.host.p, u.host.n);
}

int cred_url_has_password(const char *url)
{
	secret_url u;
	return !secret_url_parse(&u, url) && u.form == SECRET_URL_SCHEME && u.password;
}

/* The value given to init, else the setting key; malloc'd or NULL. */
static char *cred_setting(cred_state *cs, const char *given, const char *key)
{
	return given ? strdup(given) : cs_config_get(cs->ctx, key);
}
#define CRED_SETTING(cs, member, key) \
	cred_setting((cs), (cs)->auth ? (cs)->auth->member : NULL, (key))

/* Fail a credential request: ctx's message becomes libgit2's error, which
 * the fetch, push or clone then reports. */
static int cred_fail(cs_ctx *ctx)
{
	git_error_set_str(GIT_ERROR_CALLBACK, ctx->err);
	return GIT_EUSER;
}

/* User and token for an http(s) remote at origin.  The token is wiped as
 * soon as libgit2 has its copy (which it wipes when freeing it). */
static int cred_token(cred_state *cs, git_credential **out, const char *user,
		      const char *origin, int plain)
{
	cs_ctx *ctx = cs->ctx;
	char *file = CRED_SETTING(cs, token_file, "remote.tokenfile"), *token = NULL;
	int rc;

	if (!file)
		rc = ctx_err(ctx, CS_EINVAL, "'%s' asks for a password: put the token in a file of mode"
			    " 0600 and name it in coordsync.remote.tokenfile", origin);
	else if (plain)
		rc = ctx_err(ctx, CS_EINVAL, "refusing to send the token of '%s' over plain http to"
			    " '%s': use https", file, origin);
	else
		rc = secret_token_read(ctx, file, &token);
	free(file);
	if (rc)
		return cred_fail(ctx);
	rc = git_credential_userpass_plaintext_new(out, user, token);
	explicit_bzero(token, strlen(token));
	free(token);
	return rc;
}

/* The key of coordsync.remote.sshkey (mode 0600, without a passphrase) or,
 * when none is set, the keys of ssh-agent. */
static int cred_ssh(cred_state *cs, git_credential **out, const char *user)
{
	char *key = CRED_SETTING(cs, ssh_key, "remote.sshkey");
	int rc;

	if (!key)
		return git_credential_ssh_key_from_agent(out, user);
	if (secret_check(cs->ctx, "ssh key", key))
		rc = cred_fail(cs->ctx);
	else
		rc = git_credential_ssh_key_new(out, user, NULL, key, NULL);
	free(key);
	return rc;
}

int cred_cb(git_credential **out, const char *url, const char *url_user,
	    unsigned int allowed, void *payload)
{
	cred_state *cs = payload;
	cs_ctx *ctx = cs->ctx;
	char origin[256], *user;
	int plain = cred_url_origin(url, origin, sizeof origin), rc;

	user = url_user && *url_user ? strdup(url_user) : CRED_SETTING(cs, user, "remote.user");
	if (!user && !(user = strdup("git"))) {
		ctx_err_oom(ctx);
		return cred_fail(ctx);
	}
	/* ssh asks for the user name first when the URL has none: no try. */
	if (allowed == GIT_CREDENTIAL_USERNAME) {
		rc = git_credential_username_new(out, user);
		free(user);
		return rc;
	}
	if (ctx->cred_refused || ++cs->tries > CRED_TRIES) {
		ctx->cred_refused = 1;
		if (allowed & GIT_CREDENTIAL_SSH_KEY)
			ctx_err(ctx, CS_ERROR, "'%s' refused the ssh key %d times; giving up (check"
			       " coordsync.remote.sshkey, or the keys in ssh-agent)", origin, CRED_TRIES);
		else
			ctx_err(ctx, CS_ERROR, "'%s' refused the credentials %d times; giving up (check"
			       " coordsync.remote.user and the token in coordsync.remote.tokenfile)",
			       origin, CRED_TRIES);
		free(user);
		return cred_fail(ctx);
	}
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		rc = cred_ssh(cs, out, user);
	else if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)
		rc = cred_token(cs, out, user, origin, plain);
	else
		rc = GIT_PASSTHROUGH;
	free(user);
	return rc;
}
