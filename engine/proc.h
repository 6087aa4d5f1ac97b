/* Processes on this machine, from /proc (proc.c). */
#ifndef CS_PROC_H
#define CS_PROC_H

#include <stddef.h>

/* The pid of a process on this machine that has path (a canonical path)
 * open, from the /proc/PID/fd links; 0 when no process we may inspect has,
 * -1 when /proc cannot be read at all. */
long proc_open_by(const char *path);
/* The command name of process pid into out, for messages ("?" if unknown). */
void proc_name(long pid, char *out, size_t n);
/* Reap child pid, the leader of its own process group, whose output has
 * closed: wait for it until end (util_mono's clock), then kill the group
 * (SIGKILL) and reap it.  *ws is its wait status; returns 1 when it was
 * killed.  A program may close its output and go on: it is bounded too. */
int proc_reap(int pid, double end, int *ws);

#endif
