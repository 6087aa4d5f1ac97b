/* Secrets: the files that hold them (a token, an ssh key), which must be
 * this user's alone, and the hosts a secret may go to over plain http. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ctx.h"
#include "secret.h"

#define TOKEN_MAX 4096

/* ---- secret files ------------------------------------------------------- */

int secret_host_loopback(const char *host, size_t n)
{
	if (n == 9 && !strncasecmp(host, "localhost", 9))
		return 1;
	if (n == 5 && !strncmp(host, "[::1]", 5))
		return 1;
	if (n < 5 || strncmp(host, "127.", 4))
		return 0;
	for (size_t i = 4; i < n; i++)     /* 127.0.0.1, not 127.example.com */
		if (!strchr("0123456789.", host[i]) || !host[i])
			return 0;
	return 1;
}

/* Check that fd, opened from path, is a regular file owned by this user
 * with no permissions for group or others.  what names the kind of file in
 * the message ("token file"). */
static int secret_fd_check(cs_ctx *ctx, int fd, const char *what, const char *path)
{
	struct stat sb;

	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode))
		return ctx_err(ctx, CS_EINVAL, "%s '%s' is not a regular file", what, path);
	if (sb.st_uid != geteuid())
		return ctx_err(ctx, CS_EINVAL, "%s '%s' is owned by uid %u, not by this user (uid %u)",
			      what, path, (unsigned)sb.st_uid, (unsigned)geteuid());
	if (sb.st_mode & 077)
		return ctx_err(ctx, CS_EINVAL, "%s '%s' has mode %04o: it must be 0600 (chmod 600)",
			      what, path, (unsigned)(sb.st_mode & 07777));
	return CS_OK;
}

int secret_check(cs_ctx *ctx, const char *what, const char *path)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return ctx_err(ctx, CS_EINVAL, "cannot read %s '%s': %s", what, path, strerror(errno));
	rc = secret_fd_check(ctx, fd, what, path);
	close(fd);
	return rc;
}

/* Read a token (the alert's bearer token, an http(s) remote's password): a
 * file that passes secret_fd_check, holding one line of printable ASCII.
 * Messages name the file, never its content.  *out is wiped and freed by
 * the caller. */
int secret_token_read(cs_ctx *ctx, const char *path, char **out)
{
	char buf[TOKEN_MAX + 2];
	size_t len = 0, start = 0;
	int fd, rc = CS_OK;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return ctx_err(ctx, CS_EINVAL, "cannot read token file '%s': %s", path, strerror(errno));
	if ((rc = secret_fd_check(ctx, fd, "token file", path)))
		goto done;
	while (len < sizeof buf - 1) {
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ctx_err(ctx, CS_EINVAL, "cannot read token file '%s': %s", path,
				    strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > TOKEN_MAX) {
		rc = ctx_err(ctx, CS_EINVAL, "token file '%s' is over %d bytes", path, TOKEN_MAX);
		goto done;
	}
	while (len && strchr(" \t\r\n", buf[len - 1]))
		len--;
	while (start < len && strchr(" \t\r\n", buf[start]))
		start++;
	buf[len] = 0;
	for (size_t i = start; i < len; i++)
		if (buf[i] < 0x21 || buf[i] > 0x7e) {
			rc = ctx_err(ctx, CS_EINVAL, "token file '%s' must hold one token of printable ASCII",
				    path);
			goto done;
		}
	if (start == len)
		rc = ctx_err(ctx, CS_EINVAL, "token file '%s' is empty", path);
	else if (!(*out = strdup(buf + start)))
		rc = ctx_err_oom(ctx);
done:
	explicit_bzero(buf, sizeof buf);
	close(fd);
	return rc;
}

/* ---- the URL parser ------------------------------------------------------ */

static int scheme_char(char ch, int first)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
		return 1;
	return !first && ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.');
}

