/* Settings: one place per clone (its git config, under coordsync.*), which
 * environment variables override; command-line flags override both. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ctx.h"
#include "util.h"
#include "db.h"
#include "secret.h"
#include "config.h"

/* What a setting's text must be.  Numbers are parsed strictly: a value
 * that is not of its form is an error naming the key, the value and the
 * form, never replaced by the default. */
enum {
	K_TEXT,      /* any text */
	K_COUNT,     /* a whole number in [min, max] */
	K_SECONDS,   /* a duration (cs_duration_parse): bare number = seconds */
	K_UNITS,     /* a duration with its unit (30d): a bare number other than 0
		      * is refused, since it meant days once (compact.olderthan) */
	K_BOOL,      /* true/false, yes/no, on/off, 1/0 */
	K_MILLIS,    /* milliseconds: a bare number, "250ms", or a duration (2s) */
	K_URL        /* text; an embedded password is masked when shown */
};

typedef struct setting {
	const char *key;      /* coordsync.KEY in git config */
	const char *env;      /* overriding environment variable, or NULL */
	const char *dflt;     /* NULL: unset */
	int kind;             /* K_* */
	long long min, max;   /* K_COUNT, K_SECONDS, K_UNITS: the range allowed */
	const char *help;
} setting;

#define DAY 86400LL
#define YEAR (366 * DAY)

