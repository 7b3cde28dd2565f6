/* sender: leases due webhook deliveries and SMS/email notifications and
 * sends them with libcurl's multi interface on the service's libuv loop
 * (sender.h). libcurl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION
 * -> one uv_poll each) and when to call it back (CURLMOPT_TIMERFUNCTION -> a
 * uv_timer); we answer with curl_multi_socket_action. Nothing here blocks on
 * the network; only the claim and the record are database round trips.
 *
 * At least once: a row is leased before it is sent (lease_until, attempts+1)
 * and its outcome recorded after. A process that dies in between leaves the
 * lease to run out (PM_SENDER_LEASE_MS), and the row is sent again. */
#include "sender.h"
#include "channels.h"

#include "config.h"
#include "log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_POLL_MS_DEFAULT        500
#define S_MAX_INFLIGHT_DEFAULT   32
#define S_LEASE_MS_DEFAULT       60000
#define S_TIMEOUT_MS_DEFAULT     10000
#define S_RETRY_BASE_MS_DEFAULT  10000
#define S_RETRY_MAX_MS_DEFAULT   900000
#define S_RETRY_WINDOW_S_DEFAULT 10800
#define S_DISABLE_AFTER_DEFAULT  5
#define S_MSG_ATTEMPTS_DEFAULT   5
#define S_SWEEP_MAX              5000   /* unsendable messages settled per statement */
#define S_LEASE_MARGIN_MS        1000   /* a lease outlives the transfer by at least this */

typedef struct s_job s_job_t;
typedef struct s_sock s_sock_t;

struct nt_sender {
    uv_loop_t *loop;
    db_t *db;
    CURLM *multi;
    uv_timer_t curl_timer;           /* CURLMOPT_TIMERFUNCTION */
    uv_timer_t poll_timer;           /* looks at the queues every poll_ms */
    uv_timer_t kick_timer;           /* nt_sender_kick: look now, after the current callback */
    int open_handles;                /* the struct is freed when the last one closed */
    bool stopping;
    bool webhooks_first;             /* alternates, so neither queue starves the other */
    bool more;                       /* the last claim filled every free slot */
    int inflight;
    s_job_t *jobs;
    s_sock_t *socks;
    int db_failures;
    nt_channel_config_t ch;
    int64_t poll_ms, max_inflight, lease_ms, base_ms, cap_ms, window_s, disable_after, msg_attempts;
};

struct s_job {
    nt_sender_t *sender;
    bool transient;                  /* nt_sender_send_now: no row behind it, sent once */
    nt_message_t msg;
    nt_request_t req;
    uint64_t started_ns;
    s_job_t *prev, *next;
};

struct s_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    nt_sender_t *sender;
    s_sock_t *prev, *next;
};

#define S_LEASE "now() + $1::bigint * interval '1 millisecond'"

