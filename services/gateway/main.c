/* pm-gateway: the platform's HTTP face. Serves the API of API.md by
 * turning routes into service requests through the broker, authenticates
 * callers, serves the web console, and answers /healthz, /readyz, /metrics.
 *
 * Environment (besides the shared ones of TEAM-NOTES.md):
 *   PM_HTTP_PORT (8080), PM_HTTP_HOST (0.0.0.0), PM_REQUEST_TIMEOUT_MS (5000),
 *   PM_TOKEN_TTL_S (43200), PM_WEB_DIR (services/gateway/web),
 *   PM_ADMIN_USER (admin), PM_ADMIN_PASSWORD (unset: no admin is created),
 *   PM_HTTP_IDLE_TIMEOUT_MS (60000), PM_HTTP_MAX_CONNECTIONS (10000),
 *   PM_HTTP_HEADER_TIMEOUT_MS (10000), PM_HTTP_BUFFER_MAX (67108864: 64 MiB),
 *   PM_HTTP_CONN_PER_ADDR (128; 0 = no limit),
 *   PM_READY_SERVICES (tenants,tickets,billing,notifications).
 * SIGTERM/SIGINT: stop accepting, finish what is in flight (at most the
 * request timeout and a little), exit 0; a second signal closes at once. */
#include "gw.h"

#include "config.h"
#include "gw_auth.h"
#include "gw_idem.h"
#include "gw_metrics.h"
#include "curve.h"
#include "log.h"

#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GW_CLEANUP_MS   (3600 * 1000)  /* old tokens and idempotency records */
#define GW_DRAIN_EXTRA_MS 2000
#define GW_MMAP_THRESHOLD (256 * 1024)

typedef struct {
    gw_t gw;
    uv_signal_t sigterm, sigint;
    uv_timer_t cleanup_timer;
    uv_timer_t idem_timer;           /* Idempotency-Key steps that waited for the database */
    uv_timer_t force_timer;
    /* metrics labels: each route pattern once, then "static", "unmatched" */
    const char **labels;
    int *route_label;
    size_t nlabels;
} s_app_t;

static void
s_on_done (void *arg, const http_req_t *req, int status)
{
    s_app_t *app = arg;
    gw_t *gw = &app->gw;
    int label = -1;
    if (req->route >= 0 && (size_t) req->route < gw->nroutes)
        label = app->route_label[req->route];
    else
    if (req->route == GW_LABEL_STATIC (gw))
        label = (int) app->nlabels - 2;
    else
    if (req->route == GW_LABEL_UNMATCHED (gw))
        label = (int) app->nlabels - 1;
    double secs = req->start_ns ? (double) (uv_hrtime () - req->start_ns) / 1e9 : 0;
    gw_metrics_observe (gw->metrics, label, req->method_name, status, secs);
    /* the route pattern, never the path: paths and queries may carry personal data */
    const char *name = label >= 0 ? app->labels[label] : "invalid";
    if (status >= 500)
        log_warn (req->request_id, "%s %s -> %d in %.1f ms", req->method_name, name, status, secs * 1e3);
    else
        log_debug (req->request_id, "%s %s -> %d in %.1f ms", req->method_name, name, status, secs * 1e3);
}

static int
s_labels (s_app_t *app)
{
    gw_t *gw = &app->gw;
    app->labels = calloc (gw->nroutes + 2, sizeof *app->labels);
    app->route_label = calloc (gw->nroutes, sizeof *app->route_label);
    if (!app->labels || !app->route_label)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < gw->nroutes; i++) {
        size_t j = 0;
        while (j < n && strcmp (app->labels[j], gw->routes[i].r.pattern) != 0)
            j++;
        if (j == n)
            app->labels[n++] = gw->routes[i].r.pattern;
        app->route_label[i] = (int) j;
    }
    app->labels[n++] = "static";
    app->labels[n++] = "unmatched";
    app->nlabels = n;
    gw->metrics = gw_metrics_new (app->labels, n);
    return gw->metrics ? 0 : -1;
}

static int
s_ready_services (gw_t *gw)
{
    const char *list = config_str ("PM_READY_SERVICES", GW_READY_SERVICES);
    char buf[512];
    snprintf (buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *s = strtok_r (buf, ", ", &save); s; s = strtok_r (NULL, ", ", &save)) {
        size_t n = strlen (s);
        bool ok = n >= 1 && n <= 32 && gw->nready_services < GW_MAX_SERVICES;
        for (size_t i = 0; ok && i < n; i++)
            ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-';
        if (!ok) {
            log_error (NULL, "PM_READY_SERVICES: \"%s\" is not a service name (or too many)", s);
            return -1;
        }
        gw->ready_services[gw->nready_services++] = strdup (s);
    }
    return 0;
}

static void
s_on_cleanup (uv_timer_t *t)
{
    s_app_t *app = t->data;
    long tokens = gw_auth_cleanup (app->gw.auth);
    long records = gw_idem_cleanup (app->gw.idem);
    log_info (NULL, "cleanup: %ld old tokens, %ld idempotency records deleted", tokens, records);
}

