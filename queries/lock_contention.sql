-- lock_contention: grants, holders, hold and wait times (p50, p95, max) per lock and day
-- From lock_holds (so from lock_history), one row per lock and day (UTC,
-- the day of the grant), with the lock's current holder and fence from the
-- locks table.  handovers: grants whose previous tenure was another
-- server's; contended: handovers within 10 s of that tenure's end (a server
-- was waiting for the lock).  renewals and expiries count lock_history
-- events of that day.  Percentiles are nearest-rank.
DROP VIEW IF EXISTS lock_contention;
CREATE VIEW lock_contention AS
WITH h AS (
  SELECT lock, server, substr(time, 1, 10) AS day, hold_s, wait_s FROM lock_holds
), hr AS (
  SELECT day, lock, hold_s,
         row_number() OVER (PARTITION BY day, lock ORDER BY hold_s) AS rn,
         count(*) OVER (PARTITION BY day, lock) AS n
  FROM h
), wr AS (
  SELECT day, lock, wait_s,
         row_number() OVER (PARTITION BY day, lock ORDER BY wait_s) AS rn,
         count(*) OVER (PARTITION BY day, lock) AS n
  FROM h WHERE wait_s IS NOT NULL
), ha AS (
  SELECT day, lock, max(n) AS grants,
         max(CASE WHEN rn = (n + 1) / 2 THEN hold_s END) AS hold_p50,
         max(CASE WHEN rn = (95 * n + 99) / 100 THEN hold_s END) AS hold_p95,
         max(hold_s) AS hold_max
  FROM hr GROUP BY day, lock
), wa AS (
  SELECT day, lock, max(n) AS handovers, sum(wait_s <= 10) AS contended,
         max(CASE WHEN rn = (n + 1) / 2 THEN wait_s END) AS wait_p50,
         max(CASE WHEN rn = (95 * n + 99) / 100 THEN wait_s END) AS wait_p95,
         max(wait_s) AS wait_max
  FROM wr GROUP BY day, lock
), ev AS (
  SELECT date(committed_at, 'unixepoch') AS day, name AS lock,
         sum(event = 'renew') AS renewals, sum(event = 'expire') AS expiries
  FROM lock_history GROUP BY 1, 2
)
SELECT ha.day, ha.lock, ha.grants,
       (SELECT count(DISTINCT server) FROM h WHERE h.day = ha.day AND h.lock = ha.lock) AS servers,
       coalesce(wa.handovers, 0) AS handovers, coalesce(wa.contended, 0) AS contended,
       coalesce(ev.renewals, 0) AS renewals, coalesce(ev.expiries, 0) AS expiries,
       ha.hold_p50, ha.hold_p95, ha.hold_max, wa.wait_p50, wa.wait_p95, wa.wait_max,
       l.locked_by AS holder, l.fence
FROM ha
LEFT JOIN wa ON wa.day = ha.day AND wa.lock = ha.lock
LEFT JOIN ev ON ev.day = ha.day AND ev.lock = ha.lock
LEFT JOIN locks AS l ON l.name = ha.lock
ORDER BY ha.day, ha.lock;
