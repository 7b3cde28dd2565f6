/* bus_probe: a ZeroMQ peer that tries the broker the way an attacker on the
 * same network would, for tests/blackbox/test_bus.py. Not part of the product.
 *
 *   bus_probe KEY call METHOD USER_ID ROLE   a client request (body {})
 *   bus_probe KEY ready SERVICE              says READY for SERVICE
 *   bus_probe KEY publish TOPIC              sends event wake-ups with TOPIC
 *
 * KEY: "none" (a plain socket), "stranger" (a fresh key on no allow-list),
 * or an identity whose key is in PM_KEYS_DIR. Endpoints and keys come from
 * the environment, as for the daemons. Prints one JSON line:
 *   call     {"answer": <status> | null}
 *   ready    {"answer": <frames> | null, "workers_before": n, "workers_after": n}
 *   publish  {"delivered": n}
 * where workers_* and delivered are observed with the gateway's key. */
#include "config.h"
#include "curve.h"
#include "envelope.h"
#include "log.h"
#include "mdp.h"
#include "zloop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define PROBE_WAIT_MS 1000

static void *
s_socket (int type, const char *key, const char *endpoint)
{
    void *sock = pm_zmq_socket (type);
    if (!sock)
        exit (2);
    if (strcmp (key, "stranger") == 0) {
        char pub[CURVE_Z85_LEN + 1], sec[CURVE_Z85_LEN + 1], broker[64] = "", path[4200];
        snprintf (path, sizeof path, "%s/broker.pub", curve_keys_dir ());
        FILE *f = fopen (path, "r");
        if (!f || !fgets (broker, sizeof broker, f) || zmq_curve_keypair (pub, sec) != 0)
            exit (2);
        fclose (f);
        zmq_setsockopt (sock, ZMQ_CURVE_SERVERKEY, broker, CURVE_Z85_LEN);
        zmq_setsockopt (sock, ZMQ_CURVE_PUBLICKEY, pub, CURVE_Z85_LEN);
        zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, sec, CURVE_Z85_LEN);
    }
    else
    if (strcmp (key, "none") != 0) {
        if (curve_init (key) != 0 || curve_client (sock) != 0)
            exit (2);
    }
    if (zmq_connect (sock, endpoint) != 0)
        exit (2);
    return sock;
}

/* Waits for one message; its frame count, or -1 after timeout_ms. */
static int
s_wait (void *sock, int timeout_ms, zmsg_t *m)
{
    zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, timeout_ms) <= 0 || zmsg_recv (sock, m) != 0)
        return -1;
    return m->count;
}

/* A client request; the reply's status, or -1 when none came. */
static int
s_call (void *sock, const char *method, const char *user_id, const char *role)
{
    static int seq;
    char id[32], service[MDP_SERVICE_MAX + 1];
    snprintf (id, sizeof id, "probe-%d", ++seq);
    snprintf (service, sizeof service, "%.*s", (int) strcspn (method, "."), method);
    env_caller_t caller = { .user_id = user_id, .role = role };
    char *json = env_request_build (id, method, &caller, env_now_ms () + PROBE_WAIT_MS, NULL);
    const void *data[] = { "", MDP_CLIENT, service, id, json };
    zmsg_send (sock, 5, data, NULL);
    free (json);
    zmsg_t m = { 0 };
    int status = -1;
    if (s_wait (sock, PROBE_WAIT_MS, &m) == 5) {
        env_reply_t rep;
        char rid[ENVELOPE_ID_MAX + 1];
        if (env_reply_parse (m.frame[4].data, m.frame[4].size, rid, &rep) == 0)
            status = rep.status;
        env_reply_reset (&rep);
    }
    zmsg_free (&m);
    return status;
}

/* Workers the broker counts for service, asked with the gateway's key. */
static int
s_workers (const char *service)
{
    void *sock = s_socket (ZMQ_DEALER, "gateway", config_broker_endpoint ());
    char id[] = "probe-stats";
    env_caller_t caller = { .user_id = "gateway", .role = "service" };
    char *json = env_request_build (id, "broker.stats", &caller, env_now_ms () + PROBE_WAIT_MS, NULL);
    const void *data[] = { "", MDP_CLIENT, "broker", id, json };
    zmsg_send (sock, 5, data, NULL);
    free (json);
    zmsg_t m;
    int n = -1;
    if (s_wait (sock, PROBE_WAIT_MS, &m) == 5) {
        env_reply_t rep;
        char rid[ENVELOPE_ID_MAX + 1];
        if (env_reply_parse (m.frame[4].data, m.frame[4].size, rid, &rep) == 0) {
            const cJSON *s = cJSON_GetObjectItem (cJSON_GetObjectItem (rep.body, "services"), service);
            const cJSON *w = cJSON_GetObjectItem (s, "workers");
            n = cJSON_IsNumber (w) ? w->valueint : 0;
        }
        env_reply_reset (&rep);
        zmsg_free (&m);
    }
    zmq_close (sock);
    return n;
}

int
main (int argc, char **argv)
{
    log_init ("probe");
    if (argc < 4) {
        fprintf (stderr, "usage: bus_probe KEY call METHOD USER ROLE | ready SERVICE | publish TOPIC\n");
        return 2;
    }
    const char *key = argv[1], *action = argv[2];
    if (strcmp (action, "call") == 0 && argc == 6) {
        void *sock = s_socket (ZMQ_DEALER, key, config_broker_endpoint ());
        int status = s_call (sock, argv[3], argv[4], argv[5]);
        if (status < 0)
            printf ("{\"answer\": null}\n");
        else
            printf ("{\"answer\": %d}\n", status);
        return 0;
    }
    if (strcmp (action, "ready") == 0) {
        int before = s_workers (argv[3]);
        void *sock = s_socket (ZMQ_DEALER, key, config_broker_endpoint ());
        const void *data[] = { "", MDP_WORKER, MDP_READY, argv[3] };
        zmsg_send (sock, 4, data, NULL);
        zmsg_t m;
        int frames = s_wait (sock, PROBE_WAIT_MS, &m);
        if (frames >= 0)
            zmsg_free (&m);
        int after = s_workers (argv[3]);
        if (frames < 0)
            printf ("{\"answer\": null, \"workers_before\": %d, \"workers_after\": %d}\n", before, after);
        else
            printf ("{\"answer\": %d, \"workers_before\": %d, \"workers_after\": %d}\n", frames,
                    before, after);
        return 0;
    }
    if (strcmp (action, "publish") == 0) {
        const char *topic = argv[3];
        void *sub = s_socket (ZMQ_SUB, "gateway", config_events_out_endpoint ());
        zmq_setsockopt (sub, ZMQ_SUBSCRIBE, topic, strlen (topic));
        void *pub = s_socket (ZMQ_PUB, key, config_events_in_endpoint ());
        int delivered = 0;
        int64_t end = env_now_ms () + PROBE_WAIT_MS;
        while (env_now_ms () < end) {
            zmq_send (pub, topic, strlen (topic), ZMQ_DONTWAIT);
            zmsg_t m;
            while (s_wait (sub, 20, &m) >= 0) {
                delivered++;
                zmsg_free (&m);
            }
        }
        printf ("{\"delivered\": %d}\n", delivered);
        return 0;
    }
    fprintf (stderr, "bus_probe: unknown action\n");
    return 2;
}
