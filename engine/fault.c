/* A test hook for crash testing: COORDSYNC_FAULT=STEP makes the process
 * kill itself with SIGKILL when it reaches STEP of a sync or a decision
 * (STEP:stop stops it with SIGSTOP instead, until a SIGCONT; it fires once).  The variable
 * is read once per process; when it is unset a step costs one branch. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "fault.h"

#ifdef CS_TEST_HOOKS
int fault_on;
static char fault_step[64];
static int fault_stop;

/* The steps, in the order a decision reaches them; an unknown name in the
 * variable arms nothing, so a typo in a test shows up as "not killed". */
static const char *const steps[] = {"fetch-ref", "import", "after-import", "after-decide", "outbox",
				    "after-commit", "mid-push", "after-push", "after-mirror",
				    "checkout-journal", "checkout-tmp", "checkout-file",
				    "checkout-index", "checkout-ref", NULL};

void fault_init(void)
{
	static int done;
	const char *v = getenv("COORDSYNC_FAULT");
	size_t n;

	if (done)
		return;
	done = 1;
	if (!v || !*v)
		return;
	n = strcspn(v, ":");
	if (n >= sizeof fault_step)
		return;
	memcpy(fault_step, v, n);
	fault_step[n] = 0;
	fault_stop = !strcmp(v + n, ":stop");
	for (int i = 0; steps[i]; i++)
		if (!strcmp(steps[i], fault_step))
			fault_on = 1;
}

int fault_armed(const char *step)
{
	return fault_on && !strcmp(step, fault_step);
}

void fault_hit(const char *step)
{
	if (!fault_armed(step))
		return;
	fault_on = 0;      /* once: a stopped process goes on when continued */
	raise(fault_stop ? SIGSTOP : SIGKILL);
}
#endif
