/* Replay driver: runs every file under the given files or directories
 * through a harness's LLVMFuzzerTestOneInput, as libFuzzer would run one
 * input.  Built with the normal compiler, so the seed and regression corpus
 * run in every ctest (and under ASan in the sanitizer build).  A property
 * that fails aborts, naming the input first. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz.h"

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(buf = malloc((size_t)n + 1)) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "replay: cannot read '%s'\n", path);
		free(buf);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	fprintf(stderr, "replay: %s (%ld bytes)\n", path, n);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; *count adds them. */
static int replay_dir(const char *dir, int *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;
	if (!d) {
		fprintf(stderr, "replay: cannot read '%s'\n", dir);
		return -1;
	}
	while ((e = readdir(d))) {
		char **nn;
		if (e->d_name[0] == '.')
			continue;
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		if (!(nn = realloc(names, (n + 1) * sizeof *nn)) || !(nn[n] = malloc(len))) {
			names = nn ? nn : names;
			rc = -1;
			break;
		}
		names = nn;
		snprintf(names[n], len, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof *names, names_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (!rc && !stat(names[i], &st) && S_ISREG(st.st_mode)) {
			rc = replay_file(names[i]);
			*count += !rc;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	int count = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int rc;
		if (stat(argv[i], &st)) {
			fprintf(stderr, "replay: no '%s'\n", argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			rc = replay_dir(argv[i], &count);
		} else {
			rc = replay_file(argv[i]);
			count += !rc;
		}
		if (rc)
			return 1;
	}
	printf("%d inputs replayed, no property failed\n", count);
	return count ? 0 : 1;
}
