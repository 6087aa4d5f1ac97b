/* Files embedded at build time by engine/embed.cmake. */
#ifndef CS_EMBEDDED_H
#define CS_EMBEDDED_H
#include <stddef.h>

typedef struct cs_embedded {
	const char *name;   /* file name, e.g. "001_mirror.sql" */
	const char *text;   /* contents, NUL-terminated */
	size_t len;
} cs_embedded;

/* Each array is sorted by name and ends with a zeroed entry. */
extern const cs_embedded cs_embedded_schema[];
extern const cs_embedded cs_embedded_queries[];
extern const cs_embedded cs_embedded_templates[];

#endif