static void
s_on_idem_flush (uv_timer_t *t)
{
    s_app_t *app = t->data;
    if (gw_idem_pending (app->gw.idem))
        gw_idem_flush (app->gw.idem);
}

static void
s_on_force (uv_timer_t *t)
{
    s_app_t *app = t->data;
    log_warn (NULL, "drain took too long: closing every connection");
    http_server_close_all (app->gw.http);
}

/* Every connection is closed and every request answered: let go of the rest
 * so that the loop ends. */
static void
s_on_drained (void *arg)
{
    s_app_t *app = arg;
    gw_t *gw = &app->gw;
    log_info (NULL, "drained");
    gw_api_shutdown (gw);
    client_destroy (&gw->client);
    uv_close ((uv_handle_t *) &app->sigterm, NULL);
    uv_close ((uv_handle_t *) &app->sigint, NULL);
    uv_close ((uv_handle_t *) &app->cleanup_timer, NULL);
    uv_close ((uv_handle_t *) &app->idem_timer, NULL);
    uv_close ((uv_handle_t *) &app->force_timer, NULL);
}

static void
s_on_signal (uv_signal_t *s, int signum)
{
    s_app_t *app = s->data;
    gw_t *gw = &app->gw;
    if (gw->stopping) {
        http_server_close_all (gw->http);
        return;
    }
    log_info (NULL, "signal %d: draining", signum);
    gw->stopping = true;
    uv_timer_start (&app->force_timer, s_on_force, (uint64_t) gw->timeout_ms + GW_DRAIN_EXTRA_MS, 0);
    http_server_stop (gw->http, s_on_drained, app);
}

/* The settings of the environment: the gateway's own into gw, the HTTP
 * server's into cfg. -1 (logged) when they contradict each other. */
static int
s_configure (gw_t *gw, http_server_cfg_t *cfg)
{
    gw->timeout_ms = config_int ("PM_REQUEST_TIMEOUT_MS", GW_REQUEST_TIMEOUT_MS, 10, 600000);
    gw->token_ttl_s = config_int ("PM_TOKEN_TTL_S", GW_TOKEN_TTL_S, 60, 366 * 86400);
    gw->import_timeout_ms = config_int ("PM_IMPORT_TIMEOUT_MS", GW_IMPORT_TIMEOUT_MS, 10, 600000);
    gw->import_max_bytes = (size_t) config_int ("PM_IMPORT_MAX_BYTES", GW_IMPORT_MAX_BYTES,
                                                HTTP_MAX_BODY_BYTES, GW_IMPORT_MAX_CEILING);
    int64_t per_addr = config_int ("PM_HTTP_CONN_PER_ADDR", HTTP_CONN_PER_ADDR, 0, 1000000);
    *cfg = (http_server_cfg_t) {
        .host = config_str ("PM_HTTP_HOST", "0.0.0.0"),
        .port = (int) config_int ("PM_HTTP_PORT", 8080, 0, 65535),
        .idle_timeout_ms = (uint64_t) config_int ("PM_HTTP_IDLE_TIMEOUT_MS", HTTP_IDLE_TIMEOUT_MS,
                                                  100, 3600000),
        .max_connections = (size_t) config_int ("PM_HTTP_MAX_CONNECTIONS", HTTP_MAX_CONNECTIONS,
                                                1, 1000000),
        .header_timeout_ms = (uint64_t) config_int ("PM_HTTP_HEADER_TIMEOUT_MS",
                                                    HTTP_HEADER_TIMEOUT_MS, 100, 3600000),
        .buffer_max = (size_t) config_int ("PM_HTTP_BUFFER_MAX", HTTP_BUFFER_MAX, 1024 * 1024,
                                           INT64_MAX / 2),
        .conn_per_addr = per_addr ? (size_t) per_addr : HTTP_UNLIMITED,
    };
    /* a budget smaller than one import would refuse every import (503) */
    if (cfg->buffer_max < gw->import_max_bytes + HTTP_MAX_BODY_BYTES) {
        log_error (NULL, "PM_HTTP_BUFFER_MAX (%zu) must be at least PM_IMPORT_MAX_BYTES (%zu) + 1 MiB",
                   cfg->buffer_max, gw->import_max_bytes);
        return -1;
    }
    const char *web = config_str ("PM_WEB_DIR", "services/gateway/web");
    if (!realpath (web, gw->web_root)) {
        log_warn (NULL, "PM_WEB_DIR %s not found: the console is not served", web);
        gw->web_root[0] = 0;
    }
    return s_ready_services (gw);
}

/* Signals, and the timers of cleanup and of idempotency steps that waited
 * for the database. */
