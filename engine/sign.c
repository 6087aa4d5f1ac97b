/* Signed commits, the way git makes and checks them: the commit's text is
 * built with libgit2, signed by gpg or ssh-keygen run with git's own
 * arguments (git's gpg-interface.c), and written with the signature in its
 * gpgsig header; on import a signature is checked by the same programs
 * against the keys git trusts.  Every program runs bounded by
 * coordsync.timeout.total. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "ctx.h"
#include "util.h"
#include "proc.h"
#include "net.h"
#include "sign.h"

extern char **environ;

/* ---- running a signing program ---------------------------------------------- */

/* Run argv (argv[0] looked up in PATH, as git does) with input on its
 * standard input, its standard output into out and its error output into
 * err (each at most 1 MiB kept), within coordsync.timeout.total: a program
 * still running then is killed with its process group.  *status is its exit
 * status (128+signal).  CS_OK, or CS_ERROR naming argv[0]: it could not be
 * started, or was killed. */
static int run(cs_ctx *ctx, const char *const *argv, const char *input, size_t inlen, sbuf *out,
	       sbuf *err, int *status)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int in[2] = {-1, -1}, o[2] = {-1, -1}, e[2] = {-1, -1}, rc = CS_OK, ws = 0, killed = 0, se;
	int fa_ok = 0, at_ok = 0;
	size_t sent = 0;
	pid_t pid = -1;
	long long bound;
	double end;
	sigset_t pipe_set, old;

	*status = -1;
	if ((rc = net_bound(ctx, "total", &bound)))
		return rc;
	if (pipe2(in, O_CLOEXEC) || pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC)) {
		rc = ctx_err(ctx, CS_ERROR, "cannot run '%s': %s", argv[0], strerror(errno));
		goto done;
	}
	fa_ok = !posix_spawn_file_actions_init(&fa);
	at_ok = !posix_spawnattr_init(&at);
	if (!fa_ok || !at_ok || posix_spawn_file_actions_adddup2(&fa, in[0], 0) ||
	    posix_spawn_file_actions_adddup2(&fa, o[1], 1) ||
	    posix_spawn_file_actions_adddup2(&fa, e[1], 2) ||
	    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP) || posix_spawnattr_setpgroup(&at, 0)) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if ((se = posix_spawnp(&pid, argv[0], &fa, &at, (char *const *)argv, environ))) {
		pid = -1;
		rc = ctx_err(ctx, CS_ERROR, "cannot run '%s': %s", argv[0], strerror(se));
		goto done;
	}
	close(in[0]);
	close(o[1]);
	close(e[1]);
	in[0] = o[1] = e[1] = -1;
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) < 0)
		inlen = 0;
	if (!inlen) {
		close(in[1]);
		in[1] = -1;
	}
	/* A program that exits without reading all its input must not kill
	 * this process with SIGPIPE: the signal is blocked while writing and
	 * a pending one taken back. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	end = util_mono() + (double)bound;
	while (o[0] >= 0 || e[0] >= 0) {
		struct pollfd p[3];
		int np = 0, wi = -1, oi = -1, ei = -1;
		double left = end - util_mono();
		if (left <= 0) {
			killed = 1;
			break;
		}
		if (in[1] >= 0)
			wi = np, p[np++] = (struct pollfd){in[1], POLLOUT, 0};
		if (o[0] >= 0)
			oi = np, p[np++] = (struct pollfd){o[0], POLLIN, 0};
		if (e[0] >= 0)
			ei = np, p[np++] = (struct pollfd){e[0], POLLIN, 0};
		if (poll(p, (nfds_t)np, (int)(left * 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			rc = ctx_err(ctx, CS_ERROR, "cannot run '%s': %s", argv[0], strerror(errno));
			killed = 1;
			break;
		}
		if (wi >= 0 && p[wi].revents) {
			ssize_t n;
			struct timespec zero = {0, 0};
			pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
			n = write(in[1], input + sent, inlen - sent);
			if (n < 0 && errno == EPIPE)
				sigtimedwait(&pipe_set, NULL, &zero);
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			if (n > 0)
				sent += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || sent == inlen) {
				close(in[1]);
				in[1] = -1;
			}
		}
		for (int k = 0; k < 2; k++) {
			int i = k ? ei : oi, *fd = k ? &e[0] : &o[0];
			sbuf *b = k ? err : out;
			char buf[4096];
			ssize_t n;
			if (i < 0 || !p[i].revents)
				continue;
			if ((n = read(*fd, buf, sizeof buf)) < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(*fd);
				*fd = -1;
			} else if (b->n < (1u << 20)) {
				sb_put(b, buf, (size_t)n);
			}
		}
	}
	killed = proc_reap(pid, killed ? 0 : end, &ws);
	if (killed && !rc)
		rc = ctx_err(ctx, CS_ERROR, "'%s' did not finish within %llds (coordsync.timeout.total);"
			    " killed", argv[0], bound);
	else if (!rc)
		*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
done:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (at_ok)
		posix_spawnattr_destroy(&at);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (o[i] >= 0)
			close(o[i]);
		if (e[i] >= 0)
			close(e[i]);
	}
	return rc;
}

/* A program's error output for a message: its last line that is not a
 * gpg status line, without control characters, at most n bytes. */
