/* gw: the gateway's shared state and the per-request context that every
 * gateway module (gw_api, gw_auth, gw_audit, gw_idem, gw_static, gw_ops)
 * works on, and gw_api.c's entry points and answers (below).
 *
 * One request = one gw_ctx_t, taken from a pool when the HTTP layer hands
 * over a request and given back when it is answered (gw_finish*). Every
 * path through the gateway ends in exactly one gw_finish* call. */
#ifndef GW_H
#define GW_H

#include "client.h"
#include "db.h"
#include "envelope.h"
#include "http_conn.h"
#include "router.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define GW_REQUEST_TIMEOUT_MS 5000   /* PM_REQUEST_TIMEOUT_MS */
#define GW_TOKEN_TTL_S        43200  /* PM_TOKEN_TTL_S: 12 h */
#define GW_READY_TIMEOUT_MS   1000   /* /readyz waits this long for each ping */
#define GW_STATS_TIMEOUT_MS   1000   /* /metrics waits this long for broker.stats */
#define GW_RETRY_WINDOW_MS    250    /* a GET answered 503 faster than this is retried once */
#define GW_READY_SERVICES     "tenants,tickets,billing,notifications"
#define GW_MAX_SERVICES       16
/* Bulk imports (GW_ROUTE_IMPORT): a bigger body and a longer deadline. */
#define GW_IMPORT_MAX_BYTES   (20 * 1024 * 1024)   /* PM_IMPORT_MAX_BYTES */
#define GW_IMPORT_MAX_CEILING (40 * 1024 * 1024)   /* the most PM_IMPORT_MAX_BYTES may say */
#define GW_IMPORT_TIMEOUT_MS  120000               /* PM_IMPORT_TIMEOUT_MS */
/* The broker drops a peer that sends a message over BROKER_MAX_MSG_SIZE
 * (64 MiB, services/broker/broker.h): a request envelope bigger than this
 * is answered 413 here instead (a CSV of control characters grows 6x as a
 * JSON string). */
#define GW_ENVELOPE_MAX_BYTES (60 * 1024 * 1024)
/* Attachments (GW_ROUTE_BLOB): a file's bytes as the body, up to
 * PM_ATTACHMENT_MAX_BYTES, at most MDP_BLOB_MAX (what the bus carries). */
#define GW_ATTACHMENT_MAX_BYTES (10 * 1024 * 1024)
/* A resident's parties (gw_resident.h): at most this many per sign-in, kept
 * as a JSON array's text: 8 quoted UUIDs, commas, brackets, NUL. */
#define GW_RESIDENT_PARTIES_MAX 8
#define GW_PARTY_IDS_TEXT_MAX   (GW_RESIDENT_PARTIES_MAX * 39 + 2)
/* The body a public route (no token: login) takes. */
#define GW_PUBLIC_MAX_BODY    (16 * 1024)

/* Roles, as bits, for the route table. */
#define GW_ROLE_ADMIN       (1u << 0)
#define GW_ROLE_MANAGER     (1u << 1)
#define GW_ROLE_AGENT       (1u << 2)
#define GW_ROLE_TECHNICIAN  (1u << 3)
#define GW_ROLE_INTEGRATION (1u << 4)
/* A resident signed in by SMS code (issue K, gw_resident.h): never in
 * GW_ROLES_ALL, so no staff route lets one in. */
#define GW_ROLE_RESIDENT    (1u << 5)
#define GW_ROLES_ALL        0x1fu
#define GW_ROLES_STAFF      (GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT | GW_ROLE_TECHNICIAN)

/* Route flags. */
#define GW_ROUTE_CSV        (1u << 0) /* accepts text/csv besides JSON */
#define GW_ROUTE_NO_IDEM    (1u << 1) /* ignores Idempotency-Key (see the route's comment) */
#define GW_ROUTE_IMPORT     (1u << 2) /* bulk import: body up to PM_IMPORT_MAX_BYTES, deadline PM_IMPORT_TIMEOUT_MS */
#define GW_ROUTE_FILE       (1u << 3) /* export: a 200 {"content_type":"text/csv...","filename","text"} is sent as that file */
#define GW_ROUTE_BLOB       (1u << 4) /* upload: the body is a file (filetype.h's types, up to
                                       * PM_ATTACHMENT_MAX_BYTES), not JSON: it goes as the
                                       * request's binary frame (mdp.h), its type and X-Filename
                                       * as params "content_type" and "filename" */

typedef struct gw gw_t;
typedef struct gw_ctx gw_ctx_t;
typedef struct gw_auth gw_auth_t;
typedef struct gw_metrics gw_metrics_t;
typedef struct gw_idem gw_idem_t;

typedef void (gw_handler_fn) (gw_t *gw, gw_ctx_t *ctx);

/* The argument of one of several calls a request makes at once (/readyz). */
typedef struct {
    gw_ctx_t *ctx;
    int index;
} gw_ops_arg_t;

typedef struct {
    router_route_t r;                /* method and pattern; first, for router_new */
    const char *service_method;      /* "tenants.units.get", or NULL for a local handler */
    gw_handler_fn *handler;          /* local handler, or NULL */
    unsigned roles;                  /* GW_ROLE_* allowed; 0 = public (no token needed) */
    unsigned flags;                  /* GW_ROUTE_* */
} gw_route_t;

/* Who is asking, after authentication. */
typedef struct {
    char id[ENVELOPE_ID_MAX + 1];    /* user id or API key id */
    char name[72];                   /* username or key name */
    char role[16];
    bool api_key;
    /* borrowed from the token cache: valid only until the request first
     * waits (service call, thread pool); copy what must live longer */
    const cJSON *property_ids;
    /* a resident's parties as a JSON array's text ("" for staff and keys):
     * by value, so that it lives as long as the context */
    char party_ids[GW_PARTY_IDS_TEXT_MAX];
} gw_caller_t;

