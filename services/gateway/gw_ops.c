/* gw_ops: /healthz, /readyz, /metrics; see gw_ops.h. */
#include "gw_ops.h"

#include "gw_metrics.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const env_caller_t s_gateway = { .user_id = "gateway", .role = "service", .property_ids = NULL };

void
gw_ops_healthz (gw_t *gw, gw_ctx_t *ctx)
{
    (void) gw;
    gw_finish (ctx, 200, strdup ("{\"status\":\"ok\"}"), NULL);
}

/* Sends "<service>.<what>" with a fresh id; 0, or -1 when it could not go. */
static int
s_ask (gw_t *gw, const char *service, const char *method, int64_t deadline, client_reply_fn *cb,
       void *arg)
{
    char id[ENVELOPE_ID_MAX + 1];
    gw_fresh_id (id);
    char *env = env_request_build (id, method, &s_gateway, deadline, NULL);
    if (!env)
        return -1;
    /* client_send copies the request into the socket at once */
    int rc = client_send (gw->client, service, id, env, deadline, cb, arg);
    free (env);
    return rc;
}

static void
s_ready_answer (gw_ctx_t *ctx)
{
    gw_t *gw = ctx->gw;
    bool db_up = db_alive (gw->db);
    if (!ctx->ops_failed && db_up) {
        gw_finish (ctx, 200, strdup ("{\"status\":\"ok\"}"), NULL);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddStringToObject (out, "status", "not_ready");
    cJSON *missing = cJSON_AddArrayToObject (out, "missing");
    cJSON *details = cJSON_CreateArray ();
    for (int i = 0; i < gw->nready_services; i++)
        if (ctx->ops_failed & (1u << i)) {
            cJSON_AddItemToArray (missing, cJSON_CreateString (gw->ready_services[i]));
            cJSON *d = cJSON_CreateObject ();
            cJSON_AddStringToObject (d, "field", gw->ready_services[i]);
            cJSON_AddStringToObject (d, "problem", "no live instance answered ping with 200");
            cJSON_AddItemToArray (details, d);
        }
    if (!db_up) {
        cJSON_AddItemToArray (missing, cJSON_CreateString ("gateway.db"));
        cJSON *d = cJSON_CreateObject ();
        cJSON_AddStringToObject (d, "field", "gateway.db");
        cJSON_AddStringToObject (d, "problem", "the gateway's database does not answer");
        cJSON_AddItemToArray (details, d);
    }
    /* the contract's error body as well, so that every 5xx looks alike */
    cJSON *err = cJSON_AddObjectToObject (out, "error");
    cJSON_AddStringToObject (err, "code", "service_unavailable");
    cJSON_AddStringToObject (err, "message", "not ready");
    cJSON_AddItemToObject (err, "details", details);
    cJSON_AddStringToObject (out, "request_id", ctx->req->request_id);
    gw_finish_json (ctx, 503, out);
}

static void
s_on_ping (void *arg, env_reply_t *rep)
{
    gw_ops_arg_t *a = arg;
    gw_ctx_t *ctx = a->ctx;
    if (rep->status != 200)
        ctx->ops_failed |= 1u << a->index;
    if (--ctx->ops_pending == 0)
        s_ready_answer (ctx);
}

void
gw_ops_readyz (gw_t *gw, gw_ctx_t *ctx)
{
    int64_t deadline = env_now_ms () + GW_READY_TIMEOUT_MS;
    ctx->ops_pending = 1;            /* held until every ping is sent */
    for (int i = 0; i < gw->nready_services; i++) {
        char method[64];
        snprintf (method, sizeof method, "%s.ping", gw->ready_services[i]);
        ctx->ops_arg[i].ctx = ctx;
        ctx->ops_arg[i].index = i;
        ctx->ops_pending++;
        if (s_ask (gw, gw->ready_services[i], method, deadline, s_on_ping, &ctx->ops_arg[i]) != 0) {
            ctx->ops_pending--;
            ctx->ops_failed |= 1u << i;
        }
    }
    if (--ctx->ops_pending == 0)
        s_ready_answer (ctx);
}

static void
s_metrics_answer (gw_ctx_t *ctx)
{
    gw_t *gw = ctx->gw;
    size_t len = 0;
    char *text = gw_metrics_render (gw->metrics, ctx->ops_stats, client_pending (gw->client),
                                    http_server_connections (gw->http), &len);
    if (!text) {
        gw_finish_error (ctx, 500, "internal", NULL, "out of memory");
        return;
    }
    gw_finish_raw (ctx, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, HTTP_FREE_BODY,
                   "Cache-Control: no-store\r\n");
}

static void
s_on_stats (void *arg, env_reply_t *rep)
{
    gw_ctx_t *ctx = arg;
    if (rep->status == 200 && cJSON_IsObject (rep->body)) {
        ctx->ops_stats = rep->body;
        rep->body = NULL;            /* ours now */
    }
    s_metrics_answer (ctx);
}

void
gw_ops_metrics (gw_t *gw, gw_ctx_t *ctx)
{
    if (s_ask (gw, "broker", "broker.stats", env_now_ms () + GW_STATS_TIMEOUT_MS, s_on_stats, ctx) != 0)
        s_metrics_answer (ctx);
}
