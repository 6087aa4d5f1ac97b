#include "cli.h"
const cli_cmd cli_status_cmds[] = {{NULL, NULL, NULL, 0, 0, NULL, NULL}};
