/* Unit tests of secret.c: the one URL parser (every form a remote or the
 * alert URL takes, and malformed ones), and the checks of a token file. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ctx.h"
#include "secret.h"
#include "test.h"

/* A part as a string: "-" for a part the URL does not have. */
static const char *part(secret_span s, char *buf, size_t n)
{
	if (!s.p)
		return "-";
	snprintf(buf, n, "%.*s", (int)s.n, s.p);
	return buf;
}

static void test_urls(void)
{
	static const struct {
		const char *url;
		int form;         /* 0: refused */
		const char *scheme, *user;
		int password;
		const char *host, *port, *path;
	} cases[] = {
		/* scheme://, with user info, ports and paths */
		{"https://git.example.com/fleet/coord.git", SECRET_URL_SCHEME, "https", "-", 0,
		 "git.example.com", "-", "/fleet/coord.git"},
		{"http://alice:s3cret@git.example.com/r.git", SECRET_URL_SCHEME, "http", "alice", 1,
		 "git.example.com", "-", "/r.git"},
		{"http://alice@git.example.com:8080/r.git", SECRET_URL_SCHEME, "http", "alice", 0,
		 "git.example.com", "8080", "/r.git"},
		{"https://u:p:q@h/r", SECRET_URL_SCHEME, "https", "u", 1, "h", "-", "/r"},
		{"https://a@b@h/r", SECRET_URL_SCHEME, "https", "a@b", 0, "h", "-", "/r"},
		{"https://:tok@h/r", SECRET_URL_SCHEME, "https", "", 1, "h", "-", "/r"},
		{"http://@h/r", SECRET_URL_SCHEME, "http", "", 0, "h", "-", "/r"},
		{"HTTP://LocalHost/r", SECRET_URL_SCHEME, "HTTP", "-", 0, "LocalHost", "-", "/r"},
		{"http://10.0.0.1?x=@y", SECRET_URL_SCHEME, "http", "-", 0, "10.0.0.1", "-", "?x=@y"},
		{"http://h#frag@x", SECRET_URL_SCHEME, "http", "-", 0, "h", "-", "#frag@x"},
		{"http://h:/r", SECRET_URL_SCHEME, "http", "-", 0, "h", "-", "/r"},
		{"http://h:65535", SECRET_URL_SCHEME, "http", "-", 0, "h", "65535", ""},
		{"ssh://git@git.example.com:2222/srv/coord.git", SECRET_URL_SCHEME, "ssh", "git", 0,
		 "git.example.com", "2222", "/srv/coord.git"},
		{"ssh://host", SECRET_URL_SCHEME, "ssh", "-", 0, "host", "-", ""},
		{"git://127.0.0.1:9418/r.git", SECRET_URL_SCHEME, "git", "-", 0, "127.0.0.1", "9418",
		 "/r.git"},
		{"git+ssh://h/r", SECRET_URL_SCHEME, "git+ssh", "-", 0, "h", "-", "/r"},
		/* IPv6 literals keep their brackets */
		{"https://u:p@[2001:db8::1]:443/r", SECRET_URL_SCHEME, "https", "u", 1,
		 "[2001:db8::1]", "443", "/r"},
		{"http://[::1]/r", SECRET_URL_SCHEME, "http", "-", 0, "[::1]", "-", "/r"},
		{"http://[fe80::1%25eth0]:80/", SECRET_URL_SCHEME, "http", "-", 0,
		 "[fe80::1%25eth0]", "80", "/"},
		{"ssh://git@[::1]:22/r", SECRET_URL_SCHEME, "ssh", "git", 0, "[::1]", "22", "/r"},
		/* scp-like */
		{"git@git.example.com:fleet/coord.git", SECRET_URL_SCP, "-", "git", 0,
		 "git.example.com", "-", "fleet/coord.git"},
		{"host:/srv/r.git", SECRET_URL_SCP, "-", "-", 0, "host", "-", "/srv/r.git"},
		{"host:", SECRET_URL_SCP, "-", "-", 0, "host", "-", ""},
		{"[::1]:r.git", SECRET_URL_SCP, "-", "-", 0, "[::1]", "-", "r.git"},
		{"git@[2001:db8::1]:r.git", SECRET_URL_SCP, "-", "git", 0, "[2001:db8::1]", "-",
		 "r.git"},
		/* local paths */
		{"/srv/coord.git", SECRET_URL_LOCAL, "-", "-", 0, "-", "-", "/srv/coord.git"},
		{"coord.git", SECRET_URL_LOCAL, "-", "-", 0, "-", "-", "coord.git"},
		{"./a:b", SECRET_URL_LOCAL, "-", "-", 0, "-", "-", "./a:b"},
		{"/srv/my repo", SECRET_URL_LOCAL, "-", "-", 0, "-", "-", "/srv/my repo"},
		{"file:///srv/coord.git", SECRET_URL_LOCAL, "file", "-", 0, "-", "-", "/srv/coord.git"},
		{"file://", SECRET_URL_LOCAL, "file", "-", 0, "-", "-", ""},
		/* refused */
		{"", 0, 0, 0, 0, 0, 0, 0},
		{"://h/r", 0, 0, 0, 0, 0, 0, 0},
		{"1http://h/r", 0, 0, 0, 0, 0, 0, 0},
		{"ht tp://h/r", 0, 0, 0, 0, 0, 0, 0},
		{"./a://b", 0, 0, 0, 0, 0, 0, 0},
		{"FILE:///x", 0, 0, 0, 0, 0, 0, 0},   /* a scheme:// without a host */
		{"http:///r", 0, 0, 0, 0, 0, 0, 0},
		{"http://u:p@/r", 0, 0, 0, 0, 0, 0, 0},
		{"http://h:80x/r", 0, 0, 0, 0, 0, 0, 0},
		{"http://h:65536/r", 0, 0, 0, 0, 0, 0, 0},
		{"http://h:1:2/r", 0, 0, 0, 0, 0, 0, 0},
		{"http://[::1/r", 0, 0, 0, 0, 0, 0, 0},
		{"http://[]/r", 0, 0, 0, 0, 0, 0, 0},
		{"http://[1.2.3.4]/r", 0, 0, 0, 0, 0, 0, 0},
		{"http://[::1]x/r", 0, 0, 0, 0, 0, 0, 0},
		{"http://a[b]/r", 0, 0, 0, 0, 0, 0, 0},
		{"http://h h/r", 0, 0, 0, 0, 0, 0, 0},
		{"http://h\n/r", 0, 0, 0, 0, 0, 0, 0},
		{":r.git", 0, 0, 0, 0, 0, 0, 0},
		{"git@:r.git", 0, 0, 0, 0, 0, 0, 0},
		{"[::1:r.git", 0, 0, 0, 0, 0, 0, 0},
		{"[::1]x:r.git", 0, 0, 0, 0, 0, 0, 0},
	};
	char b[256];
	secret_url u;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = secret_url_parse(&u, cases[i].url);
		if (!cases[i].form) {
			if (rc != -1 || u.form || u.host.p)
				fprintf(stderr, "accepted: %s\n", cases[i].url);
			CHECK(rc == -1 && !u.form && !u.host.p);
			continue;
		}
		if (rc || u.form != cases[i].form)
			fprintf(stderr, "for %s\n", cases[i].url);
		CHECK(rc == 0 && u.form == cases[i].form);
		CHECK_STR(part(u.scheme, b, sizeof b), cases[i].scheme);
		CHECK_STR(part(u.user, b, sizeof b), cases[i].user);
		CHECK(u.password == cases[i].password);
		CHECK_STR(part(u.host, b, sizeof b), cases[i].host);
		CHECK_STR(part(u.port, b, sizeof b), cases[i].port);
		CHECK_STR(part(u.path, b, sizeof b), cases[i].path);
	}
	CHECK(secret_url_parse(&u, NULL) == -1);
}

