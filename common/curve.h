/* curve: the keys that put a process on the encrypted bus (DESIGN.md, Trust).
 *
 * Every ZeroMQ socket to the broker (requests, replies, event wake-ups) uses
 * libzmq's CURVE. Each daemon has its own keypair; the broker admits only
 * the public keys on its allow-list, each mapped to an identity (gateway,
 * tenants, tickets, billing, notifications), and tells workers which
 * identity sent each request (broker.c, worker.c).
 *
 * Files, in PM_KEYS_DIR (default $PM_DATA_DIR/keys), all written 0600:
 *   <identity>.key   "public <z85>\nsecret <z85>\n": a daemon's keypair
 *   broker.pub       "<z85>\n": the broker's public key, which clients pin
 *   allow            "<identity> <z85 public key>" per line, # comments: the
 *                    broker's allow-list; an identity may have several keys
 *                    (rotation: old and new side by side)
 *
 *   if (curve_init ("tenants") != 0) return 1;    // at start, after log_init
 *   void *s = pm_zmq_socket (ZMQ_DEALER);
 *   curve_client (s);                              // before zmq_connect
 *
 * A process that never called curve_init makes plain sockets, which the
 * broker refuses: only unit tests that talk to no broker do that. */
#ifndef PM_CURVE_H
#define PM_CURVE_H

#include <stdbool.h>
#include <stddef.h>

/* A build with -DPM_BENCH_PLAIN_BUS has a plain, unauthenticated bus: only
 * for make bench, which measures what CURVE costs (bench/run.sh). Every
 * daemon of such a build says so loudly at start. */
#ifdef PM_BENCH_PLAIN_BUS
#define CURVE_ENFORCED 0
#else
#define CURVE_ENFORCED 1
#endif

#define CURVE_Z85_LEN      40        /* a 32-byte key in Z85 */
#define CURVE_IDENTITY_MAX 32        /* identities are service names (mdp.h) */
#define CURVE_ALLOW_MAX    256       /* keys on the broker's allow-list */

/* PM_KEYS_DIR, or <PM_DATA_DIR>/keys. Static storage. */
const char *curve_keys_dir (void);

/* Refuses (-1, logged) when libzmq lacks CURVE. Loads this process's keypair
 * (<identity>.key) and, unless identity is "broker", the broker's public key.
 * May be called again to become another identity (tests); sockets keep the
 * keys they were given. 0 or -1 (logged: which file, why). */
int curve_init (const char *identity);

/* The identity curve_init took, or NULL. */
const char *curve_identity (void);

/* Sets the CURVE client options on a socket that will connect to the broker.
 * 0, or -1 (errno) when libzmq refused an option. A no-op before curve_init. */
int curve_client (void *sock);

/* Sets the CURVE server options (the broker's keypair, ZAP domain "pm") on a
 * socket the broker will bind. 0 or -1. Requires curve_init ("broker"). */
int curve_server (void *sock);

/* The broker's allow-list. */
typedef struct {
    size_t count;
    struct {
        char identity[CURVE_IDENTITY_MAX + 1];
        unsigned char key[32];
    } entry[CURVE_ALLOW_MAX];
} curve_allow_t;

/* Reads <dir>/allow. 0, or -1 (logged: the file and line at fault). */
int curve_allow_load (const char *dir, curve_allow_t *allow);
/* The identity of a 32-byte public key, or NULL when it is not allowed. */
const char *curve_allow_find (const curve_allow_t *allow, const unsigned char key[32]);
/* Parses one allow-list line into identity and key: 1 (an entry), 0 (blank
 * or comment), -1 (malformed). Pure; unit-tested. */
int curve_allow_parse_line (const char *line, char identity[CURVE_IDENTITY_MAX + 1],
                            unsigned char key[32]);

/* Makes dir (0700) and, for each identity (NULL-terminated) without a
 * <identity>.key, a new keypair; writes broker.pub and adds every
 * identity's public key that is not on the allow-list yet. Keys that exist
 * are kept, so this is safe on every start. 0 or -1 (logged). */
int curve_keygen (const char *dir, const char *const *identities);

#endif
