/* gw_metrics: counters and histograms for /metrics (Prometheus text format 0.0.4).
 *   pm_http_requests_total{route,method,status}
 *   pm_http_request_duration_seconds{route} (histogram)
 * plus gauges filled at render time: pm_service_workers{service},
 * pm_service_idle{service}, pm_service_queued{service} (from the broker's
 * broker.stats), pm_broker_requests_total, pm_client_pending,
 * pm_http_connections. Route labels are patterns ("/v1/properties/{pid}"),
 * never raw paths, so the number of series stays bounded. */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct gw_metrics gw_metrics_t;

/* labels[i] names route label i (borrowed; must outlive the metrics). */
gw_metrics_t *gw_metrics_new (const char *const *labels, size_t nlabels);
void gw_metrics_destroy (gw_metrics_t **self_p);

/* label -1 (or out of range) counts as "invalid" (a request that never
 * parsed). method: "GET", ...; others count as "OTHER". */
void gw_metrics_observe (gw_metrics_t *self, int label, const char *method, int status,
                         double seconds);

/* The text exposition (caller frees); broker_stats may be NULL. */
char *gw_metrics_render (const gw_metrics_t *self, const cJSON *broker_stats, size_t client_pending,
                         size_t connections, size_t *len);

#endif
