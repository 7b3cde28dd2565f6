/* http_limits: the edge's accounting; see http_limits.h. */
#include "http_limits.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* --- bytes buffered ---------------------------------------------------------- */

bool
http_budget_take (http_budget_t *self, size_t n)
{
    if (self->max && (n > self->max || self->used > self->max - n))
        return false;
    self->used += n;
    if (self->used > self->peak)
        self->peak = self->used;
    return true;
}

void
http_budget_give (http_budget_t *self, size_t n)
{
    assert (n <= self->used);
    self->used -= n <= self->used ? n : self->used;
}

/* --- connections per client address ----------------------------------------- */

typedef struct s_entry s_entry_t;
struct s_entry {
    http_addr_t addr;
    size_t count;
    s_entry_t *next;
};

struct http_addrs {
    size_t max;
    uint64_t seed;
    size_t size;
    s_entry_t *bucket[HTTP_ADDRS_BUCKETS];
};

http_addrs_t *
http_addrs_new (size_t max_per_addr, uint64_t seed)
{
    http_addrs_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->max = max_per_addr;
    self->seed = seed;
    return self;
}

void
http_addrs_destroy (http_addrs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    http_addrs_t *self = *self_p;
    for (size_t i = 0; i < HTTP_ADDRS_BUCKETS; i++)
        for (s_entry_t *e = self->bucket[i], *next; e; e = next) {
            next = e->next;
            free (e);
        }
    free (self);
    *self_p = NULL;
}

int
http_addr_key (const struct sockaddr *sa, http_addr_t *out)
{
    memset (out, 0, sizeof *out);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
        out->b[10] = out->b[11] = 0xff;
        memcpy (out->b + 12, &in->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
        const unsigned char *a = in6->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        /* an IPv4 client on a dual-stack socket is that IPv4 address */
        memcpy (out->b, a, memcmp (a, mapped, sizeof mapped) == 0 ? 16 : 8);
        return 0;
    }
    return -1;
}

static size_t
s_hash (const http_addrs_t *self, const http_addr_t *addr)
{
    uint64_t h = 14695981039346656037ull ^ self->seed;
    for (size_t i = 0; i < sizeof addr->b; i++)
        h = (h ^ addr->b[i]) * 1099511628211ull;
    h ^= h >> 29;
    return (size_t) (h & (HTTP_ADDRS_BUCKETS - 1));
}

static s_entry_t **
s_find (const http_addrs_t *self, const http_addr_t *addr)
{
    s_entry_t **p = (s_entry_t **) &self->bucket[s_hash (self, addr)];
    while (*p && memcmp ((*p)->addr.b, addr->b, sizeof addr->b) != 0)
        p = &(*p)->next;
    return p;
}

int
http_addrs_acquire (http_addrs_t *self, const http_addr_t *addr)
{
    s_entry_t **p = s_find (self, addr);
    if (*p) {
        if (self->max && (*p)->count >= self->max)
            return -1;
        (*p)->count++;
        return 0;
    }
    s_entry_t *e = calloc (1, sizeof *e);
    if (!e)
        return -1;
    e->addr = *addr;
    e->count = 1;
    *p = e;
    self->size++;
    return 0;
}

void
http_addrs_release (http_addrs_t *self, const http_addr_t *addr)
{
    s_entry_t **p = s_find (self, addr);
    assert (*p && (*p)->count > 0);
    if (!*p)
        return;
    if (--(*p)->count == 0) {
        s_entry_t *e = *p;
        *p = e->next;
        free (e);
        self->size--;
    }
}

size_t
http_addrs_count (const http_addrs_t *self, const http_addr_t *addr)
{
    s_entry_t *const *p = s_find (self, addr);
    return *p ? (*p)->count : 0;
}

size_t
http_addrs_size (const http_addrs_t *self)
{
    return self->size;
}
