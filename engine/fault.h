/* Kill points for the crash tests (fault.c). */
#ifndef CS_FAULT_H
#define CS_FAULT_H

/* ---- fault injection, a test hook (fault.c) ---------------------------- */
/* COORDSYNC_FAULT=STEP[:stop] kills (or stops) the process at STEP; see
 * docs/RELIABILITY.md.  cs_fault_init reads the variable once. */
extern int cs_fault_on;
void cs_fault_init(void);
int cs_fault_armed(const char *step);
void cs_fault_hit(const char *step);
#define CS_FAULT(step) do { if (cs_fault_on) cs_fault_hit(step); } while (0)

#endif
