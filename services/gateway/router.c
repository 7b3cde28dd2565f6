/* router: compiled route patterns and matching; see router.h. */
#include "router.h"

#include "url.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *text;                /* literal segment, or the parameter's name */
    size_t len;
    bool param;
} s_segment_t;

typedef struct {
    const char *method;
    int nseg;
    s_segment_t seg[ROUTER_MAX_SEGMENTS];
} s_route_t;

struct router {
    size_t count;
    s_route_t *routes;
    char *names;                     /* parameter names, NUL-terminated copies */
};

router_t *
router_new (const void *routes, size_t count, size_t stride)
{
    router_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->count = count;
    self->routes = calloc (count ? count : 1, sizeof *self->routes);
    size_t names_len = 0;
    for (size_t i = 0; i < count; i++)
        names_len += strlen (((const router_route_t *) ((const char *) routes + i * stride))->pattern) + 1;
    self->names = malloc (names_len + 1);
    if (!self->routes || !self->names)
        goto fail;
    char *names = self->names;
    for (size_t i = 0; i < count; i++) {
        const router_route_t *r = (const router_route_t *) ((const char *) routes + i * stride);
        s_route_t *c = &self->routes[i];
        c->method = r->method;
        const char *p = r->pattern;
        if (!p || *p != '/' || !r->method)
            goto fail;
        while (*p == '/') {
            p++;
            const char *end = strchr (p, '/');
            size_t len = end ? (size_t) (end - p) : strlen (p);
            if (len == 0 || c->nseg == ROUTER_MAX_SEGMENTS)
                goto fail;
            s_segment_t *s = &c->seg[c->nseg++];
            if (p[0] == '{') {
                if (len < 3 || p[len - 1] != '}')
                    goto fail;
                memcpy (names, p + 1, len - 2);
                names[len - 2] = 0;
                s->text = names;
                s->len = len - 2;
                s->param = true;
                names += len - 1;
            }
            else {
                s->text = p;
                s->len = len;
            }
            p += len;
        }
        if (*p)
            goto fail;
    }
    return self;
fail:
    router_destroy (&self);
    return NULL;
}

void
router_destroy (router_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    router_t *self = *self_p;
    free (self->routes);
    free (self->names);
    free (self);
    *self_p = NULL;
}

/* Whether route r matches the decoded segments; fills the params of m. */
static bool
s_match_segments (const s_route_t *r, int nseg, char *const *seg, const size_t *len,
                  router_match_t *m)
{
    if (r->nseg != nseg)
        return false;
    int np = 0;
    for (int i = 0; i < nseg; i++) {
        const s_segment_t *s = &r->seg[i];
        if (s->param) {
            if (len[i] == 0 || np == ROUTER_MAX_PARAMS)
                return false;
            m->param[np].name = s->text;
            m->param[np].value = seg[i];
            np++;
        }
        else
        if (s->len != len[i] || memcmp (s->text, seg[i], len[i]) != 0)
            return false;
    }
    m->nparams = np;
    return true;
}

router_result_t
router_match (const router_t *self, const char *method, const char *path, size_t path_len,
              router_match_t *m)
{
    m->index = -1;
    m->nparams = 0;
    m->allow[0] = 0;
    if (path_len == 0 || path[0] != '/' || path_len > ROUTER_PATH_MAX)
        return ROUTER_NOT_FOUND;

    /* split the raw path on '/', then decode each segment on its own, so
     * that an encoded "%2F" stays inside its segment */
    char *seg[ROUTER_MAX_SEGMENTS];
    size_t len[ROUTER_MAX_SEGMENTS];
    int nseg = 0;
    char *out = m->buf;
    size_t room = sizeof m->buf;
    const char *p = path + 1, *end = path + path_len;
    while (true) {
        const char *slash = memchr (p, '/', (size_t) (end - p));
        const char *stop = slash ? slash : end;
        if (nseg == ROUTER_MAX_SEGMENTS)
            return ROUTER_NOT_FOUND;
        long n = url_decode (p, (size_t) (stop - p), out, room, false);
        if (n < 0)
            return room > (size_t) (stop - p) ? ROUTER_BAD_PATH : ROUTER_NOT_FOUND;
        seg[nseg] = out;
        len[nseg] = (size_t) n;
        nseg++;
        out += n + 1;
        room -= (size_t) n + 1;
        if (!slash)
            break;
        p = slash + 1;
    }

    bool other_method = false;
    size_t alen = 0;
    for (size_t i = 0; i < self->count; i++) {
        const s_route_t *r = &self->routes[i];
        if (!s_match_segments (r, nseg, seg, len, m))
            continue;
        if (strcmp (r->method, method) == 0) {
            m->index = (int) i;
            return ROUTER_OK;
        }
        other_method = true;
        /* the Allow list: each method once, in table order */
        size_t mlen = strlen (r->method);
        bool seen = false;
        for (const char *a = m->allow; *a;) {
            const char *comma = strchr (a, ',');
            size_t l = comma ? (size_t) (comma - a) : strlen (a);
            if (l == mlen && memcmp (a, r->method, mlen) == 0)
                seen = true;
            a = comma ? comma + 2 : a + l;
        }
        if (!seen && alen + mlen + 3 < sizeof m->allow) {
            if (alen) {
                memcpy (m->allow + alen, ", ", 2);
                alen += 2;
            }
            memcpy (m->allow + alen, r->method, mlen + 1);
            alen += mlen;
        }
    }
    m->nparams = 0;
    return other_method ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}

const char *
router_param (const router_match_t *m, const char *name)
{
    for (int i = 0; i < m->nparams; i++)
        if (strcmp (m->param[i].name, name) == 0)
            return m->param[i].value;
    return NULL;
}
