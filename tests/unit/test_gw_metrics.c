/* test_gw_metrics: counters, histograms and the Prometheus text
 * (services/gateway/gw_metrics.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/gateway/gw_metrics.c"

static void
test_render (void **state)
{
    (void) state;
    const char *labels[] = { "/healthz", "/v1/properties/{pid}", "we\"ird\\" };
    gw_metrics_t *m = gw_metrics_new (labels, 3);
    assert_non_null (m);
    gw_metrics_observe (m, 0, "GET", 200, 0.0004);
    gw_metrics_observe (m, 0, "GET", 200, 0.003);
    gw_metrics_observe (m, 0, "GET", 503, 20.0);
    gw_metrics_observe (m, 1, "PATCH", 404, 0.2);
    gw_metrics_observe (m, 1, "BREW", 405, 0.2);
    gw_metrics_observe (m, -1, "", 400, 0.0);
    gw_metrics_observe (m, 99, NULL, 400, 0.0);
    gw_metrics_observe (m, 2, "GET", 200, 0.0);
    cJSON *stats = cJSON_Parse ("{\"services\":{\"tenants\":{\"workers\":2,\"idle\":1,\"queued\":3}},"
                                "\"requests\":42}");
    size_t len = 0;
    char *text = gw_metrics_render (m, stats, 7, 5, &len);
    assert_non_null (text);
    assert_int_equal (len, strlen (text));
    assert_non_null (strstr (text, "pm_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2\n"));
    assert_non_null (strstr (text, "pm_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"503\"} 1\n"));
    assert_non_null (strstr (text, "pm_http_requests_total{route=\"/v1/properties/{pid}\",method=\"OTHER\",status=\"405\"} 1\n"));
    assert_non_null (strstr (text, "pm_http_requests_total{route=\"invalid\",method=\"OTHER\",status=\"400\"} 2\n"));
    assert_non_null (strstr (text, "route=\"we\\\"ird\\\\\""));
    /* cumulative buckets */
    assert_non_null (strstr (text, "pm_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.001\"} 1\n"));
    assert_non_null (strstr (text, "pm_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.005\"} 2\n"));
    assert_non_null (strstr (text, "pm_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"10\"} 2\n"));
    assert_non_null (strstr (text, "pm_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 3\n"));
    assert_non_null (strstr (text, "pm_http_request_duration_seconds_count{route=\"/healthz\"} 3\n"));
    assert_non_null (strstr (text, "pm_service_workers{service=\"tenants\"} 2\n"));
    assert_non_null (strstr (text, "pm_service_idle{service=\"tenants\"} 1\n"));
    assert_non_null (strstr (text, "pm_service_queued{service=\"tenants\"} 3\n"));
    assert_non_null (strstr (text, "pm_broker_requests_total 42\n"));
    assert_non_null (strstr (text, "pm_broker_up 1\n"));
    assert_non_null (strstr (text, "pm_client_pending 7\n"));
    assert_non_null (strstr (text, "pm_http_connections 5\n"));
    /* every sample line is "name{...} value" or "name value" */
    for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n"))
        if (line[0] != '#')
            assert_non_null (strrchr (line, ' '));
    free (text);
    text = gw_metrics_render (m, NULL, 0, 0, &len);
    assert_non_null (strstr (text, "pm_broker_up 0\n"));
    assert_null (strstr (text, "pm_service_workers{"));
    free (text);
    cJSON_Delete (stats);
    /* many distinct statuses grow the table */
    for (int s = 100; s < 600; s++)
        gw_metrics_observe (m, 0, "POST", s, 0.01);
    text = gw_metrics_render (m, NULL, 0, 0, &len);
    assert_non_null (strstr (text, "status=\"599\"} 1\n"));
    free (text);
    gw_metrics_destroy (&m);
    assert_null (m);
    gw_metrics_destroy (&m);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_render),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
