/* gw_ops: operations endpoints, no token needed.
 *   GET /healthz  200 {"status":"ok"} while the process lives
 *   GET /readyz   200 {"status":"ok"} when every service of PM_READY_SERVICES
 *                 (default tenants,tickets,billing,notifications) answers
 *                 "<svc>.ping" with 200 within GW_READY_TIMEOUT_MS and the
 *                 gateway's database answers; else 503
 *                 {"status":"not_ready","missing":[...]} (plus the error body)
 *   GET /metrics  Prometheus text (gw_metrics) with the broker's broker.stats */
#ifndef GW_OPS_H
#define GW_OPS_H

#include "gw.h"

void gw_ops_healthz (gw_t *gw, gw_ctx_t *ctx);
void gw_ops_readyz (gw_t *gw, gw_ctx_t *ctx);
void gw_ops_metrics (gw_t *gw, gw_ctx_t *ctx);

#endif