static const db_statement_t s_statements[] = {
    /* $1 lease ms, $2 how many */
    { "nt_sd_wh_claim",
      "UPDATE webhook_deliveries d SET lease_until = " S_LEASE ", attempts = d.attempts + 1"
      " FROM webhooks w"
      " WHERE d.id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()"
      "                AND (lease_until IS NULL OR lease_until < now())"
      "                ORDER BY next_attempt_at LIMIT $2::int FOR UPDATE SKIP LOCKED)"
      " AND w.id = d.webhook_id"
      " RETURNING d.id, d.attempts, d.event_type, d.body, w.url, w.secret",
      false },
    { "nt_sd_msg_claim",
      "UPDATE notifications SET lease_until = " S_LEASE ", attempts = attempts + 1"
      " WHERE id IN (SELECT id FROM notifications WHERE status = 'queued' AND channel = ANY ($3::text[])"
      "              AND (next_attempt_at IS NULL OR next_attempt_at <= now())"
      "              AND (lease_until IS NULL OR lease_until < now())"
      "              ORDER BY next_attempt_at LIMIT $2::int FOR UPDATE SKIP LOCKED)"
      " RETURNING id, channel, address, title, body, attempts",
      false },
    /* $1 channel that cannot send at all, $2 why, $3 rows at most: not_sent
     * in one statement, not one round trip each (an announcement queues
     * 20,000 SMS at once, and the loop must keep serving meanwhile) */
    { "nt_sd_msg_unconfigured",
      "UPDATE notifications SET status = 'not_sent', last_error = $2, lease_until = NULL,"
      " attempts = attempts + 1"
      " WHERE id IN (SELECT id FROM notifications WHERE status = 'queued' AND channel = $1"
      "              AND (next_attempt_at IS NULL OR next_attempt_at <= now())"
      "              AND (lease_until IS NULL OR lease_until < now())"
      "              ORDER BY next_attempt_at LIMIT $3::int FOR UPDATE SKIP LOCKED)",
      false },
    /* $1 delivery, $2 HTTP status, $3 attempt, $4 duration ms */
    { "nt_sd_wh_ok",
      "WITH d AS (UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), lease_until = NULL,"
      "           last_status = $2::int, last_error = NULL"
      "           WHERE id = $1::uuid AND status IN ('pending', 'paused') RETURNING id, webhook_id),"
      " a AS (INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, duration_ms)"
      "       SELECT $1::uuid, $3::int, $2::int, NULL, $4::int"
      "       WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $1::uuid)),"
      " w AS (UPDATE webhooks h SET consecutive_failures = 0 FROM d"
      "       WHERE h.id = d.webhook_id AND h.consecutive_failures <> 0 RETURNING h.id)"
      " SELECT count(*) FROM d",
      false },
    /* $1 delivery, $2 HTTP status or NULL, $3 attempt, $4 duration ms, $5 error, $6 next
     * try in ms, $7 retry window s, $8 failures in a row that disable the webhook.
     * A failure past the window is final; the webhook's count of final failures
     * in a row grows, and at $8 the webhook is disabled and its pending rows paused. */
    { "nt_sd_wh_fail",
      "WITH cur AS (SELECT d.id, d.webhook_id, w.enabled,"
      "             now() >= d.retry_from + make_interval (secs => $7::int) AS expired"
      "             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
      "             WHERE d.id = $1::uuid AND d.status IN ('pending', 'paused') FOR UPDATE OF d),"
      " d AS (UPDATE webhook_deliveries x SET"
      "         status = CASE WHEN cur.expired THEN 'failed' WHEN NOT cur.enabled THEN 'paused' ELSE 'pending' END,"
      "         next_attempt_at = now() + $6::bigint * interval '1 millisecond',"
      "         lease_until = NULL, last_status = $2::int, last_error = $5"
      "       FROM cur WHERE x.id = cur.id RETURNING x.id, x.webhook_id, x.status),"
      " a AS (INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, duration_ms)"
      "       SELECT $1::uuid, $3::int, $2::int, $5, $4::int"
      "       WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $1::uuid)),"
      " w AS (UPDATE webhooks h SET consecutive_failures = h.consecutive_failures + 1,"
      "         enabled = h.enabled AND h.consecutive_failures + 1 < $8::int,"
      "         disabled_reason = CASE WHEN h.enabled AND h.consecutive_failures + 1 >= $8::int"
      "           THEN format ('disabled after %s deliveries in a row failed', h.consecutive_failures + 1)"
      "           ELSE h.disabled_reason END,"
      "         updated_at = now()"
      "       FROM d WHERE h.id = d.webhook_id AND d.status = 'failed' RETURNING h.id, h.enabled),"
      " p AS (UPDATE webhook_deliveries y SET status = 'paused', lease_until = NULL FROM w"
      "       WHERE y.webhook_id = w.id AND NOT w.enabled AND y.status = 'pending' AND y.id <> $1::uuid"
      "       RETURNING y.id)"
      " SELECT d.status, COALESCE ((SELECT NOT enabled FROM w), false), (SELECT count(*) FROM p) FROM d",
      false },
    { "nt_sd_msg_sent",
      "UPDATE notifications SET status = 'sent', sent_at = now(), lease_until = NULL, last_error = NULL"
      " WHERE id = $1::uuid AND status = 'queued'",
      false },
    /* $1 id, $2 error, $3 next try in ms, $4 most attempts */
    { "nt_sd_msg_retry",
      "UPDATE notifications SET status = CASE WHEN attempts >= $4::int THEN 'failed' ELSE 'queued' END,"
      " next_attempt_at = now() + $3::bigint * interval '1 millisecond', lease_until = NULL, last_error = $2"
      " WHERE id = $1::uuid AND status = 'queued' RETURNING status",
      false },
    /* $1 id, $2 'failed' or 'not_sent', $3 why */
    { "nt_sd_msg_final",
      "UPDATE notifications SET status = $2, lease_until = NULL, last_error = $3"
      " WHERE id = $1::uuid AND status = 'queued'",
      false },
    /* on SIGTERM: what is in flight goes back to the queue at once, for another instance */
    { "nt_sd_wh_release",
      "UPDATE webhook_deliveries SET lease_until = NULL, attempts = greatest (attempts - 1, 0)"
      " WHERE id IN (SELECT json_array_elements_text ($1::json)::uuid) AND status = 'pending'",
      false },
    { "nt_sd_msg_release",
      "UPDATE notifications SET lease_until = NULL, attempts = greatest (attempts - 1, 0)"
      " WHERE id IN (SELECT json_array_elements_text ($1::json)::uuid) AND status = 'queued'",
      false },
};

