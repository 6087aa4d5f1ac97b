/* Kill points for the crash tests (fault.c). */
#ifndef CS_FAULT_H
#define CS_FAULT_H

/* ---- fault injection, a test hook (fault.c) ---------------------------- */
/* COORDSYNC_FAULT=STEP[:stop] kills (or stops) the process at STEP; see
 * docs/RELIABILITY.md.  fault_init reads the variable once.  Only a test
 * build has the hook (CMake's COORDSYNC_TEST_HOOKS, on by default, defines
 * CS_TEST_HOOKS); without it a step compiles to nothing, nothing is armed
 * and the variable is not read. */
#ifdef CS_TEST_HOOKS
extern int fault_on;
void fault_init(void);
int fault_armed(const char *step);
void fault_hit(const char *step);
#define FAULT_AT(step) do { if (fault_on) fault_hit(step); } while (0)
#else
static inline void fault_init(void) {}
static inline int fault_armed(const char *step) { (void)step; return 0; }
static inline void fault_hit(const char *step) { (void)step; }
#define FAULT_AT(step) ((void)0)
#endif

#endif
