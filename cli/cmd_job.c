#include "cli.h"
const cli_cmd cli_job_cmds[] = {{NULL, NULL, NULL, 0, 0, NULL, NULL}};