static const setting settings[] = {
	{"server", "COORDSYNC_SERVER", NULL, K_TEXT, 0, 0, "this server's id"},
	{"branch", NULL, "main", K_TEXT, 0, 0, "the remote branch coordinated on"},
	{"remote.user", "COORDSYNC_REMOTE_USER", NULL, K_TEXT, 0, 0,
	 "user name for an http(s) or ssh remote"},
	{"remote.tokenfile", "COORDSYNC_REMOTE_TOKEN_FILE", NULL, K_TEXT, 0, 0,
	 "file holding the http(s) remote's token or password (mode 0600)"},
	{"remote.sshkey", "COORDSYNC_REMOTE_SSH_KEY", NULL, K_TEXT, 0, 0,
	 "private key for an ssh remote (mode 0600); unset: ssh-agent"},
	{"lockdelay", "COORDSYNC_LOCKDELAY", "5", K_SECONDS, 0, DAY,
	 "seconds another server's expired lock stays taken"},
	{"retries", "COORDSYNC_RETRIES", "60", K_COUNT, 1, 1000,
	 "attempts of a decision whose push is refused"},
	{"retry.base", "COORDSYNC_RETRY_BASE", "10", K_MILLIS, 1, 60000,
	 "back-off step after a refused push (ms): the wait window grows by it per retry"},
	{"retry.cap", "COORDSYNC_RETRY_CAP", "500", K_MILLIS, 1, 600000,
	 "largest back-off window after a refused push (ms)"},
	{"stalelock", "COORDSYNC_STALELOCK", "30", K_SECONDS, 0, YEAR,
	 "age (s) at which a ref lock on a local remote that no process has open is removed; 0 never"},
	{"maxfilesize", "COORDSYNC_MAXFILESIZE", "67108864", K_COUNT, 1, (long long)1 << 40,
	 "largest coordination file read (bytes)"},
	{"interval.building", "COORDSYNC_INTERVAL_BUILDING", "30", K_SECONDS, 1, DAY,
	 "daemon cycle while building (s)"},
	{"interval.pending", "COORDSYNC_INTERVAL_PENDING", "60", K_SECONDS, 1, DAY,
	 "daemon cycle while jobs are queued (s)"},
	{"interval.idle", "COORDSYNC_INTERVAL_IDLE", "300", K_SECONDS, 1, DAY,
	 "daemon cycle when idle (s)"},
	{"rescue.olderthan", "COORDSYNC_RESCUE", "0", K_SECONDS, 0, YEAR,
	 "run: rescue jobs of servers silent this long (s); 0 off"},
	{"autoreply", "COORDSYNC_AUTOREPLY", "true", K_BOOL, 0, 1,
	 "run: apply docs/auto_reply_rules.json"},
	{"health.alert", "COORDSYNC_ALERT_URL", NULL, K_URL, 0, 0, "run: post health alerts to this URL"},
	{"health.tokenfile", "COORDSYNC_TOKEN_FILE", NULL, K_TEXT, 0, 0,
	 "bearer token file for alerts (mode 0600)"},
	{"health.maxage", NULL, "300", K_SECONDS, 1, YEAR, "heartbeat age that counts as stale (s)"},
	{"health.stuck", NULL, "3600", K_SECONDS, 1, YEAR, "run time that counts as stuck (s)"},
	{"compact.olderthan", "COORDSYNC_COMPACT_DAYS", "0", K_UNITS, 0, 36600 * DAY,
	 "run: archive finished records older than this, with a unit (30d); 0 off"},
	{"logs.keep", NULL, "20", K_COUNT, 1, 1000000, "log files kept per server"},
	{"logs.maxbytes", NULL, "10485760", K_COUNT, 1, (long long)1 << 40,
	 "bytes of logs kept per server"},
	{"logs.maxfile", NULL, "1048576", K_COUNT, 1, (long long)1 << 40,
	 "largest log file accepted (bytes)"},
	{"log.messages", "COORDSYNC_LOG_MESSAGES", NULL, K_TEXT, 0, 0,
	 "message log file (relative: under .git/coordsync/; off: none); unset:"
	 " .git/coordsync/build-messages-SERVER.log"},
	{"log.autoreplies", "COORDSYNC_LOG_AUTOREPLIES", NULL, K_TEXT, 0, 0,
	 "auto-reply log file (as log.messages); unset: .git/coordsync/build-auto-replies-SERVER.log"},
	{"log.rotate.bytes", "COORDSYNC_LOG_ROTATE_BYTES", "1048576", K_COUNT, 1024, (long long)1 << 40,
	 "size (bytes) at which the message and auto-reply logs are rotated"},
	{"log.rotate.keep", "COORDSYNC_LOG_ROTATE_KEEP", "5", K_COUNT, 0, 1000,
	 "rotated message and auto-reply log files kept (FILE.1 newest)"},
	{"queries", "COORDSYNC_QUERIES", NULL, K_TEXT, 0, 0, "directory of user report views"},
	{"query.timeout", "COORDSYNC_QUERY_TIMEOUT", "30", K_SECONDS, 1, DAY,
	 "seconds a query or report may run"},
	{"timeout.connect", "COORDSYNC_TIMEOUT_CONNECT", "10", K_SECONDS, 1, DAY,
	 "bound on connecting to a network remote (s)"},
	{"timeout.stall", "COORDSYNC_TIMEOUT_STALL", "15", K_SECONDS, 1, DAY,
	 "a fetch, push or clone that moves no byte this long fails (s)"},
	{"timeout.total", "COORDSYNC_TIMEOUT_TOTAL", "30", K_SECONDS, 1, DAY,
	 "bound on one fetch, push or clone over the network, and on a signing program (s)"},
	{"verify", "COORDSYNC_VERIFY", "off", K_TEXT, 0, 0,
	 "signatures of fetched commits: off, warn, or require (gpg's keyring,"
	 " gpg.ssh.allowedSignersFile)"},
	{"verify.max", "COORDSYNC_VERIFY_MAX", "1000", K_COUNT, 1, 1000000,
	 "most new commits one sync checks; more is refused under require, a notice under warn"},
	{"jira.url", "COORDSYNC_JIRA_URL", NULL, K_URL, 0, 0,
	 "jira: the site's base URL (https://example.atlassian.net)"},
	{"jira.project", "COORDSYNC_JIRA_PROJECT", NULL, K_TEXT, 0, 0, "jira: the project key"},
	{"jira.board", "COORDSYNC_JIRA_BOARD", NULL, K_TEXT, 0, 0, "jira: the board id (jira plan)"},
	{"jira.tokenfile", "COORDSYNC_JIRA_TOKEN_FILE", NULL, K_TEXT, 0, 0,
	 "jira: file holding the API token (mode 0600)"},
	{"jira.user", "COORDSYNC_JIRA_USER", NULL, K_TEXT, 0, 0,
	 "jira: user (email) for Basic auth on Jira Cloud; unset: the token is a Bearer token"
	 " (Data Center)"},
	{"jira.search", "COORDSYNC_JIRA_SEARCH", NULL, K_TEXT, 0, 0,
	 "jira: search endpoint, jql (/search/jql, nextPageToken) or classic (/search,"
	 " startAt); unset: jql with jira.user, classic without"},
	{"jira.pagesize", "COORDSYNC_JIRA_PAGESIZE", "100", K_COUNT, 1, 1000,
	 "jira: issues asked for per page"},
	{"jira.timeout", "COORDSYNC_JIRA_TIMEOUT", "30", K_SECONDS, 1, 3600,
	 "jira: bound on one request (s)"},
	{"jira.retries", "COORDSYNC_JIRA_RETRIES", "3", K_COUNT, 0, 10,
	 "jira: retries of a request answered 429 or 5xx, or timed out"},
	{"jira.labels", "COORDSYNC_JIRA_LABELS", "vnf,vnf-framework,curated", K_TEXT, 0, 0,
	 "jira curate: labels added, comma-separated"},
	{"jira.epic", "COORDSYNC_JIRA_EPIC", NULL, K_TEXT, 0, 0,
	 "jira curate: the main epic's key, which non-epics are linked to"},
	{NULL, NULL, NULL, 0, 0, 0, NULL}};