/* ------------------------------------------------------------------ handles */

static void
s_handle_closed (uv_handle_t *h)
{
    nt_sender_t *self = h->data;
    if (--self->open_handles == 0 && self->stopping)
        free (self);
}

static void
s_sock_closed (uv_handle_t *h)
{
    s_sock_t *s = h->data;
    nt_sender_t *self = s->sender;
    free (s);
    if (--self->open_handles == 0 && self->stopping)
        free (self);
}

static void
s_sock_close (nt_sender_t *self, s_sock_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        self->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    uv_poll_stop (&s->poll);
    uv_close ((uv_handle_t *) &s->poll, s_sock_closed);
}

static void s_check_done (nt_sender_t *self);

static void
s_on_poll (uv_poll_t *h, int status, int events)
{
    s_sock_t *s = h->data;
    nt_sender_t *self = s->sender;
    int flags = 0, running = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    curl_multi_socket_action (self->multi, s->fd, flags, &running);
    s_check_done (self);
}

static int
s_on_socket (CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    nt_sender_t *self = userp;
    s_sock_t *s = socketp;
    (void) easy;
    if (action == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign (self->multi, fd, NULL);
            s_sock_close (self, s);
        }
        return 0;
    }
    if (!s) {
        s = calloc (1, sizeof *s);
        if (!s)
            return -1;
        if (uv_poll_init_socket (self->loop, &s->poll, fd)) {
            free (s);
            return -1;
        }
        s->fd = fd;
        s->sender = self;
        s->poll.data = s;
        self->open_handles++;
        s->next = self->socks;
        if (s->next)
            s->next->prev = s;
        self->socks = s;
        curl_multi_assign (self->multi, fd, s);
    }
    int events = 0;
    if (action & CURL_POLL_IN)
        events |= UV_READABLE;
    if (action & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start (&s->poll, events, s_on_poll);
    return 0;
}