static void test_loopback(void)
{
	CHECK(secret_host_loopback("localhost", 9) && secret_host_loopback("LocalHost", 9));
	CHECK(secret_host_loopback("[::1]", 5) && secret_host_loopback("127.0.0.1", 9));
	CHECK(secret_host_loopback("127.1.2.3", 9));
	CHECK(!secret_host_loopback("127.example.com", 15) && !secret_host_loopback("10.0.0.1", 8));
	CHECK(!secret_host_loopback("localhost.example.com", 21) && !secret_host_loopback("[::2]", 5));
}

/* Write s into dir/name with mode; returns the path (static buffer). */
static const char *put(const char *dir, const char *name, const char *s, mode_t mode)
{
	static char path[512];
	int fd;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s) || fchmod(fd, mode))
		perror(path);
	if (fd >= 0)
		close(fd);
	return path;
}

static void test_tokens(void)
{
	cs_ctx *ctx = calloc(1, sizeof *ctx);
	char tmpl[512], *tok = NULL, big[5000];
	const char *tmp = getenv("TMPDIR"), *p;

	snprintf(tmpl, sizeof tmpl, "%s/unit_secret.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!ctx || !mkdtemp(tmpl)) {
		CHECK(!"a temp dir");
		free(ctx);
		return;
	}
	p = put(tmpl, "ok", "  s3cret-token\n", 0600);
	CHECK(secret_token_read(ctx, p, &tok) == CS_OK);
	CHECK_STR(tok, "s3cret-token");
	free(tok);
	tok = NULL;
	CHECK(secret_check(ctx, "ssh key", p) == CS_OK);
	p = put(tmpl, "ro", "t\n", 0400);
	CHECK(secret_token_read(ctx, p, &tok) == CS_OK && tok && !strcmp(tok, "t"));
	free(tok);
	tok = NULL;
	/* group or others may read it: refused, naming the mode, not the token */
	p = put(tmpl, "open", "s3cret\n", 0644);
	CHECK(secret_token_read(ctx, p, &tok) == CS_EINVAL && !tok);
	CHECK(strstr(ctx->err, "has mode 0644: it must be 0600") && !strstr(ctx->err, "s3cret"));
	CHECK(secret_check(ctx, "ssh key", p) == CS_EINVAL);
	CHECK(strstr(ctx->err, "ssh key '") == ctx->err);
	p = put(tmpl, "group", "s3cret\n", 0640);
	CHECK(secret_token_read(ctx, p, &tok) == CS_EINVAL);
	/* empty, blank, two tokens, control characters, too big */
	p = put(tmpl, "empty", "", 0600);
	CHECK(secret_token_read(ctx, p, &tok) == CS_EINVAL && strstr(ctx->err, "is empty"));
	p = put(tmpl, "blank", " \n\t\n", 0600);
	CHECK(secret_token_read(ctx, p, &tok) == CS_EINVAL && strstr(ctx->err, "is empty"));
	p = put(tmpl, "two", "a b\n", 0600);
	CHECK(secret_token_read(ctx, p, &tok) == CS_EINVAL && strstr(ctx->err, "printable ASCII"));
	CHECK(!strstr(ctx->err, "a b"));
	p = put(tmpl, "ctl", "a\001b\n", 0600);
	CHECK(secret_token_read(ctx, p, &tok) == CS_EINVAL && strstr(ctx->err, "printable ASCII"));
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	p = put(tmpl, "big", big, 0600);
	CHECK(secret_token_read(ctx, p, &tok) == CS_EINVAL && strstr(ctx->err, "is over 4096 bytes"));
	/* not a regular file; not there */
	CHECK(secret_token_read(ctx, tmpl, &tok) == CS_EINVAL && strstr(ctx->err, "not a regular file"));
	CHECK(secret_check(ctx, "ssh key", tmpl) == CS_EINVAL);
	CHECK(strstr(ctx->err, "not a regular file") != NULL);
	snprintf(big, sizeof big, "%s/none", tmpl);
	CHECK(secret_token_read(ctx, big, &tok) == CS_EINVAL && strstr(ctx->err, "cannot read token file"));
	CHECK(secret_check(ctx, "ssh key", big) == CS_EINVAL && strstr(ctx->err, "cannot read ssh key"));
	CHECK(!tok);
	{
		static const char *const names[] = {"ok", "ro", "open", "group", "empty", "blank",
						    "two", "ctl", "big"};
		for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
			snprintf(big, sizeof big, "%s/%s", tmpl, names[i]);
			unlink(big);
		}
		rmdir(tmpl);
	}
	free(ctx);
}

int main(void)
{
	test_urls();
	test_loopback();
	test_tokens();
	return t_done();
}