int cs_config_describe(int n, const char **key, const char **env, const char **dflt,
		       const char **help)
{
	if (n < 0 || n >= (int)(sizeof settings / sizeof *settings) - 1)
		return CS_ENOTFOUND;
	*key = settings[n].key;
	*env = settings[n].env;
	*dflt = settings[n].dflt;
	*help = settings[n].help;
	return CS_OK;
}

static const setting *find(const char *key)
{
	for (const setting *s = settings; s->key; s++)
		if (!strcmp(s->key, key))
			return s;
	return NULL;
}

/* The value of key and where it came from ("env COORDSYNC_X", "git config",
 * "default", or "unset").  Returns a malloc'd value or NULL when unset. */
static char *lookup_in(cs_ctx *ctx, git_config *snap, const setting *s, char *src, size_t srclen)
{
	git_config *cfg = NULL;
	git_buf buf = {0};
	char name[64];
	char *v = NULL;
	const char *e = s->env ? getenv(s->env) : NULL;

	if (e && *e) {
		snprintf(src, srclen, "env %s", s->env);
		return strdup(e);
	}
	snprintf(name, sizeof name, "coordsync.%s", s->key);
	if (ctx->repo && (snap || !git_repository_config_snapshot(&cfg, ctx->repo)) &&
	    !git_config_get_string_buf(&buf, snap ? snap : cfg, name)) {
		snprintf(src, srclen, "git config %s", name);
		v = strdup(buf.ptr);
	}
	git_buf_dispose(&buf);
	git_config_free(cfg);
	git_error_clear();
	if (v)
		return v;
	snprintf(src, srclen, "%s", s->dflt ? "default" : "unset");
	return s->dflt ? strdup(s->dflt) : NULL;
}

static char *lookup(cs_ctx *ctx, const setting *s, char *src, size_t srclen)
{
	return lookup_in(ctx, NULL, s, src, srclen);
}

char *cs_config_get(cs_ctx *ctx, const char *key)
{
	char src[128];
	const setting *s = find(key);
	return s ? lookup(ctx, s, src, sizeof src) : NULL;
}

