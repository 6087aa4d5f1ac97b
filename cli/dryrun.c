/* --dry-run of compact, job rescue and lock cleanup: the decision is made
 * on a fresh mirror and rolled back (cs_set_dry_run); this prints what it
 * would have changed. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static void collect(const char *kind, const char *id, int how, void *arg)
{
	cli_dry *d = arg;
	char **k = realloc(d->kind, (size_t)(d->n + 1) * sizeof *k), **i;
	(void)how;
	if (k)
		d->kind = k;
	i = k ? realloc(d->id, (size_t)(d->n + 1) * sizeof *i) : NULL;
	if (i)
		d->id = i;
	if (!k || !i || !(d->kind[d->n] = strdup(kind ? kind : "")))
		return;
	if (!(d->id[d->n] = strdup(id ? id : ""))) {
		free(d->kind[d->n]);
		return;
	}
	d->n++;
}

void cli_dry_start(cs_ctx *ctx, cli_dry *d, int on)
{
	memset(d, 0, sizeof *d);
	d->on = on;
	if (on)
		cs_set_dry_run(ctx, collect, d);
}

int cli_dry_print(const cli *c, const cli_dry *d, const char *verb)
{
	if (!d->on)
		return 0;
	if (c->json)
		printf("{\"dry_run\": true, \"records\": [");
	for (int i = 0; i < d->n; i++) {
		if (c->json) {
			printf("%s{\"kind\": ", i ? ", " : "");
			cli_json_string(stdout, d->kind[i]);
			printf(", \"id\": ");
			cli_json_string(stdout, d->id[i]);
			printf("}");
		} else {
			printf("would %s %s ", verb, d->kind[i]);
			cli_put_text(stdout, d->id[i]);
			putchar('\n');
		}
	}
	if (c->json)
		printf("]");
	return 1;
}

void cli_dry_free(cli_dry *d)
{
	for (int i = 0; i < d->n; i++) {
		free(d->kind[i]);
		free(d->id[i]);
	}
	free(d->kind);
	free(d->id);
	memset(d, 0, sizeof *d);
}
