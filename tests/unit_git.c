/* Unit tests for the remote URL checks of the credential code (cred.c):
 * the origin put in messages, and when a token would go over plain http. */
#include "cred.h"
#include "test.h"

static void test_origin(void)
{
	static const struct {
		const char *url, *origin;
		int plain;
	} cases[] = {
		{"http://127.0.0.1:8080/git/r.git", "http://127.0.0.1:8080", 0},
		{"http://alice:s3cret@git.example.com/r.git", "http://git.example.com", 1},
		{"http://alice@git.example.com:8080/r.git", "http://git.example.com:8080", 1},
		{"https://git.example.com/fleet/coord.git", "https://git.example.com", 0},
		{"https://u:p@[2001:db8::1]:443/r", "https://[2001:db8::1]:443", 0},
		{"HTTP://LocalHost/r", "HTTP://LocalHost", 0},
		{"http://localhost.example.com/r", "http://localhost.example.com", 1},
		{"http://[::1]:80/r", "http://[::1]:80", 0},
		{"http://[2001:db8::1]/r", "http://[2001:db8::1]", 1},
		{"http://127.1.2.3/r", "http://127.1.2.3", 0},
		{"http://127.example.com/r", "http://127.example.com", 1},
		{"http://10.0.0.1?x=@y", "http://10.0.0.1", 1},
		{"ssh://git@git.example.com:2222/srv/coord.git", "ssh://git.example.com:2222", 0},
		{"git@git.example.com:fleet/coord.git", "git.example.com", 0},
		{"git://127.0.0.1:9418/r.git", "git://127.0.0.1:9418", 0},
	};
	char out[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int plain = gx_url_origin(cases[i].url, out, sizeof out);
		CHECK_STR(out, cases[i].origin);
		CHECK(plain == cases[i].plain);
		CHECK(!strstr(out, "s3cret") && !strchr(out, '@'));
	}
	/* A short buffer is cut, never overrun. */
	gx_url_origin("https://git.example.com/r", out, 9);
	CHECK_STR(out, "https://");
}

int main(void)
{
	test_origin();
	return t_done();
}