static void
s_on_curl_timeout (uv_timer_t *t)
{
    nt_sender_t *self = t->data;
    int running = 0;
    curl_multi_socket_action (self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    s_check_done (self);
}

static int
s_on_timer_set (CURLM *multi, long timeout_ms, void *userp)
{
    nt_sender_t *self = userp;
    (void) multi;
    if (timeout_ms < 0)
        uv_timer_stop (&self->curl_timer);
    else                             /* 0 = at once: still from the loop, never from inside curl */
        uv_timer_start (&self->curl_timer, s_on_curl_timeout, (uint64_t) timeout_ms, 0);
    return 0;
}

/* ------------------------------------------------------------------ recording */

static int64_t
s_backoff (nt_sender_t *self, int attempt)
{
    return nt_backoff_ms (attempt, self->base_ms, self->cap_ms, randombytes_random ());
}

static void
s_db_warn (nt_sender_t *self, const char *what, PGresult *res)
{
    if (self->db_failures++ % 50 == 0)
        log_warn (NULL, "sender: %s failed (%s); the lease will run out and it is sent again", what,
                  db_sqlstate (res));
}

static void
s_record_webhook (nt_sender_t *self, s_job_t *job, const nt_outcome_t *out, int64_t ms)
{
    char status[16], attempt[16], dur[24], delay[24], window[24], after[24];
    snprintf (status, sizeof status, "%ld", out->status);
    snprintf (attempt, sizeof attempt, "%d", job->msg.attempt);
    snprintf (dur, sizeof dur, "%lld", (long long) ms);
    const char *id = job->msg.id;
    PGresult *res;
    if (out->verdict == NT_SENT) {
        res = db_exec (self->db, "nt_sd_wh_ok", 4, (const char *[]) { id, status, attempt, dur });
        if (!db_ok (res))
            s_db_warn (self, "recording a delivery", res);
        else
            log_debug (NULL, "webhook delivery %s delivered (attempt %d, HTTP %ld, %lld ms)", id,
                       job->msg.attempt, out->status, (long long) ms);
        PQclear (res);
        return;
    }
    snprintf (delay, sizeof delay, "%lld", (long long) s_backoff (self, job->msg.attempt));
    snprintf (window, sizeof window, "%lld", (long long) self->window_s);
    snprintf (after, sizeof after, "%lld", (long long) self->disable_after);
    res = db_exec (self->db, "nt_sd_wh_fail", 8,
                   (const char *[]) { id, out->status ? status : NULL, attempt, dur, out->error, delay, window,
                                      after });
    if (!db_ok (res))
        s_db_warn (self, "recording a failed delivery", res);
    else if (PQntuples (res) == 1) {
        const char *st = PQgetvalue (res, 0, 0);
        log_info (NULL, "webhook delivery %s attempt %d failed: %s -> %s", id, job->msg.attempt, out->error, st);
        if (strcmp (PQgetvalue (res, 0, 1), "t") == 0)
            log_warn (NULL, "webhook of delivery %s disabled after %lld failed deliveries in a row; "
                      "%s pending deliveries paused", id, (long long) self->disable_after, PQgetvalue (res, 0, 2));
    }
    PQclear (res);
}

static void
s_record_message (nt_sender_t *self, s_job_t *job, const nt_outcome_t *out)
{
    const char *id = job->msg.id, *kind = nt_channel (job->msg.kind)->name;
    PGresult *res;
    switch (out->verdict) {
    case NT_SENT:
        res = db_exec (self->db, "nt_sd_msg_sent", 1, (const char *[]) { id });
        if (db_ok (res))
            log_info (NULL, "%s %s sent (attempt %d)", kind, id, job->msg.attempt);
        break;
    case NT_RETRY: {
        char delay[24], most[16];
        snprintf (delay, sizeof delay, "%lld", (long long) s_backoff (self, job->msg.attempt));
        snprintf (most, sizeof most, "%lld", (long long) self->msg_attempts);
        res = db_exec (self->db, "nt_sd_msg_retry", 4, (const char *[]) { id, out->error, delay, most });
        /* the error text may quote the server's reply, which may name the recipient: not logged */
        if (db_ok (res) && PQntuples (res) == 1)
            log_info (NULL, "%s %s attempt %d failed (status %ld) -> %s", kind, id, job->msg.attempt, out->status,
                      PQgetvalue (res, 0, 0));
        break;
    }
    default: {
        const char *st = out->verdict == NT_NOT_SENT ? "not_sent" : "failed";
        res = db_exec (self->db, "nt_sd_msg_final", 3, (const char *[]) { id, st, out->error });
        if (db_ok (res))
            log_info (NULL, "%s %s %s (status %ld)", kind, id, st, out->status);
        break;
    }
    }
    if (!db_ok (res))
        s_db_warn (self, "recording a message", res);
    PQclear (res);
}

static void
s_record (nt_sender_t *self, s_job_t *job, const nt_outcome_t *out)
{
    int64_t ms = (int64_t) ((uv_hrtime () - job->started_ns) / 1000000u);
    if (job->transient) {
        /* a one-off SMS (a sign-in code): its outcome is only logged, never
         * the number or the text */
        static const char *const verdicts[] = { "sent", "failed (not retried)", "failed", "not sent" };
        log_info (NULL, "sms %s (one-off) %s (status %ld, %lld ms)", job->msg.id,
                  verdicts[out->verdict], out->status, (long long) ms);
        return;
    }
    if (job->msg.kind == NT_CH_WEBHOOK)
        s_record_webhook (self, job, out, ms);
    else
        s_record_message (self, job, out);
}

static void
s_job_free (s_job_t *job)
{
    if (!job)
        return;
    nt_request_clear (&job->req);
    nt_message_clear (&job->msg);
    free (job);
}

static void
s_unlink (nt_sender_t *self, s_job_t *job)
{
    if (job->prev)
        job->prev->next = job->next;
    else
        self->jobs = job->next;
    if (job->next)
        job->next->prev = job->prev;
    job->prev = job->next = NULL;
    self->inflight--;
}

static void
s_check_done (nt_sender_t *self)
{
    CURLMsg *m;
    int left;
    bool finished = false;
    while ((m = curl_multi_info_read (self->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode rc = m->data.result;        /* read before the handle leaves the multi */
        char *priv = NULL;
        curl_easy_getinfo (easy, CURLINFO_PRIVATE, &priv);
        s_job_t *job = (s_job_t *) priv;
        curl_multi_remove_handle (self->multi, easy);
        if (!job)
            continue;
        s_unlink (self, job);
        nt_outcome_t out = { 0 };
        nt_channel (job->msg.kind)->interpret (&job->msg, &job->req, rc, &out);
        s_record (self, job, &out);
        s_job_free (job);
        finished = true;
    }
    /* a slot freed while rows were left behind: look again now rather than at the next tick */
    if (finished && self->more)
        nt_sender_kick (self);
}

/* ------------------------------------------------------------------ claiming */

/* libcurl is set up at the first delivery, not at start: its global init
 * (OpenSSL's among it) costs an idle worker ~2 MB that most never need.
 * 0, or -1 when it cannot be (the delivery is retried). */
static int
s_curl_up (nt_sender_t *self)
{
    if (self->multi)
        return 0;
    if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK || !(self->multi = curl_multi_init ())) {
        log_error (NULL, "sender: cannot initialise libcurl");
        return -1;
    }
    curl_multi_setopt (self->multi, CURLMOPT_SOCKETFUNCTION, s_on_socket);
    curl_multi_setopt (self->multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt (self->multi, CURLMOPT_TIMERFUNCTION, s_on_timer_set);
    curl_multi_setopt (self->multi, CURLMOPT_TIMERDATA, self);
    return 0;
}

static void
s_start (nt_sender_t *self, s_job_t *job)
{
    const nt_channel_t *ch = nt_channel (job->msg.kind);
    nt_outcome_t out = { 0 };
    job->sender = self;
    job->started_ns = uv_hrtime ();
    if (job->msg.kind == NT_CH_SMS && nt_sms_file_used (&self->ch)) {
        /* the file provider: one local write, no transfer to wait for */
        nt_sms_file_append (self->ch.sms_file, &job->msg, &out);
        goto fail;
    }
    job->req.easy = s_curl_up (self) == 0 ? curl_easy_init () : NULL;
    if (!job->req.easy) {
        out.verdict = NT_RETRY;
        snprintf (out.error, sizeof out.error, "cannot set up the request");
        goto fail;
    }
    if (ch->prepare (&self->ch, &job->msg, &job->req, &out))
        goto fail;
    curl_easy_setopt (job->req.easy, CURLOPT_PRIVATE, (char *) job);
    if (curl_multi_add_handle (self->multi, job->req.easy) != CURLM_OK) {
        out.verdict = NT_RETRY;
        snprintf (out.error, sizeof out.error, "cannot start the request");
        goto fail;
    }
    job->next = self->jobs;
    if (job->next)
        job->next->prev = job;
    self->jobs = job;
    self->inflight++;
    return;
fail:
    s_record (self, job, &out);
    s_job_free (job);
}

static char *
s_dup (PGresult *res, int row, int col)
{
    return PQgetisnull (res, row, col) ? NULL : strdup (PQgetvalue (res, row, col));
}

/* True when messages of this kind can be sent; else marks up to
 * S_SWEEP_MAX of the due ones not_sent with the reason, in one statement,
 * and comes back on the next loop turn while there are more. */
static bool
s_sendable (nt_sender_t *self, nt_channel_kind_t kind, const char *name)
{
    const char *why = nt_channel_unconfigured (&self->ch, kind);
    if (!why)
        return true;
    char most[16];
    snprintf (most, sizeof most, "%d", S_SWEEP_MAX);
    PGresult *res = db_exec (self->db, "nt_sd_msg_unconfigured", 3, (const char *[]) { name, why, most });
    if (!db_ok (res))
        s_db_warn (self, "settling unsendable messages", res);
    else if (atoi (PQcmdTuples (res)) == S_SWEEP_MAX)
        nt_sender_kick (self);
    PQclear (res);
    return false;
}

/* Leases up to n rows of one queue and starts them. Rows claimed, or -1. */
static int
s_claim (nt_sender_t *self, bool webhooks, int n)
{
    if (n <= 0)
        return 0;
    char lease[24], lim[16];
    snprintf (lease, sizeof lease, "%lld", (long long) self->lease_ms);
    snprintf (lim, sizeof lim, "%d", n);
    /* messages of a channel with no provider are settled in bulk; the rest claimed */
    const char *channels = NULL;
    if (!webhooks) {
        bool sms = s_sendable (self, NT_CH_SMS, "sms");
        bool email = s_sendable (self, NT_CH_EMAIL, "email");
        if (!sms && !email)
            return 0;
        channels = sms && email ? "{sms,email}" : sms ? "{sms}" : "{email}";
    }
    PGresult *res = db_exec (self->db, webhooks ? "nt_sd_wh_claim" : "nt_sd_msg_claim", webhooks ? 2 : 3,
                             (const char *[]) { lease, lim, channels });
    if (!db_ok (res)) {
        s_db_warn (self, "claiming", res);
        PQclear (res);
        return -1;
    }
    int rows = PQntuples (res);
    for (int i = 0; i < rows; i++) {
        s_job_t *job = calloc (1, sizeof *job);
        if (!job)
            break;                   /* the lease runs out; sent later */
        nt_message_t *m = &job->msg;
        snprintf (m->id, sizeof m->id, "%s", PQgetvalue (res, i, 0));
        if (webhooks) {
            m->kind = NT_CH_WEBHOOK;
            m->attempt = atoi (PQgetvalue (res, i, 1));
            m->event_type = s_dup (res, i, 2);
            m->body = s_dup (res, i, 3);
            m->url = s_dup (res, i, 4);
            m->secret = s_dup (res, i, 5);
        }
        else {
            m->kind = strcmp (PQgetvalue (res, i, 1), "sms") == 0 ? NT_CH_SMS : NT_CH_EMAIL;
            m->address = s_dup (res, i, 2);
            m->title = s_dup (res, i, 3);
            m->text = s_dup (res, i, 4);
            m->attempt = atoi (PQgetvalue (res, i, 5));
        }
        s_start (self, job);
    }
    PQclear (res);
    self->db_failures = 0;
    return rows;
}

static void
s_round (nt_sender_t *self)
{
    if (self->stopping)
        return;
    int room = (int) self->max_inflight - self->inflight;
    if (room <= 0) {
        self->more = true;
        return;
    }
    bool first = self->webhooks_first;
    self->webhooks_first = !first;
    int got = s_claim (self, first, room);
    if (got < 0)
        return;
    room -= got;
    int got2 = s_claim (self, !first, room);
    if (got2 < 0)
        return;
    room -= got2;
    self->more = room <= 0;
}

static void
s_on_poll_tick (uv_timer_t *t)
{
    s_round (t->data);
}

static void
s_on_kick (uv_timer_t *t)
{
    s_round (t->data);
}

void
nt_sender_kick (nt_sender_t *self)
{
    if (!self || self->stopping)
        return;
    /* a 0 ms timer runs on the next loop iteration: after the caller's
     * transaction committed, and never re-entering a curl callback */
    if (!uv_is_active ((uv_handle_t *) &self->kick_timer))
        uv_timer_start (&self->kick_timer, s_on_kick, 0, 0);
}

/* ------------------------------------------------------------------ one-off SMS */

int
nt_sender_send_now (nt_sender_t *self, const char *to, const char *text, char id[40])
{
    if (!self || self->stopping || nt_channel_unconfigured (&self->ch, NT_CH_SMS))
        return -1;
    s_job_t *job = calloc (1, sizeof *job);
    if (!job)
        return -1;
    unsigned char raw[16];
    randombytes_buf (raw, sizeof raw);
    sodium_bin2hex (job->msg.id, sizeof job->msg.id, raw, sizeof raw);
    job->transient = true;
    job->msg.kind = NT_CH_SMS;
    job->msg.attempt = 1;
    job->msg.address = strdup (to);
    job->msg.text = strdup (text);
    if (!job->msg.address || !job->msg.text) {
        s_job_free (job);
        return -1;
    }
    snprintf (id, 40, "%s", job->msg.id);
    s_start (self, job);
    return 0;
}

/* Only the gateway sends sign-in codes; everything else reaches people
 * through events and announcements, queued and retried. */
static const char *const s_sms_callers[] = { "service", NULL };
#define S_SMS_TEXT_MAX 500

void
nt_sms_send (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    if (!env_require_role (req, s_sms_callers, rep))
        return;
    if (!req->caller.user_id || strcmp (req->caller.user_id, "gateway") != 0) {
        env_reply_error (rep, 403, "forbidden", NULL, "only the gateway sends one-off SMS");
        return;
    }
    jv_t v = JV_INIT;
    const char *to = NULL, *text = NULL;
    if (jv_object (&v, req->data)) {
        to = jv_string (&v, req->data, "to", JV_REQUIRED, 32);
        text = jv_string (&v, req->data, "text", JV_REQUIRED, S_SMS_TEXT_MAX);
        if (to && !nt_phone_valid (to))
            jv_problem (&v, "to", "is not a phone number");
    }
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "to and text are required");
        return;
    }
    char id[40];
    const char *why = app->sender ? nt_channel_unconfigured (&app->sender->ch, NT_CH_SMS) : "no sender";
    if (why || nt_sender_send_now (app->sender, to, text, id) != 0) {
        env_reply_error (rep, 503, "service_unavailable", NULL, "cannot send an SMS now%s%s",
                         why ? ": " : "", why ? why : "");
        return;
    }
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "id", id);
    env_reply_ok (rep, 202, body);
}

