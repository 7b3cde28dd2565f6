/* gw_metrics: request counters and latency histograms; see gw_metrics.h. */
#include "gw_metrics.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double s_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                   1, 2.5, 5, 10 };
#define NBOUNDS (sizeof s_bounds / sizeof s_bounds[0])

static const char *const s_methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "OTHER" };
#define NMETHODS (sizeof s_methods / sizeof s_methods[0])

typedef struct {
    unsigned char method;
    short status;
    uint64_t count;
} s_counter_t;

typedef struct {
    const char *name;
    s_counter_t *counters;           /* a few (method, status) pairs per route */
    size_t ncounters, cap;
    uint64_t buckets[NBOUNDS];       /* not cumulative; summed when rendered */
    uint64_t count;
    double sum;
} s_label_t;

struct gw_metrics {
    s_label_t *labels;
    size_t nlabels;                  /* the last one is "invalid" */
};

gw_metrics_t *
gw_metrics_new (const char *const *labels, size_t nlabels)
{
    gw_metrics_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->labels = calloc (nlabels + 1, sizeof *self->labels);
    if (!self->labels) {
        free (self);
        return NULL;
    }
    self->nlabels = nlabels + 1;
    for (size_t i = 0; i < nlabels; i++)
        self->labels[i].name = labels[i];
    self->labels[nlabels].name = "invalid";
    return self;
}

void
gw_metrics_destroy (gw_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_metrics_t *self = *self_p;
    for (size_t i = 0; i < self->nlabels; i++)
        free (self->labels[i].counters);
    free (self->labels);
    free (self);
    *self_p = NULL;
}

void
gw_metrics_observe (gw_metrics_t *self, int label, const char *method, int status, double seconds)
{
    if (label < 0 || (size_t) label >= self->nlabels - 1)
        label = (int) self->nlabels - 1;
    s_label_t *l = &self->labels[label];
    unsigned char m = NMETHODS - 1;
    for (unsigned char i = 0; method && i < NMETHODS - 1; i++)
        if (strcmp (method, s_methods[i]) == 0) {
            m = i;
            break;
        }
    s_counter_t *c = NULL;
    for (size_t i = 0; i < l->ncounters; i++)
        if (l->counters[i].method == m && l->counters[i].status == status) {
            c = &l->counters[i];
            break;
        }
    if (!c) {
        if (l->ncounters == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 4;
            s_counter_t *p = realloc (l->counters, cap * sizeof *p);
            if (!p)
                return;
            l->counters = p;
            l->cap = cap;
        }
        c = &l->counters[l->ncounters++];
        c->method = m;
        c->status = (short) status;
        c->count = 0;
    }
    c->count++;
    for (size_t i = 0; i < NBOUNDS; i++)
        if (seconds <= s_bounds[i]) {
            l->buckets[i]++;
            break;
        }
    l->count++;
    l->sum += seconds;
}

typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} s_out_t;

static void __attribute__ ((format (printf, 2, 3)))
s_printf (s_out_t *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start (ap, fmt);
        int n = vsnprintf (o->data + o->len, o->cap - o->len, fmt, ap);
        va_end (ap);
        if (n < 0) {
            o->failed = 1;
            return;
        }
        if ((size_t) n < o->cap - o->len) {
            o->len += (size_t) n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t) n;
        char *p = realloc (o->data, cap);
        if (!p) {
            o->failed = 1;
            return;
        }
        o->data = p;
        o->cap = cap;
    }
}

/* A label value as Prometheus wants it: \ " and newline escaped. */
static const char *
s_esc (const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 3 < cap; s++) {
        if (*s == '\\' || *s == '"') {
            buf[n++] = '\\';
            buf[n++] = *s;
        }
        else
        if (*s == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        }
        else
            buf[n++] = *s;
    }
    buf[n] = 0;
    return buf;
}

char *
gw_metrics_render (const gw_metrics_t *self, const cJSON *broker_stats, size_t client_pending,
                   size_t connections, size_t *len)
{
    s_out_t o = { malloc (16384), 0, 16384, 0 };
    if (!o.data)
        return NULL;
    o.data[0] = 0;
    char esc[256];
    s_printf (&o, "# HELP pm_http_requests_total HTTP requests answered, by route pattern, method and status.\n"
                  "# TYPE pm_http_requests_total counter\n");
    for (size_t i = 0; i < self->nlabels; i++) {
        const s_label_t *l = &self->labels[i];
        s_esc (l->name, esc, sizeof esc);
        for (size_t j = 0; j < l->ncounters; j++)
            s_printf (&o, "pm_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n", esc,
                      s_methods[l->counters[j].method], l->counters[j].status,
                      (unsigned long long) l->counters[j].count);
    }
    s_printf (&o, "# HELP pm_http_request_duration_seconds Time from a request's first byte to its response.\n"
                  "# TYPE pm_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < self->nlabels; i++) {
        const s_label_t *l = &self->labels[i];
        if (l->count == 0)
            continue;
        s_esc (l->name, esc, sizeof esc);
        uint64_t cum = 0;
        for (size_t b = 0; b < NBOUNDS; b++) {
            cum += l->buckets[b];
            s_printf (&o, "pm_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", esc,
                      s_bounds[b], (unsigned long long) cum);
        }
        s_printf (&o, "pm_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", esc,
                  (unsigned long long) l->count);
        s_printf (&o, "pm_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", esc, l->sum);
        s_printf (&o, "pm_http_request_duration_seconds_count{route=\"%s\"} %llu\n", esc,
                  (unsigned long long) l->count);
    }
    const cJSON *services = cJSON_GetObjectItemCaseSensitive (broker_stats, "services");
    static const struct { const char *metric, *field, *help; } gauges[] = {
        { "pm_service_workers", "workers", "Live workers per service, as the broker sees them." },
        { "pm_service_idle", "idle", "Idle workers per service." },
        { "pm_service_queued", "queued", "Requests waiting at the broker for a worker, per service." },
    };
    for (size_t g = 0; g < sizeof gauges / sizeof gauges[0]; g++) {
        s_printf (&o, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g].metric, gauges[g].help, gauges[g].metric);
        const cJSON *svc;
        cJSON_ArrayForEach (svc, services) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive (svc, gauges[g].field);
            if (svc->string && cJSON_IsNumber (v))
                s_printf (&o, "%s{service=\"%s\"} %.0f\n", gauges[g].metric,
                          s_esc (svc->string, esc, sizeof esc), v->valuedouble);
        }
    }
    const cJSON *requests = cJSON_GetObjectItemCaseSensitive (broker_stats, "requests");
    if (cJSON_IsNumber (requests))
        s_printf (&o, "# HELP pm_broker_requests_total Requests the broker has routed.\n"
                      "# TYPE pm_broker_requests_total counter\npm_broker_requests_total %.0f\n",
                  requests->valuedouble);
    s_printf (&o, "# HELP pm_broker_up Whether the broker answered broker.stats for this scrape.\n"
                  "# TYPE pm_broker_up gauge\npm_broker_up %d\n", broker_stats ? 1 : 0);
    s_printf (&o, "# HELP pm_client_pending Requests of this gateway waiting for a service's reply.\n"
                  "# TYPE pm_client_pending gauge\npm_client_pending %zu\n", client_pending);
    s_printf (&o, "# HELP pm_http_connections Open HTTP connections.\n"
                  "# TYPE pm_http_connections gauge\npm_http_connections %zu\n", connections);
    if (o.failed) {
        free (o.data);
        return NULL;
    }
    *len = o.len;
    return o.data;
}