static void
s_start_handles (s_app_t *app)
{
    uv_loop_t *loop = app->gw.loop;
    uv_signal_init (loop, &app->sigterm);
    uv_signal_init (loop, &app->sigint);
    app->sigterm.data = app->sigint.data = app;
    uv_signal_start (&app->sigterm, s_on_signal, SIGTERM);
    uv_signal_start (&app->sigint, s_on_signal, SIGINT);
    uv_timer_init (loop, &app->cleanup_timer);
    uv_timer_init (loop, &app->force_timer);
    uv_timer_init (loop, &app->idem_timer);
    app->cleanup_timer.data = app->force_timer.data = app->idem_timer.data = app;
    uv_timer_start (&app->cleanup_timer, s_on_cleanup, 60 * 1000, GW_CLEANUP_MS);
    uv_unref ((uv_handle_t *) &app->cleanup_timer);
    uv_timer_start (&app->idem_timer, s_on_idem_flush, GW_IDEM_FLUSH_MS, GW_IDEM_FLUSH_MS);
    uv_unref ((uv_handle_t *) &app->idem_timer);
}

/* What the process needs before anything else: the log, the bus's keys,
 * the allocator's choice, no death by SIGPIPE, libsodium. 0 or -1. */
static int
s_process_init (void)
{
    log_init ("gateway");
    if (curve_init ("gateway") != 0)
        return -1;
    /* request bodies (up to PM_IMPORT_MAX_BYTES) and their copies are big,
     * short-lived blocks: always mmap them, so each goes back to the system
     * when freed; glibc's moving threshold would otherwise serve the next
     * ones from a heap that never shrinks, and the memory a burst of uploads
     * took would stay ours for good */
    mallopt (M_MMAP_THRESHOLD, GW_MMAP_THRESHOLD);
    signal (SIGPIPE, SIG_IGN);       /* a client gone mid-write is an error code, not a death */
    if (sodium_init () < 0) {
        log_error (NULL, "libsodium cannot start");
        return -1;
    }
    return 0;
}

/* The database (its statements and the admin user), the Idempotency-Key
 * records and the broker client. 0, or -1 (logged). */
static int
s_open_backends (gw_t *gw)
{
    gw->db = db_new ("gateway", config_db_dsn ("gateway"), pm_migrations);
    if (!gw->db) {
        log_error (NULL, "cannot reach the gateway database");
        return -1;
    }
    gw->auth = gw_auth_new (gw);
    gw->idem = gw_idem_new (gw->db);
    if (!gw->auth || !gw->idem || gw_auth_bootstrap (gw->auth) != 0) {
        log_error (NULL, "cannot prepare the gateway's statements or its admin");
        return -1;
    }
    gw->client = client_new (gw->loop);
    if (!gw->client) {
        log_error (NULL, "cannot open the broker client");
        return -1;
    }
    return 0;
}

/* The route table, the metrics' labels and the HTTP server on cfg's
 * address, then the signals and timers. 0, or -1 (logged). */
static int
s_listen (s_app_t *app, http_server_cfg_t *cfg)
{
    gw_t *gw = &app->gw;
    if (gw_api_init (gw) != 0 || s_labels (app) != 0) {
        log_error (NULL, "bad route table");
        return -1;
    }
    cfg->on_request = gw_on_request;
    cfg->on_headers = gw_on_headers;
    cfg->on_abandon = gw_on_abandon;
    cfg->on_done = s_on_done;
    /* the server calls back with app as its argument: gw_on_request takes a
     * gw_t, which is app's first member */
    cfg->app = app;
    int err = 0;
    gw->http = http_server_new (gw->loop, cfg, &err);
    if (!gw->http) {
        log_error (NULL, "cannot listen on %s:%d: %s", cfg->host, cfg->port, uv_strerror (err));
        return -1;
    }
    s_start_handles (app);
    log_info (NULL, "listening on %s:%d (timeout %lld ms, buffers %zu bytes, %zu connections "
              "per address, console %s)", cfg->host, http_server_port (gw->http),
              (long long) gw->timeout_ms, cfg->buffer_max,
              cfg->conn_per_addr == HTTP_UNLIMITED ? (size_t) 0 : cfg->conn_per_addr,
              gw->web_root[0] ? gw->web_root : "none");
    return 0;
}

int
main (void)
{
    if (s_process_init () != 0)
        return 1;
    int rc = 1;
    s_app_t *app = calloc (1, sizeof *app);
    if (!app)
        return 1;
    gw_t *gw = &app->gw;
    gw->loop = uv_default_loop ();
    http_server_cfg_t cfg;
    if (s_configure (gw, &cfg) != 0 || s_open_backends (gw) != 0)
        goto out;
    if (s_listen (app, &cfg) != 0)
        goto out_loop;
    uv_run (gw->loop, UV_RUN_DEFAULT);
    rc = 0;

out_loop:
    /* after a failure before the loop ran: close what the loop holds */
    gw_api_shutdown (gw);
    client_destroy (&gw->client);
    uv_run (gw->loop, UV_RUN_DEFAULT);
    http_server_destroy (&gw->http);
out:
    client_destroy (&gw->client);
    gw_api_free_pool (gw);
    gw_auth_destroy (&gw->auth);
    gw_idem_destroy (&gw->idem);
    db_destroy (&gw->db);
    gw_metrics_destroy (&gw->metrics);
    free (app->labels);
    free (app->route_label);
    for (int i = 0; i < gw->nready_services; i++)
        free (gw->ready_services[i]);
    uv_loop_close (gw->loop);
    free (app);
    log_info (NULL, "stopped");
    return rc;
}