/* The form a value of s must have, for messages. */
static void expected(const setting *s, char *out, size_t len)
{
	switch (s->kind) {
	case K_COUNT:
		snprintf(out, len, "a whole number from %lld to %lld", s->min, s->max);
		break;
	case K_SECONDS:
		snprintf(out, len, "a duration from %lld to %lld seconds: a number of seconds, or"
			 " with a unit (30s, 15m, 2h, 7d)", s->min, s->max);
		break;
	case K_UNITS:
		snprintf(out, len, "a duration with a unit, up to %lld days (30d, 12h, 2w), or 0; a"
			 " bare number is refused: it was a number of days, write 30d", s->max / DAY);
		break;
	case K_MILLIS:
		snprintf(out, len, "a duration from %lld to %lld milliseconds: a number of"
			 " milliseconds, or with a unit (250ms, 2s, 1m)", s->min, s->max);
		break;
	case K_BOOL:
		snprintf(out, len, "true or false (yes/no, on/off, 1/0)");
		break;
	default:
		snprintf(out, len, "text");
	}
}

/* v parsed as s->kind into *out; -1 when it is not of that form. */
static int parse_value(const setting *s, const char *v, long long *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1", NULL};
	static const char *const no[] = {"false", "no", "off", "0", NULL};
	long long n = 0;

	if (!v)
		return -1;
	switch (s->kind) {
	case K_COUNT:
		if (!*v || v[strspn(v, "0123456789")] || strlen(v) > 18)
			return -1;
		n = strtoll(v, NULL, 10);
		break;
	case K_SECONDS:
		if (cs_duration_parse(v, &n))
			return -1;
		break;
	case K_UNITS:
		if (*v && !v[strspn(v, "0123456789")] && v[strspn(v, "0")])
			return -1;                       /* a bare number, once days */
		if (cs_duration_parse(v, &n))
			return -1;
		break;
	case K_MILLIS: {
		size_t d = strspn(v, "0123456789");
		if (d && d <= 9 && (!v[d] || !strcmp(v + d, "ms")))
			n = strtoll(v, NULL, 10);          /* bare, or "ms" */
		else if (cs_duration_parse(v, &n) || n > s->max / 1000)
			return -1;
		else
			n *= 1000;
		break;
	}
	case K_BOOL:
		for (int i = 0; yes[i]; i++)
			if (!strcasecmp(v, yes[i]))
				return *out = 1, 0;
		for (int i = 0; no[i]; i++)
			if (!strcasecmp(v, no[i]))
				return *out = 0, 0;
		return -1;
	default:
		return -1;
	}
	if (n < s->min || n > s->max)
		return -1;
	*out = n;
	return 0;
}

/* cs_config_int, reading git config from snap (NULL: a snapshot of its own). */
static int config_int(cs_ctx *ctx, git_config *snap, const char *key, long long *out)
{
	char src[128], form[160];
	const setting *s = find(key);
	char *v;
	int rc = CS_OK;

	if (!s || s->kind == K_TEXT || s->kind == K_URL)
		return ctx_err(ctx, CS_ERROR, "internal: 'coordsync.%s' is not a number setting", key);
	v = lookup_in(ctx, snap, s, src, sizeof src);
	if (parse_value(s, v, out)) {
		expected(s, form, sizeof form);
		rc = ctx_err(ctx, CS_EINVAL, "invalid setting coordsync.%s '%s' (from %s): expected %s",
			    key, v ? v : "", src, form);
	}
	free(v);
	return rc;
}

int cs_config_int(cs_ctx *ctx, const char *key, long long *out)
{
	return config_int(ctx, NULL, key, out);
}

long long cs_config_num(cs_ctx *ctx, const char *key, long long dflt)
{
	long long n;
	char saved[sizeof ctx->err];
	memcpy(saved, ctx->err, sizeof saved);
	if (cs_config_int(ctx, key, &n)) {
		memcpy(ctx->err, saved, sizeof saved);
		return dflt;
	}
	return n;
}

/* Every number setting parses (all), or all but the K_UNITS ones: those
 * are left to the code that reads them (config_check_open). */
