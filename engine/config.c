/* Settings: one place per clone (its git config, under coordsync.*), which
 * environment variables override; command-line flags override both. */
#include <stdlib.h>
#include <string.h>
#include "cs_int.h"

typedef struct setting {
	const char *key;      /* coordsync.KEY in git config */
	const char *env;      /* overriding environment variable, or NULL */
	const char *dflt;     /* NULL: unset */
	const char *help;
} setting;

static const setting settings[] = {
	{"server", "COORDSYNC_SERVER", NULL, "this server's id"},
	{"branch", NULL, "main", "the remote branch coordinated on"},
	{"remote.user", "COORDSYNC_REMOTE_USER", NULL, "user name for an http(s) or ssh remote"},
	{"remote.tokenfile", "COORDSYNC_REMOTE_TOKEN_FILE", NULL,
	 "file holding the http(s) remote's token or password (mode 0600)"},
	{"remote.sshkey", "COORDSYNC_REMOTE_SSH_KEY", NULL,
	 "private key for an ssh remote (mode 0600); unset: ssh-agent"},
	{"lockdelay", "COORDSYNC_LOCKDELAY", "5", "seconds another server's expired lock stays taken"},
	{"retries", "COORDSYNC_RETRIES", "60", "attempts of a decision whose push is refused"},
	{"stalelock", "COORDSYNC_STALELOCK", "30", "age (s) at which a ref lock on a local remote that no process has open is removed; 0 never"},
	{"maxfilesize", "COORDSYNC_MAXFILESIZE", "67108864", "largest coordination file read (bytes)"},
	{"interval.building", "COORDSYNC_INTERVAL_BUILDING", "30", "daemon cycle while building (s)"},
	{"interval.pending", "COORDSYNC_INTERVAL_PENDING", "60", "daemon cycle while jobs are queued (s)"},
	{"interval.idle", "COORDSYNC_INTERVAL_IDLE", "300", "daemon cycle when idle (s)"},
	{"rescue.olderthan", "COORDSYNC_RESCUE", "0", "run: rescue jobs of servers silent this long (s); 0 off"},
	{"autoreply", "COORDSYNC_AUTOREPLY", "true", "run: apply docs/auto_reply_rules.json"},
	{"health.alert", "COORDSYNC_ALERT_URL", NULL, "run: post health alerts to this URL"},
	{"health.tokenfile", "COORDSYNC_TOKEN_FILE", NULL, "bearer token file for alerts (mode 0600)"},
	{"health.maxage", NULL, "300", "heartbeat age that counts as stale (s)"},
	{"health.stuck", NULL, "3600", "run time that counts as stuck (s)"},
	{"compact.olderthan", "COORDSYNC_COMPACT_DAYS", "0", "run: archive finished records older than this (days); 0 off"},
	{"logs.keep", NULL, "20", "log files kept per server"},
	{"logs.maxbytes", NULL, "10485760", "bytes of logs kept per server"},
	{"logs.maxfile", NULL, "1048576", "largest log file accepted (bytes)"},
	{"queries", "COORDSYNC_QUERIES", NULL, "directory of user report views"},
	{"query.timeout", "COORDSYNC_QUERY_TIMEOUT", "30", "seconds a query or report may run"},
	{"timeout.connect", "COORDSYNC_TIMEOUT_CONNECT", "10s", "bound on connecting to a network remote"},
	{"timeout.stall", "COORDSYNC_TIMEOUT_STALL", "15s", "a fetch, push or clone that moves no byte this long fails"},
	{"timeout.total", "COORDSYNC_TIMEOUT_TOTAL", "30s", "bound on one fetch, push or clone over the network"},
	{NULL, NULL, NULL, NULL}};

static const setting *find(const char *key)
{
	for (const setting *s = settings; s->key; s++)
		if (!strcmp(s->key, key))
			return s;
	return NULL;
}

/* The value of key and where it came from ("env COORDSYNC_X", "git config",
 * "default", or "unset").  Returns a malloc'd value or NULL when unset. */
static char *lookup(cs_ctx *ctx, const setting *s, char *src, size_t srclen)
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
	if (ctx->repo && !git_repository_config_snapshot(&cfg, ctx->repo) &&
	    !git_config_get_string_buf(&buf, cfg, name)) {
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

char *cs_config_get(cs_ctx *ctx, const char *key)
{
	char src[128];
	const setting *s = find(key);
	return s ? lookup(ctx, s, src, sizeof src) : NULL;
}

long long cs_config_num(cs_ctx *ctx, const char *key, long long dflt)
{
	char *v = cs_config_get(ctx, key), *end = NULL;
	long long n = dflt;
	if (v && *v) {
		long long x = strtoll(v, &end, 10);
		if (end && !*end)
			n = x;
	}
	free(v);
	return n;
}

int cs_config_list(cs_ctx *ctx, cs_rows **out)
{
	sqlite3_stmt *ins = NULL;
	int rc;
	/* A temp table so the one formatter renders it like any query. */
	if ((rc = db_exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS config_view(key TEXT, value TEXT,"
			       " source TEXT, help TEXT); DELETE FROM temp.config_view")) ||
	    (rc = db_prepare(ctx, &ins, "INSERT INTO temp.config_view VALUES(:k, :v, :s, :h)")))
		return rc;
	for (const setting *s = settings; s->key && !rc; s++) {
		char src[128], key[64];
		char *v = lookup(ctx, s, src, sizeof src);
		if (!strcmp(s->key, "server") && ctx->server && (!v || strcmp(v, ctx->server))) {
			free(v);
			v = strdup(ctx->server);
			snprintf(src, sizeof src, "--server");
		}
		snprintf(key, sizeof key, "coordsync.%s", s->key);
		sqlite3_reset(ins);
		if (!(rc = db_bind_text(ctx, ins, ":k", key)) && !(rc = db_bind_text(ctx, ins, ":v", v)) &&
		    !(rc = db_bind_text(ctx, ins, ":s", src)) && !(rc = db_bind_text(ctx, ins, ":h", s->help)))
			rc = db_step(ctx, ins) == SQLITE_DONE ? CS_OK : CS_ERROR;
		free(v);
	}
	sqlite3_finalize(ins);
	return rc ? rc : cs_select(ctx, out, "SELECT key, value, source, help FROM temp.config_view",
				   NULL, NULL);
}
