/* The program's side of the engine's CA-certificate hook (tls.c). */
#ifndef CS_CLI_TLS_H
#define CS_CLI_TLS_H

/* Register the hook (coordsync/tls.h) with the engine, before its first
 * use: libgit2's set-up then leaves the CA bundle to the first connection
 * that speaks TLS. */
void cli_tls_register(void);

#endif