static const char *said(sbuf *err, char *buf, size_t n)
{
	const char *p = err->p ? err->p : "", *line = NULL, *end = p + err->n;
	size_t k = 0;

	for (const char *s = p; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		if (e > s && strncmp(s, "[GNUPG:]", 8))
			line = s;
		s = nl ? nl + 1 : end;
	}
	for (const char *s = line; s && s < end && *s != '\n' && k + 1 < n; s++)
		buf[k++] = (unsigned char)*s < 0x20 ? ' ' : *s;
	buf[k] = 0;
	return buf;
}

/* A temporary file holding data (TMPDIR, else /tmp) into path.  CS_OK or
 * CS_ERROR. */
static int temp_file(cs_ctx *ctx, char *path, size_t n, const char *data, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd, ok;

	snprintf(path, n, "%s/coordsync-sign-XXXXXX", dir && *dir ? dir : "/tmp");
	if ((fd = mkstemp(path)) < 0) {
		path[0] = 0;
		return ctx_err(ctx, CS_ERROR, "cannot create a temporary file '%s': %s", path,
			      strerror(errno));
	}
	ok = 1;
	for (size_t off = 0; ok && off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			ok = 0;
		else
			off += (size_t)w;
	}
	if (close(fd) || !ok) {
		ctx_err(ctx, CS_ERROR, "cannot write '%s': %s", path, strerror(errno));
		unlink(path);
		path[0] = 0;
		return CS_ERROR;
	}
	return CS_OK;
}

/* ---- git's configuration ------------------------------------------------------ */

/* The string setting key of the clone's git config (a snapshot), or NULL;
 * caller frees. */
static char *git_conf(git_config *cfg, const char *key)
{
	const char *v = NULL;
	char *r;
	if (!cfg || git_config_get_string(&v, cfg, key) || !v) {
		git_error_clear();
		return NULL;
	}
	r = strdup(v);
	return r;
}

/* A path from git config: "~/" is the home directory, as git expands it.
 * Caller frees. */
static char *conf_path(const char *v)
{
	const char *home = getenv("HOME");
	sbuf b = {0};
	if (!v)
		return NULL;
	if (!strncmp(v, "~/", 2) && home) {
		sb_puts(&b, home);
		sb_puts(&b, v + 1);
	} else {
		sb_puts(&b, v);
	}
	return sb_detach(&b);
}

/* ---- signing ------------------------------------------------------------------ */

/* gpg --status-fd=2 -bsau KEY, the commit text on its standard input: the
 * armoured signature on its output, and a SIG_CREATED status line. */
static int sign_gpg(cs_ctx *ctx, const char *prog, const char *key, const char *buf, size_t len,
		    sbuf *sig)
{
	const char *argv[] = {prog, "--status-fd=2", "-bsau", key, NULL};
	sbuf err = {0};
	char why[512];
	int st, rc;

	if ((rc = run(ctx, argv, buf, len, sig, &err, &st)))
		goto done;
	if (st || !sig->n || !err.p || !(strstr(err.p, "\n[GNUPG:] SIG_CREATED ") ||
					 !strncmp(err.p, "[GNUPG:] SIG_CREATED ", 21)))
		rc = ctx_err(ctx, CS_ERROR, "'%s' failed to sign the commit with key '%s' (exit %d)%s%s",
			    prog, key, st, *said(&err, why, sizeof why) ? ": " : "", why);
done:
	sb_free(&err);
	return rc;
}

