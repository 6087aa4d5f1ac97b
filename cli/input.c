/* Input a command reads whole: a file, or standard input for "-" (job add
 * --from, msg send --body -). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

/* Read the descriptor itself, not stdio's stdin: a command served by the
 * daemon gets its caller's descriptor 0, and stdio could hold bytes of an
 * earlier one. */
int cli_read_input(const char *path, size_t max, char **out, size_t *len, char *err,
		   size_t errlen)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	size_t n = 0, cap = 0;
	char *b = NULL;

	*out = NULL;
	*len = 0;
	if (fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t r;
		if (cap - n < 2) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb;
			if (ncap > max + 2)
				ncap = max + 2;
			if (ncap <= cap || !(nb = realloc(b, ncap))) {
				snprintf(err, errlen, ncap <= cap ? "'%s' is larger than %zu bytes"
					 : "'%s': out of memory", strcmp(path, "-") ? path : "standard input",
					 max);
				goto fail;
			}
			b = nb;
			cap = ncap;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read '%s': %s",
				 strcmp(path, "-") ? path : "standard input", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			snprintf(err, errlen, "'%s' is larger than %zu bytes",
				 strcmp(path, "-") ? path : "standard input", max);
			goto fail;
		}
	}
	if (!b && !(b = malloc(1))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	b[n] = 0;
	if (fd > 0)
		close(fd);
	*out = b;
	*len = n;
	return 0;
fail:
	if (fd > 0)
		close(fd);
	free(b);
	return -1;
}
