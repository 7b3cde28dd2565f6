/* zap: the broker's ZAP handler (zap.h). */
#include "zap.h"
#include "log.h"
#include "zloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_POLL_MS  200             /* how often the thread looks at `stop` */

struct zap {
    curve_allow_t allow;
    void *sock;
    pthread_t thread;
    atomic_bool stop;
    time_t last_warn;                /* refusals are logged at most once a second */
    unsigned long warn_suppressed;
};

/* ZAP request: version | request_id | domain | address | routing_id |
 * mechanism | credentials... (RFC 27). Answers on the same socket. */
static void
s_answer (zap_t *self, zmsg_t *m)
{
    if (m->count < 6)
        return;                      /* not from libzmq; nothing to answer */
    const char *status = "400", *text = "no access", *user = "";
    const char *mechanism = m->frame[5].data;
    if (!zmsg_eq (m, 0, "1.0"))
        text = "bad version";
    else
    if (strcmp (mechanism, "CURVE") != 0 || m->count != 7 || m->frame[6].size != 32)
        text = "CURVE only";
    else {
        const char *identity = curve_allow_find (&self->allow, m->frame[6].data);
        if (identity) {
            status = "200";
            text = "OK";
            user = identity;
        }
    }
    const void *data[] = { "1.0", m->frame[1].data, status, text, user, "" };
    size_t sizes[] = { 3, m->frame[1].size, 3, strlen (text), strlen (user), 0 };
    zmsg_send (self->sock, 6, data, sizes);
    if (*status == '2')
        return;
    time_t now = time (NULL);
    if (now == self->last_warn) {
        self->warn_suppressed++;
        return;
    }
    char key[CURVE_Z85_LEN + 1] = "-";
    if (m->count == 7 && m->frame[6].size == 32)
        zmq_z85_encode (key, m->frame[6].data, 32);
    log_warn (NULL, "bus: connection from %.64s refused (%s, key %s; %lu similar suppressed)",
              (const char *) m->frame[3].data, text, key, self->warn_suppressed);
    self->last_warn = now;
    self->warn_suppressed = 0;
}

static void *
s_run (void *arg)
{
    zap_t *self = arg;
    while (!atomic_load (&self->stop)) {
        zmq_pollitem_t item = { self->sock, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, ZAP_POLL_MS) <= 0)
            continue;
        zmsg_t m;
        while (zmsg_recv (self->sock, &m) == 0) {
            s_answer (self, &m);
            zmsg_free (&m);
        }
    }
    zmq_close (self->sock);
    return NULL;
}

zap_t *
zap_new (const curve_allow_t *allow)
{
    zap_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->allow = *allow;
    self->sock = pm_zmq_socket (ZMQ_REP);
    if (!self->sock || zmq_bind (self->sock, ZAP_ENDPOINT) != 0) {
        log_error (NULL, "bus: cannot start the ZAP handler: %s", zmq_strerror (errno));
        if (self->sock)
            zmq_close (self->sock);
        free (self);
        return NULL;
    }
    if (pthread_create (&self->thread, NULL, s_run, self) != 0) {
        log_error (NULL, "bus: cannot start the ZAP thread");
        zmq_close (self->sock);
        free (self);
        return NULL;
    }
    log_info (NULL, "bus: CURVE with %zu allowed keys", allow->count);
    return self;
}

void
zap_destroy (zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zap_t *self = *self_p;
    *self_p = NULL;
    atomic_store (&self->stop, true);
    pthread_join (self->thread, NULL);
    free (self);
}
