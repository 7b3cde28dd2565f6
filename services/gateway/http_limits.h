/* http_limits: the edge's accounting, pure (no I/O, no clock), so that what
 * strangers can make the gateway hold has one home and a unit test
 * (tests/unit/test_gw_http.c):
 *   - a budget of bytes buffered across all connections (request lines,
 *     kept headers, bodies as announced, pipelined bytes): a request that
 *     would pass it is refused (503), so memory stays bounded whatever is sent;
 *   - a count of open connections per client address (an IPv6 client by its
 *     /64, which one machine usually has whole): over the cap, 429.
 * http_conn.c charges and releases; it decides what the answers are. */
#ifndef GW_HTTP_LIMITS_H
#define GW_HTTP_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* --- bytes buffered ---------------------------------------------------------- */

typedef struct {
    size_t max;                      /* 0 = no limit */
    size_t used;
    size_t peak;                     /* the most ever used (for tests and logs) */
} http_budget_t;

/* Takes n bytes: true, or false (nothing taken) when used + n would pass max. */
bool http_budget_take (http_budget_t *self, size_t n);

/* Gives back n bytes taken before (asserts n <= used). */
void http_budget_give (http_budget_t *self, size_t n);

/* --- connections per client address ----------------------------------------- */

#define HTTP_ADDRS_BUCKETS 4096      /* a power of two */

/* A client address as a key: IPv4 as ::ffff:a.b.c.d, IPv6 by its first 64 bits. */
typedef struct {
    unsigned char b[16];
} http_addr_t;

typedef struct http_addrs http_addrs_t;

/* max_per_addr 0 = no limit (the table still counts). seed: a random value,
 * so that nobody can choose addresses that share a bucket. */
http_addrs_t *http_addrs_new (size_t max_per_addr, uint64_t seed);
void http_addrs_destroy (http_addrs_t **self_p);

/* The key of a peer address; -1 for a family that is neither IPv4 nor IPv6
 * (a unix socket: not limited). */
int http_addr_key (const struct sockaddr *sa, http_addr_t *out);

/* One more connection of addr: 0, or -1 when it has max_per_addr already (or
 * out of memory): nothing was counted then. */
int http_addrs_acquire (http_addrs_t *self, const http_addr_t *addr);

/* One connection of addr fewer (one counted by http_addrs_acquire). */
void http_addrs_release (http_addrs_t *self, const http_addr_t *addr);

/* Open connections of addr; and how many addresses are in the table. */
size_t http_addrs_count (const http_addrs_t *self, const http_addr_t *addr);
size_t http_addrs_size (const http_addrs_t *self);

#endif