/* ssh-keygen -Y sign -n git -f KEY FILE, the commit text in FILE, the
 * signature left in FILE.sig.  KEY is a key file, or a public key given
 * literally ("ssh-..." or "key::..."): written to a file and used with -U
 * (the private key is ssh-agent's). */
static int sign_ssh(cs_ctx *ctx, const char *prog, const char *key, const char *buf, size_t len,
		    sbuf *sig)
{
	char data[4096] = "", keyfile[4096] = "", sigpath[4200] = "", why[512];
	const char *argv[10];
	sbuf out = {0}, err = {0};
	char *path = NULL;
	int st, rc, na = 0, literal = !strncmp(key, "ssh-", 4) || !strncmp(key, "key::", 5);
	FILE *f = NULL;

	if ((rc = temp_file(ctx, data, sizeof data, buf, len)))
		goto done;
	if (literal) {
		const char *k = strncmp(key, "key::", 5) ? key : key + 5;
		if ((rc = temp_file(ctx, keyfile, sizeof keyfile, k, strlen(k))))
			goto done;
	} else if (!(path = conf_path(key))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	argv[na++] = prog;
	argv[na++] = "-Y";
	argv[na++] = "sign";
	argv[na++] = "-n";
	argv[na++] = "git";
	argv[na++] = "-f";
	argv[na++] = literal ? keyfile : path;
	if (literal)
		argv[na++] = "-U";
	argv[na++] = data;
	argv[na] = NULL;
	snprintf(sigpath, sizeof sigpath, "%s.sig", data);
	if ((rc = run(ctx, argv, NULL, 0, &out, &err, &st)))
		goto done;
	if (st) {
		rc = ctx_err(ctx, CS_ERROR, "'%s' failed to sign the commit with key '%s' (exit %d)%s%s",
			    prog, key, st, *said(&err, why, sizeof why) ? ": " : "", why);
		goto done;
	}
	if (!(f = fopen(sigpath, "rb"))) {
		rc = ctx_err(ctx, CS_ERROR, "'%s' left no signature in '%s': %s", prog, sigpath,
			    strerror(errno));
		goto done;
	}
	for (size_t n; (n = fread(why, 1, sizeof why, f)) > 0;)
		sb_put(sig, why, n);
	if (ferror(f) || !sig->n)
		rc = ctx_err(ctx, CS_ERROR, "cannot read the signature '%s'", sigpath);
done:
	if (f)
		fclose(f);
	if (data[0])
		unlink(data);
	if (sigpath[0])
		unlink(sigpath);
	if (keyfile[0])
		unlink(keyfile);
	free(path);
	sb_free(&out);
	sb_free(&err);
	return rc;
}

int sign_commit(cs_ctx *ctx, git_oid *out, const git_tree *tree, const git_commit *parent,
		const char *msg)
{
	git_config *cfg = NULL;
	git_signature *who = NULL;
	git_buf buf = {0};
	sbuf sig = {0};
	char *name = NULL, *email = NULL, *format = NULL, *prog = NULL, *key = NULL, *text = NULL;
	char defemail[300];
	int gpgsign = 0, rc = CS_OK, e;

	if (git_repository_config_snapshot(&cfg, ctx->repo))
		git_error_clear();     /* no config: the defaults */
	name = git_conf(cfg, "user.name");
	email = git_conf(cfg, "user.email");
	snprintf(defemail, sizeof defemail, "%s@coordsync", ctx->server ? ctx->server : "unknown");
	if (git_signature_now(&who, name && *name ? name : ctx->server ? ctx->server : "coordsync",
			      email && *email ? email : defemail)) {
		rc = ctx_err_git(ctx, "cannot prepare commit");
		goto done;
	}
	if (cfg && (e = git_config_get_bool(&gpgsign, cfg, "commit.gpgsign"))) {
		if (e != GIT_ENOTFOUND) {
			rc = ctx_err_git(ctx, "invalid commit.gpgsign");
			goto done;
		}
		git_error_clear();
		gpgsign = 0;
	}
	if (!gpgsign) {
		if (git_commit_create(out, ctx->repo, NULL, who, who, NULL, msg, tree, parent ? 1 : 0,
				      &parent))
			rc = ctx_err_git(ctx, "cannot create commit");
		goto done;
	}
	if (git_commit_create_buffer(&buf, ctx->repo, who, who, NULL, msg, tree, parent ? 1 : 0,
				     &parent)) {
		rc = ctx_err_git(ctx, "cannot create commit");
		goto done;
	}
	format = git_conf(cfg, "gpg.format");
	key = git_conf(cfg, "user.signingkey");
	if (!format || !strcmp(format, "openpgp")) {
		if (!(prog = git_conf(cfg, "gpg.openpgp.program")))
			prog = git_conf(cfg, "gpg.program");
		if (!key) {     /* git's default: the committer's identity */
			sbuf k = {0};
			sb_printf(&k, "%s <%s>", who->name, who->email);
			key = sb_detach(&k);
		}
		if (!key || (!prog && !(prog = strdup("gpg")))) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
		rc = sign_gpg(ctx, prog, key, buf.ptr, buf.size, &sig);
	} else if (!strcmp(format, "ssh")) {
		if (!(prog = git_conf(cfg, "gpg.ssh.program")) && !(prog = strdup("ssh-keygen"))) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
		if (!key || !*key) {
			rc = ctx_err(ctx, CS_ERROR, "commit.gpgsign is set with gpg.format 'ssh', but"
				    " user.signingkey is not: cannot sign the commit");
			goto done;
		}
		rc = sign_ssh(ctx, prog, key, buf.ptr, buf.size, &sig);
	} else {
		rc = ctx_err(ctx, CS_ERROR, "gpg.format '%s' is not supported (openpgp or ssh):"
			    " cannot sign the commit", format);
	}
	if (rc)
		goto done;
	if (!(text = sb_detach(&sig))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if (git_commit_create_with_signature(out, ctx->repo, buf.ptr, text, NULL))
		rc = ctx_err_git(ctx, "cannot create the signed commit");
done:
	free(text);
	sb_free(&sig);
	git_buf_dispose(&buf);
	git_signature_free(who);
	git_config_free(cfg);
	free(name);
	free(email);
	free(format);
	free(prog);
	free(key);
	return rc;
}

/* ---- checking a signature -------------------------------------------------------- */

/* The text after "[GNUPG:] WORD" on a status line of out (after its space),
 * up to its line end, into buf; NULL when there is no such line. */
static const char *status_line(sbuf *out, const char *word, char *buf, size_t n)
{
	const char *p = out->p, *end = out->p + out->n;
	size_t wl = strlen(word);

	for (; p && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
		if ((size_t)(e - p) >= 9 + wl && !strncmp(p, "[GNUPG:] ", 9) && !strncmp(p + 9, word, wl) &&
		    (p + 9 + wl == e || p[9 + wl] == ' ')) {
			size_t k = 0;
			for (const char *s = p + 10 + wl; s < e && k + 1 < n; s++)
				buf[k++] = (unsigned char)*s < 0x20 ? ' ' : *s;
			buf[k] = 0;
			return buf;
		}
		p = nl ? nl + 1 : end;
	}
	return NULL;
}

/* gpg's trust levels, lowest first, as git names them (gpg.minTrustLevel)
 * and gpg reports them (TRUST_<NAME> status lines). */
static const char *const trust_names[] = {"undefined", "never", "marginal", "fully", "ultimate",
					  NULL};
static const char *const trust_status[] = {"TRUST_UNDEFINED", "TRUST_NEVER", "TRUST_MARGINAL",
					   "TRUST_FULLY", "TRUST_ULTIMATE", NULL};

/* The level of a trust name (any case), or -1. */
static int trust_level(const char *name)
{
	for (int i = 0; name && trust_names[i]; i++)
		if (!strcasecmp(name, trust_names[i]))
			return i;
	return -1;
}

/* "KEYID USER ID" of a GOODSIG-like line as "USER ID (key KEYID)". */
static void key_and_uid(const char *line, char *signer, size_t n)
{
	const char *sp = strchr(line, ' ');
	if (sp)
		snprintf(signer, n, "%s (key %.*s)", sp + 1, (int)(sp - line), line);
	else
		snprintf(signer, n, "key %s", line);
}

/* gpg --keyid-format=long --status-fd=1 --verify SIGFILE -, as git runs it. */
static int verify_gpg(cs_ctx *ctx, git_config *cfg, const char *sigfile, const git_buf *data,
		      int *state, int *trust, char *signer, size_t n)
{
	char *prog = git_conf(cfg, "gpg.openpgp.program");
	const char *argv[7];
	sbuf out = {0}, err = {0};
	char line[512], why[512];
	int st, rc;

	if (!prog)
		prog = git_conf(cfg, "gpg.program");
	argv[0] = prog ? prog : "gpg";
	argv[1] = "--keyid-format=long";
	argv[2] = "--status-fd=1";
	argv[3] = "--verify";
	argv[4] = sigfile;
	argv[5] = "-";
	argv[6] = NULL;
	if ((rc = run(ctx, argv, data->ptr, data->size, &out, &err, &st)))
		goto done;
	if (status_line(&out, "GOODSIG", line, sizeof line)) {
		key_and_uid(line, signer, n);
		*state = st ? SIGN_BAD : SIGN_GOOD;
		*trust = 0;
		for (int i = 0; trust_status[i]; i++)
			if (status_line(&out, trust_status[i], line, sizeof line))
				*trust = i;
	} else if (status_line(&out, "BADSIG", line, sizeof line)) {
		key_and_uid(line, signer, n);
		*state = SIGN_BAD;
	} else if (status_line(&out, "EXPKEYSIG", line, sizeof line) ||
		   status_line(&out, "EXPSIG", line, sizeof line) ||
		   status_line(&out, "REVKEYSIG", line, sizeof line)) {
		key_and_uid(line, signer, n);
		snprintf(signer + strlen(signer), n - strlen(signer), ": expired or revoked");
		*state = SIGN_BAD;
	} else if (status_line(&out, "NO_PUBKEY", line, sizeof line)) {
		snprintf(signer, n, "key %s, not in the keyring of '%s'", line, argv[0]);
		*state = SIGN_UNKNOWN;
	} else {
		snprintf(signer, n, "'%s' cannot check it (exit %d)%s%s", argv[0], st,
			 *said(&err, why, sizeof why) ? ": " : "", why);
		*state = SIGN_BAD;
	}
done:
	free(prog);
	sb_free(&out);
	sb_free(&err);
	return rc;
}

/* The key of "Good "git" signature [for P] with KEY" in out, or NULL. */
static const char *ssh_key(sbuf *out, char *buf, size_t n)
{
	const char *w = out->p ? strstr(out->p, " with ") : NULL;
	size_t k = 0;
	if (!w)
		return NULL;
	for (w += 6; *w && *w != '\n' && k + 1 < n; w++)
		buf[k++] = *w;
	buf[k] = 0;
	return buf;
}

/* ssh-keygen -Y find-principals, then -Y verify with the principal found,
 * against gpg.ssh.allowedSignersFile, as git runs them; a key no principal
 * has is named from -Y check-novalidate. */
static int verify_ssh(cs_ctx *ctx, git_config *cfg, const char *sigfile, const git_buf *data,
		      int *state, int *trust, char *signer, size_t n)
{
	char *rconf = git_conf(cfg, "gpg.ssh.revocationFile"), *revoked = conf_path(rconf);
	char *prog = git_conf(cfg, "gpg.ssh.program"), *conf = git_conf(cfg, "gpg.ssh.allowedSignersFile");
	char *allowed = conf_path(conf), principal[256] = "", key[256], why[512];
	const char *p = prog ? prog : "ssh-keygen";
	sbuf out = {0}, err = {0};
	int st, rc;

	if (allowed) {
		const char *argv[] = {p, "-Y", "find-principals", "-f", allowed, "-s", sigfile, NULL};
		if ((rc = run(ctx, argv, NULL, 0, &out, &err, &st)))
			goto done;
		if (!st && out.p) {
			size_t k = 0;
			for (const char *s = out.p; *s && *s != '\n' && k + 1 < sizeof principal; s++)
				principal[k++] = *s;
			principal[k] = 0;
		}
	}
	out.n = err.n = 0;
	if (out.p)
		out.p[0] = 0;
	if (err.p)
		err.p[0] = 0;
	if (principal[0]) {
		const char *argv[] = {p, "-Y", "verify", "-n", "git", "-f", allowed, "-I", principal,
				      "-s", sigfile, revoked ? "-r" : NULL, revoked, NULL};
		if ((rc = run(ctx, argv, data->ptr, data->size, &out, &err, &st)))
			goto done;
		snprintf(signer, n, "%s (%s)", principal, ssh_key(&out, key, sizeof key) ? key : "ssh key");
		*state = st ? SIGN_BAD : SIGN_GOOD;
		*trust = 3;   /* git's: a principal of the allowed signers is fully trusted */
		if (st)
			snprintf(signer + strlen(signer), n - strlen(signer), ": %s",
				 said(&err, why, sizeof why));
	} else {
		const char *argv[] = {p, "-Y", "check-novalidate", "-n", "git", "-s", sigfile, NULL};
		if ((rc = run(ctx, argv, data->ptr, data->size, &out, &err, &st)))
			goto done;
		if (st || !ssh_key(&out, key, sizeof key)) {
			snprintf(signer, n, "an ssh signature that does not verify: %s",
				 said(&err, why, sizeof why));
			*state = SIGN_BAD;
		} else {
			snprintf(signer, n, "%s, %s", key, allowed ? "in no principal of"
				 " gpg.ssh.allowedSignersFile" : "and gpg.ssh.allowedSignersFile is not set");
			*state = SIGN_UNKNOWN;
		}
	}
done:
	free(prog);
	free(conf);
	free(allowed);
	free(rconf);
	free(revoked);
	sb_free(&out);
	sb_free(&err);
	return rc;
}

int sign_verify(cs_ctx *ctx, const git_oid *id, int *state, char *signer, size_t n)
{
	git_buf sig = {0}, data = {0};
	git_config *cfg = NULL;
	char sigfile[4096] = "", *min = NULL;
	int e, rc = CS_OK, trust = 0, want = 0;

	*state = SIGN_NONE;
	snprintf(signer, n, "not signed");
	if ((e = git_commit_extract_signature(&sig, &data, ctx->repo, (git_oid *)id, NULL))) {
		if (e == GIT_ENOTFOUND) {
			git_error_clear();
			return CS_OK;
		}
		return ctx_err_git(ctx, "cannot read commit");
	}
	if (git_repository_config_snapshot(&cfg, ctx->repo))
		git_error_clear();
	if ((rc = temp_file(ctx, sigfile, sizeof sigfile, sig.ptr, sig.size)))
		goto done;
	if (!strncmp(sig.ptr, "-----BEGIN PGP SIGNATURE-----", 29))
		rc = verify_gpg(ctx, cfg, sigfile, &data, state, &trust, signer, n);
	else if (!strncmp(sig.ptr, "-----BEGIN SSH SIGNATURE-----", 29))
		rc = verify_ssh(ctx, cfg, sigfile, &data, state, &trust, signer, n);
	else {
		*state = SIGN_BAD;
		snprintf(signer, n, "a signature of a kind not checked (neither openpgp nor ssh)");
	}
	/* gpg.minTrustLevel, as git verify-commit applies it. */
	if (!rc && *state == SIGN_GOOD && (min = git_conf(cfg, "gpg.minTrustLevel"))) {
		if ((want = trust_level(min)) < 0) {
			rc = ctx_err(ctx, CS_EINVAL, "gpg.minTrustLevel is '%s': undefined, never,"
				    " marginal, fully or ultimate", min);
		} else if (trust < want) {
			*state = SIGN_UNKNOWN;
			snprintf(signer + strlen(signer), n - strlen(signer), ", trusted '%s', below"
				 " gpg.minTrustLevel '%s'", trust_names[trust], trust_names[want]);
		}
	}
done:
	free(min);
	if (sigfile[0])
		unlink(sigfile);
	git_config_free(cfg);
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	return rc;
}