/* ------------------------------------------------------------------ life */

static const char *
s_env (const char *name)
{
    const char *v = config_str (name, NULL);
    return v && *v ? v : NULL;
}

nt_sender_t *
nt_sender_new (uv_loop_t *loop, nt_app_t *app)
{
    if (!loop || !app || !app->db)
        return NULL;
    if (DB_PREPARE_ALL (app->db, s_statements))
        return NULL;
    if (sodium_init () < 0) {
        log_error (NULL, "sender: cannot initialise libsodium");
        return NULL;
    }
    nt_sender_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->db = app->db;
    self->poll_ms = config_int ("PM_SENDER_POLL_MS", S_POLL_MS_DEFAULT, 10, 600000);
    self->max_inflight = config_int ("PM_SENDER_MAX_INFLIGHT", S_MAX_INFLIGHT_DEFAULT, 1, 4096);
    self->lease_ms = config_int ("PM_SENDER_LEASE_MS", S_LEASE_MS_DEFAULT, 1000, 86400000);
    self->base_ms = config_int ("PM_WEBHOOK_RETRY_BASE_MS", S_RETRY_BASE_MS_DEFAULT, 10, 86400000);
    self->cap_ms = config_int ("PM_WEBHOOK_RETRY_MAX_MS", S_RETRY_MAX_MS_DEFAULT, 10, 86400000);
    self->window_s = config_int ("PM_WEBHOOK_RETRY_WINDOW_S", S_RETRY_WINDOW_S_DEFAULT, 1, 30 * 86400);
    self->disable_after = config_int ("PM_WEBHOOK_DISABLE_AFTER", S_DISABLE_AFTER_DEFAULT, 1, 100000);
    self->msg_attempts = config_int ("PM_MESSAGE_MAX_ATTEMPTS", S_MSG_ATTEMPTS_DEFAULT, 1, 100);
    self->ch.timeout_ms = config_int ("PM_WEBHOOK_TIMEOUT_MS", S_TIMEOUT_MS_DEFAULT, 100, 600000);
    self->ch.allow_private = config_int ("PM_WEBHOOK_ALLOW_PRIVATE", 0, 0, 1) == 1;
    self->ch.allow_http = config_int ("PM_WEBHOOK_ALLOW_HTTP", 0, 0, 1) == 1;
    self->ch.sms_url = s_env ("PM_SMS_URL");
    self->ch.sms_token = s_env ("PM_SMS_TOKEN");
    self->ch.sms_file = s_env ("PM_SMS_FILE");
    self->ch.smtp_url = s_env ("PM_SMTP_URL");
    self->ch.smtp_from = s_env ("PM_SMTP_FROM");
    self->ch.smtp_user = s_env ("PM_SMTP_USER");
    self->ch.smtp_password = s_env ("PM_SMTP_PASSWORD");
    if (self->lease_ms < self->ch.timeout_ms + S_LEASE_MARGIN_MS) {
        /* a lease that ran out mid-transfer would send the row twice at once */
        log_warn (NULL, "PM_SENDER_LEASE_MS raised to %lld (the transfer timeout + %d ms)",
                  (long long) (self->ch.timeout_ms + S_LEASE_MARGIN_MS), S_LEASE_MARGIN_MS);
        self->lease_ms = self->ch.timeout_ms + S_LEASE_MARGIN_MS;
    }
    uv_timer_t *timers[] = { &self->curl_timer, &self->poll_timer, &self->kick_timer };
    for (int i = 0; i < 3; i++) {
        uv_timer_init (loop, timers[i]);
        timers[i]->data = self;
        self->open_handles++;
    }
    uv_timer_start (&self->poll_timer, s_on_poll_tick, 0, (uint64_t) self->poll_ms);
    log_info (NULL, "sender: up to %lld in flight, poll %lld ms, timeout %lld ms, retry %lld..%lld ms for %lld s, "
              "sms %s, email %s, private addresses %s, plain http to loopback %s",
              (long long) self->max_inflight, (long long) self->poll_ms, (long long) self->ch.timeout_ms,
              (long long) self->base_ms, (long long) self->cap_ms, (long long) self->window_s,
              self->ch.sms_url ? "configured"
                               : nt_sms_file_used (&self->ch) ? "to the file PM_SMS_FILE"
                                                              : "not configured (PM_SMS_URL)",
              self->ch.smtp_url ? "configured" : "not configured (PM_SMTP_URL)",
              self->ch.allow_private ? "allowed" : "refused", self->ch.allow_http ? "allowed" : "refused");
    return self;
}

