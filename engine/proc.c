/* Processes on this machine, from /proc: which one has a file open, and its
 * name, for judging whether a lock file is left over. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#include "util.h"
#include "proc.h"

long proc_open_by(const char *path)
{
	DIR *proc = opendir("/proc"), *fds;
	struct dirent *p, *f;
	char dir[64], link[128], target[PATH_MAX];
	long found = 0;

	if (!proc)
		return -1;
	while (!found && (p = readdir(proc))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(dir, sizeof dir, "/proc/%.32s/fd", p->d_name);
		if (!(fds = opendir(dir)))
			continue;          /* gone, or another user's */
		while (!found && (f = readdir(fds))) {
			ssize_t n;
			snprintf(link, sizeof link, "%s/%.32s", dir, f->d_name);
			if ((n = readlink(link, target, sizeof target - 1)) < 0)
				continue;
			target[n] = 0;
			if (!strcmp(target, path))
				found = strtol(p->d_name, NULL, 10);
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

void proc_name(long pid, char *out, size_t n)
{
	char path[64];
	FILE *f;
	snprintf(path, sizeof path, "/proc/%ld/comm", pid);
	snprintf(out, n, "?");
	if ((f = fopen(path, "r"))) {
		if (fgets(out, (int)n, f))
			out[strcspn(out, "\n")] = 0;
		fclose(f);
	}
}

int proc_reap(int pid, double end, int *ws)
{
	int r, killed = 0;
	while ((r = waitpid(pid, ws, WNOHANG)) <= 0) {
		if (r < 0 && errno != EINTR)
			return 0;
		if (util_mono() >= end) {
			killed = 1;
			break;
		}
		usleep(10000);
	}
	if (!killed)
		return 0;
	kill(-pid, SIGKILL);
	while (waitpid(pid, ws, 0) < 0 && errno == EINTR)
		;
	return 1;
}
