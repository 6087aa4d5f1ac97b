/* Files embedded at build time by engine/embed.cmake. */
#ifndef CS_EMBEDDED_H
#define CS_EMBEDDED_H
#include <stddef.h>

typedef struct embedded_file {
	const char *name;   /* file name, e.g. "001_mirror.sql" */
	const char *text;   /* contents, NUL-terminated */
	size_t len;
} embedded_file;

/* Each array is sorted by name and ends with a zeroed entry. */
extern const embedded_file embedded_schema[];
extern const embedded_file embedded_queries[];
extern const embedded_file embedded_templates[];
/* coordination/docs/NAME: the remote's docs/NAME (the default auto-reply
 * rules), written by init with the templates. */
extern const embedded_file embedded_docs[];

#endif