/* In-flight rows go back to their queue (best effort: else their lease runs out). */
static void
s_release (nt_sender_t *self)
{
    cJSON *wh = cJSON_CreateArray (), *msg = cJSON_CreateArray ();
    for (s_job_t *j = self->jobs; j; j = j->next)
        if (!j->transient)
            cJSON_AddItemToArray (j->msg.kind == NT_CH_WEBHOOK ? wh : msg, cJSON_CreateString (j->msg.id));
    const char *names[2] = { "nt_sd_wh_release", "nt_sd_msg_release" };
    cJSON *lists[2] = { wh, msg };
    for (int i = 0; i < 2; i++) {
        if (cJSON_GetArraySize (lists[i]) == 0)
            continue;
        char *text = cJSON_PrintUnformatted (lists[i]);
        if (text) {
            PQclear (db_exec (self->db, names[i], 1, (const char *[]) { text }));
            free (text);
        }
    }
    cJSON_Delete (wh);
    cJSON_Delete (msg);
}

void
nt_sender_destroy (nt_sender_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    nt_sender_t *self = *self_p;
    *self_p = NULL;
    self->stopping = true;
    if (self->inflight)
        log_info (NULL, "sender: %d in flight go back to the queue", self->inflight);
    s_release (self);
    while (self->jobs) {
        s_job_t *job = self->jobs;
        s_unlink (self, job);
        curl_multi_remove_handle (self->multi, job->req.easy);
        s_job_free (job);
    }
    /* what curl still watches (idle connections) is closed here; curl then
     * closes the sockets without calling back into a sender that is going */
    while (self->socks) {
        curl_multi_assign (self->multi, self->socks->fd, NULL);
        s_sock_close (self, self->socks);
    }
    if (self->multi) {                 /* NULL: nothing was ever delivered */
        curl_multi_setopt (self->multi, CURLMOPT_SOCKETFUNCTION, NULL);
        curl_multi_setopt (self->multi, CURLMOPT_TIMERFUNCTION, NULL);
        curl_multi_cleanup (self->multi);
        self->multi = NULL;
    }
    uv_timer_t *timers[] = { &self->curl_timer, &self->poll_timer, &self->kick_timer };
    for (int i = 0; i < 3; i++) {
        uv_timer_stop (timers[i]);
        uv_close ((uv_handle_t *) timers[i], s_handle_closed);
    }
}