static int config_check(cs_ctx *ctx, int all)
{
	git_config *snap = NULL;
	long long n;
	int rc = CS_OK;
	/* One snapshot for all: every command runs this. */
	if (ctx->repo && git_repository_config_snapshot(&snap, ctx->repo))
		git_error_clear();
	for (const setting *s = settings; s->key && !rc; s++)
		if (s->kind != K_TEXT && s->kind != K_URL && (all || s->kind != K_UNITS))
			rc = config_int(ctx, snap, s->key, &n);
	git_config_free(snap);
	return rc;
}

int cs_config_check(cs_ctx *ctx)
{
	return config_check(ctx, 1);
}

int config_check_open(cs_ctx *ctx)
{
	return config_check(ctx, 0);
}

/* url with the password of its user info ("scheme://user:PASSWORD@host")
 * replaced by "***"; one secret_url_parse refuses is not shown at all (it
 * may hold a password the parser cannot find); malloc'd. */
static char *mask_url(const char *url)
{
	secret_url u;
	sbuf b = {0};
	if (secret_url_parse(&u, url))
		return strdup("(an invalid URL)");
	if (u.form != SECRET_URL_SCHEME || !u.password)
		return strdup(url);
	/* the user, its ':', then from the '@' that ends the user info */
	sb_put(&b, url, (size_t)(u.user.p + u.user.n + 1 - url));
	sb_puts(&b, "***");
	sb_puts(&b, u.host.p - 1);
	return sb_detach(&b);
}

/* The text `config` shows for v: a number setting as the number in use
 * (seconds, days, bytes; 0/1 for a flag), "(invalid)" for one that does not
 * parse, a URL without its password. */
static char *shown(const setting *s, char *v, int *bad)
{
	long long n;
	char num[32];
	*bad = 0;
	if (!v)
		return NULL;
	if (s->kind == K_URL) {
		char *m = mask_url(v);
		explicit_bzero(v, strlen(v));
		free(v);
		return m;
	}
	if (s->kind == K_TEXT)
		return v;
	if (parse_value(s, v, &n)) {
		*bad = 1;
		return v;
	}
	free(v);
	if (s->kind == K_BOOL)
		return strdup(n ? "true" : "false");
	snprintf(num, sizeof num, "%lld", n);
	return strdup(num);
}

int config_view(cs_ctx *ctx)
{
	sqlite3_stmt *ins = NULL;
	int rc;
	/* A temp table so the one formatter renders it like any query. */
	if ((rc = db_exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS config_view(key TEXT, value TEXT,"
			       " source TEXT, help TEXT); DELETE FROM temp.config_view")) ||
	    (rc = db_prepare(ctx, &ins, "INSERT INTO temp.config_view VALUES(:k, :v, :s, :h)")))
		return rc;
	for (const setting *s = settings; s->key && !rc; s++) {
		char src[160], key[64];
		int bad;
		char *v = lookup(ctx, s, src, sizeof src);
		if (!strcmp(s->key, "server") && ctx->server && (!v || strcmp(v, ctx->server))) {
			free(v);
			v = strdup(ctx->server);
			snprintf(src, sizeof src, "--server");
		}
		v = shown(s, v, &bad);
		if (bad)
			snprintf(src + strlen(src), sizeof src - strlen(src), " (invalid)");
		snprintf(key, sizeof key, "coordsync.%s", s->key);
		sqlite3_reset(ins);
		if (!(rc = db_bind_text(ctx, ins, ":k", key)) && !(rc = db_bind_text(ctx, ins, ":v", v)) &&
		    !(rc = db_bind_text(ctx, ins, ":s", src)) && !(rc = db_bind_text(ctx, ins, ":h", s->help)))
			rc = db_step(ctx, ins) == SQLITE_DONE ? CS_OK : CS_ERROR;
		free(v);
	}
	sqlite3_finalize(ins);
	return rc;
}
