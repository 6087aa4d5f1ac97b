/* Time that cannot jump: this host's boot clock and the watches kept with it
 * (schema/007_clock_watch.sql).  Lease watches, heartbeat and claim watches
 * are readings of CLOCK_BOOTTIME tagged with the boot they belong to, so a
 * step of the wall clock, here or at another server, neither shortens a
 * lease nor ages a heartbeat. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ctx.h"
#include "util.h"
#include "db.h"
#include "clock.h"

/* This boot's id, read once per process ("" when /proc does not have it:
 * then every watch is of one unnamed boot, which is what a host without
 * the file can offer). */
static const char *boot_id(void)
{
	static char id[64];
	static int done;
	if (!done) {
		int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, id, sizeof id - 1);
		if (fd >= 0)
			close(fd);
		while (n > 0 && (id[n - 1] == '\n' || id[n - 1] == ' '))
			n--;
		id[n > 0 ? n : 0] = 0;
		done = 1;
	}
	return id;
}

int clock_boot(cs_ctx *ctx, clock_reading *out)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_BOOTTIME, &ts))
		return ctx_err(ctx, CS_ERROR, "cannot read the boot clock: %s", strerror(errno));
	out->now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	out->id = boot_id();
	return CS_OK;
}

/* Run one statement with :now (wall), :boot and :bid bound, those of them
 * it names. */
static int run_timed(cs_ctx *ctx, const char *sql, const clock_reading *b)
{
	sqlite3_stmt *st = NULL;
	int rc;
	if ((rc = db_prepare(ctx, &st, sql)))
		return rc;
	if ((sqlite3_bind_parameter_index(st, ":now") &&
	     (rc = db_bind_real(ctx, st, ":now", util_now()))) ||
	    (sqlite3_bind_parameter_index(st, ":boot") &&
	     (rc = db_bind_real(ctx, st, ":boot", b->now))) ||
	    (sqlite3_bind_parameter_index(st, ":bid") &&
	     (rc = db_bind_text(ctx, st, ":bid", b->id))))
		goto done;
	rc = db_step(ctx, st) == SQLITE_DONE ? CS_OK : CS_ERROR;
done:
	sqlite3_finalize(st);
	return rc;
}

int clock_note(cs_ctx *ctx)
{
	static const char *const sql[] = {
		/* a changed holder, fence or expiry, or another boot: a new watch */
		"INSERT INTO lock_seen(name, locked_by, fence, expires_at, seen_at, boot_id, seen_boot)"
		" SELECT name, locked_by, fence, expires_at, :now, :bid, :boot FROM locks"
		" WHERE locked_by IS NOT NULL ON CONFLICT(name) DO UPDATE SET"
		" locked_by=excluded.locked_by, fence=excluded.fence, expires_at=excluded.expires_at,"
		" seen_at=excluded.seen_at, boot_id=excluded.boot_id, seen_boot=excluded.seen_boot"
		" WHERE lock_seen.locked_by IS NOT excluded.locked_by OR"
		" lock_seen.fence IS NOT excluded.fence OR"
		" lock_seen.expires_at IS NOT excluded.expires_at OR"
		" lock_seen.boot_id IS NOT excluded.boot_id OR lock_seen.seen_boot IS NULL",
		"DELETE FROM lock_seen WHERE name NOT IN"
		" (SELECT name FROM locks WHERE locked_by IS NOT NULL)",
		/* a changed heartbeat or claim, or another boot: a new watch */
		"INSERT INTO watch(kind, key, state, boot_id, since_boot, since_wall)"
		" SELECT kind, key, state, :bid, :boot, :now FROM watch_state WHERE true"
		" ON CONFLICT(kind, key) DO UPDATE SET state=excluded.state, boot_id=excluded.boot_id,"
		" since_boot=excluded.since_boot, since_wall=excluded.since_wall"
		" WHERE watch.state IS NOT excluded.state OR watch.boot_id IS NOT excluded.boot_id",
		"DELETE FROM watch WHERE (kind, key) NOT IN (SELECT kind, key FROM watch_state)",
	};
	clock_reading b;
	int rc;
	if ((rc = clock_boot(ctx, &b)))
		return rc;
	for (size_t i = 0; i < sizeof sql / sizeof *sql && !rc; i++)
		rc = run_timed(ctx, sql[i], &b);
	return rc;
}

int clock_renote(cs_ctx *ctx)
{
	sqlite3_stmt *st = NULL;
	clock_reading b;
	int rc, other = 0;
	if ((rc = clock_boot(ctx, &b)) ||
	    (rc = db_prepare(ctx, &st, "SELECT EXISTS(SELECT 1 FROM lock_seen WHERE boot_id IS NOT :bid"
				       " OR seen_boot IS NULL) OR EXISTS(SELECT 1 FROM watch WHERE"
				       " boot_id IS NOT :bid)")) ||
	    (rc = db_bind_text(ctx, st, ":bid", b.id)))
		goto done;
	if ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		other = sqlite3_column_int(st, 0);
		rc = CS_OK;
	} else if (rc == SQLITE_DONE) {
		rc = CS_OK;
	}
done:
	sqlite3_finalize(st);
	if (rc || !other || (rc = db_begin(ctx)))
		return rc;
	if ((rc = clock_note(ctx))) {
		db_rollback(ctx);
		return rc;
	}
	return db_commit(ctx);
}