struct gw_ctx {
    gw_t *gw;
    http_req_t *req;
    const gw_route_t *route;         /* NULL for static files and unknown paths */
    router_match_t match;
    bool checked;                    /* routed, authenticated, allowed: done at the headers (gw_on_headers) */
    bool authenticated;
    gw_caller_t caller;
    cJSON *caller_pids;              /* owned copy of caller.property_ids, which then points here */
    cJSON *params;                   /* path + query parameters (owned) */
    cJSON *data;                     /* parsed JSON body, or NULL (owned) */
    /* forwarding to a service */
    char service[40];
    char wire_id[ENVELOPE_ID_MAX + 1];   /* the id on the wire: unique among calls in flight */
    char *envelope;                  /* serialized request (owned), kept for a retry */
    int64_t deadline_ms;
    uint64_t sent_ms;                /* uv_now when sent */
    int attempts;
    gw_ctx_t *inflight_next;         /* bucket chain of wire ids in flight */
    gw_ctx_t *retry_next;            /* queue of GETs waiting for their retry */
    /* idempotency */
    bool idem_claimed;
    char idem_key[256];
    char idem_stamp[24];             /* the claim's stamp (GW_IDEM_STAMP_MAX) */
    char idem_fingerprint[65];       /* the request's, for the service (GW_IDEM_HASH_HEX) */
    /* /readyz and /metrics: several calls at once */
    int ops_pending;
    unsigned ops_failed;             /* bit per service that did not answer 200 */
    cJSON *ops_stats;                /* broker.stats reply body */
    gw_ops_arg_t ops_arg[GW_MAX_SERVICES];
    gw_ctx_t *pool_next;             /* the free list (gw->pool) */
};

struct gw {
    uv_loop_t *loop;
    http_server_t *http;
    client_t *client;
    db_t *db;
    router_t *router;
    gw_auth_t *auth;
    gw_idem_t *idem;                 /* Idempotency-Key records */
    gw_metrics_t *metrics;
    const gw_route_t *routes;
    size_t nroutes;
    char web_root[PATH_MAX];         /* realpath of PM_WEB_DIR, "" when missing */
    int64_t timeout_ms;
    int64_t import_timeout_ms;       /* GW_ROUTE_IMPORT routes */
    size_t import_max_bytes;         /* GW_ROUTE_IMPORT routes */
    size_t attachment_max_bytes;     /* GW_ROUTE_BLOB routes */
    int64_t token_ttl_s;
    char *ready_services[GW_MAX_SERVICES];
    int nready_services;
    bool stopping;
    gw_ctx_t *pool;                  /* free contexts */
    size_t ctx_live;
    gw_ctx_t *inflight[1024];        /* wire ids in flight, by hash */
    gw_ctx_t *retry_head, *retry_tail;
    uv_timer_t retry_timer;
    bool api_ready;                  /* gw_api_init ran (the retry timer lives) */
};

/* --- gw_api.c: routes, dispatch, forwarding, answers ----------------------- */

extern const gw_route_t gw_routes[];
extern const size_t gw_nroutes;

/* Metrics labels beyond the table's routes. */
#define GW_LABEL_STATIC(gw)    ((int) (gw)->nroutes)
#define GW_LABEL_UNMATCHED(gw) ((int) (gw)->nroutes + 1)

int gw_api_init (gw_t *gw);
void gw_api_shutdown (gw_t *gw);     /* answers queued retries, closes the retry timer */
void gw_api_free_pool (gw_t *gw);    /* after the loop has ended */

/* http_conn's on_request. */
void gw_on_request (void *app, http_req_t *req);
/* http_conn's on_headers: a request with a body is routed, authenticated
 * and checked (role, property, media type) before its body is read; a
 * refusal is answered at once; an import route gets its bigger body limit
 * only for a caller allowed to use it. gw_on_request goes on from there. */
void gw_on_headers (void *app, http_req_t *req);
/* http_conn's on_abandon: the context gw_on_headers attached is given back. */
void gw_on_abandon (void *app, http_req_t *req);

/* Answers and gives the context back. body: serialized JSON (consumed), or
 * NULL for no body. Stores the answer for an Idempotency-Key claimed by this
 * request (or releases the claim on a 5xx). */
void gw_finish (gw_ctx_t *ctx, int status, char *body, const char *extra);
void gw_finish_json (gw_ctx_t *ctx, int status, cJSON *json);          /* consumes json */
void gw_finish_error (gw_ctx_t *ctx, int status, const char *code, cJSON *details,
                      const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));
/* Answers a failed statement of the gateway's own database (res, borrowed):
 * the contract's status for its SQLSTATE (db_reply_error) with a message
 * that names the class only; what and the database's words go to the log. */
void gw_finish_db_error (gw_ctx_t *ctx, const PGresult *res, const char *what);
/* Answers a list read with res (cleared here): the database's error when
 * res failed, else page (consumed: page.h's body) with 200, or 500 when
 * page is NULL (out of memory). */
void gw_finish_page (gw_ctx_t *ctx, PGresult *res, cJSON *page, const char *what);
/* Answers with anything (static files): no idempotency. flags as http_respond. */
void gw_finish_raw (gw_ctx_t *ctx, int status, const char *content_type, char *body,
                    size_t len, unsigned flags, const char *extra);

/* A unique id for an internal call (pings, stats): 32 hex characters. */
void gw_fresh_id (char out[ENVELOPE_ID_MAX + 1]);

#endif
