/* Declarations still shared across the engine while it is cut into modules:
 * each section moves to its module's own header. */
#ifndef CS_INT_H
#define CS_INT_H

#include "ctx.h"
#include "util.h"
#include "fault.h"
#include "clock.h"
#include "db.h"
#include "json.h"
#include "history.h"
#include "net.h"
#include "shared.h"
#include "identity.h"
#include "handle.h"
#include "mirror.h"
#include "decide.h"
#include "outbox.h"
#include "secret.h"
#include "cred.h"
#include "transport.h"
#include "tree.h"
#include "texts.h"
#include "worktree.h"
#include "import.h"
#include "export.h"

#endif