/* Split the n bytes of s, "[user[:password]@]host[:port]", into u; the
 * user info ends at its last '@'.  scp: no port (the ':' ends the host
 * before we get here).  Returns 0 or -1. */
static int authority(secret_url *u, const char *s, size_t n, int scp)
{
	const char *at = NULL, *host, *end = s + n, *hend;

	for (const char *q = s; q < end; q++) {
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return -1;
		if (*q == '@')
			at = q;
	}
	host = s;
	if (at) {
		const char *colon = memchr(s, ':', (size_t)(at - s));
		u->user.p = s;
		u->user.n = (size_t)((colon ? colon : at) - s);
		u->password = colon != NULL;
		host = at + 1;
	}
	if (host < end && *host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));
		if (!close || close == host + 1 || !memchr(host, ':', (size_t)(close - host)))
			return -1;
		for (const char *q = host + 1; q < close; q++)
			if (!strchr("0123456789abcdefABCDEF:.%-_", *q) &&
			    !((*q >= 'g' && *q <= 'z') || (*q >= 'G' && *q <= 'Z')))
				return -1;
		hend = close + 1;
		if (hend < end && (scp || *hend != ':'))
			return -1;
	} else {
		hend = scp ? end : host + strcspn(host, ":");
		if (hend > end)
			hend = end;
		if (memchr(host, '[', (size_t)(hend - host)) || memchr(host, ']', (size_t)(hend - host)))
			return -1;
	}
	if (hend == host)
		return -1;
	u->host.p = host;
	u->host.n = (size_t)(hend - host);
	if (hend < end) {            /* ":port", maybe empty (RFC 3986) */
		const char *d = hend + 1;
		long v = 0;
		if (memchr(d, ':', (size_t)(end - d)))
			return -1;
		for (const char *q = d; q < end; q++) {
			if (*q < '0' || *q > '9' || (v = v * 10 + (*q - '0')) > 65535)
				return -1;
		}
		if (d < end) {
			u->port.p = d;
			u->port.n = (size_t)(end - d);
		}
	}
	return 0;
}

int secret_url_parse(secret_url *out, const char *url)
{
	static const secret_url zero;
	const char *sep, *colon, *slash, *rest;
	size_t n;

	*out = zero;
	if (!url || !*url)
		return -1;
	if ((sep = strstr(url, "://"))) {
		for (const char *q = url; q < sep; q++)
			if (!scheme_char(*q, q == url))
				goto bad;
		if (sep == url)
			goto bad;
		out->scheme.p = url;
		out->scheme.n = (size_t)(sep - url);
		rest = sep + 3;
		if (out->scheme.n == 4 && !strncmp(url, "file", 4)) {   /* as libgit2: lower case */
			out->form = SECRET_URL_LOCAL;
			out->path.p = rest;
			out->path.n = strlen(rest);
			return 0;
		}
		out->form = SECRET_URL_SCHEME;
		n = strcspn(rest, "/?#");
		if (authority(out, rest, n, 0))
			goto bad;
		out->path.p = rest + n;
		out->path.n = strlen(rest + n);
		return 0;
	}
	colon = strchr(url, ':');
	slash = strchr(url, '/');
	if (colon && (!slash || colon < slash)) {
		/* scp-like: the host ends at the first ':' outside brackets. */
		const char *at = NULL, *h;
		for (const char *q = url; q < colon; q++)
			if (*q == '@')
				at = q;
		h = at ? at + 1 : url;
		if (*h == '[') {
			const char *close = strchr(h, ']');
			if (!close || close[1] != ':')
				goto bad;
			colon = close + 1;
		}
		out->form = SECRET_URL_SCP;
		if (authority(out, url, (size_t)(colon - url), 1))
			goto bad;
		out->path.p = colon + 1;
		out->path.n = strlen(colon + 1);
		return 0;
	}
	out->form = SECRET_URL_LOCAL;
	out->path.p = url;
	out->path.n = strlen(url);
	return 0;
bad:
	*out = zero;
	return -1;
}
