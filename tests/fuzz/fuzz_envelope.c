/* fuzz_envelope: the envelope parser (common/envelope.c), as a worker meets a
 * request from the bus and the gateway a reply. The first byte picks which;
 * the rest is the message. What parses is used as the code uses it (params,
 * the caller's property scope, roles) and built again. */
#include "envelope.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
s_request (const char *json, size_t len)
{
    env_request_t req;
    char err[128];
    if (env_request_parse (json, len, &req, err) != 0)
        return;
    (void) env_param (&req, "pid");
    (void) env_param (&req, "limit");
    (void) env_visible_property (&req);
    static const char *const roles[] = { "admin", "manager", "service", NULL };
    (void) env_role_in (&req, roles);
    (void) env_caller_has_property (&req.caller, "00000000-0000-0000-0000-000000000001");
    char *again = env_request_build (req.id, req.method, &req.caller, req.deadline_ms,
                                     cJSON_Duplicate (req.body, true));
    if (again) {
        env_request_t back;
        if (env_request_parse (again, strlen (again), &back, err) != 0)
            abort ();            /* what we build, we must read */
        env_request_destroy (&back);
    }
    free (again);
    env_request_destroy (&req);
}

static void
s_reply (const char *json, size_t len)
{
    env_reply_t rep;
    char id[ENVELOPE_ID_MAX + 1];
    if (env_reply_parse (json, len, id, &rep) != 0)
        return;
    if (rep.body_json) {
        /* the gateway answers with this text instead of printing body again:
         * it must be the same document */
        cJSON *b = cJSON_Parse (rep.body_json);
        char *p1 = b ? cJSON_PrintUnformatted (b) : NULL, *p2 = cJSON_PrintUnformatted (rep.body);
        if (!p1 || !p2 || strcmp (p1, p2) != 0)
            abort ();
        free (p1);
        free (p2);
        for (const char *c = rep.body_json; *c; c++)
            if ((unsigned char) *c < 0x20)
                abort ();            /* JSON has no raw control characters */
        cJSON_Delete (b);
    }
    char *again = env_reply_build (env_id_valid (id) ? id : "x", &rep);
    free (again);
    char *err = env_error_body (rep.code ? rep.code : env_status_code (rep.status), rep.message,
                                rep.details, id);
    free (err);
    env_reply_reset (&rep);
}

/* The gateway's light reader (env_reply_read) and the full parse must agree
 * on id, status and body; the light one must not take text cJSON refuses. */
static void
s_reply_both (const char *json, size_t len)
{
    env_reply_t fast, full;
    char fid[ENVELOPE_ID_MAX + 1], pid[ENVELOPE_ID_MAX + 1];
    int frc = env_reply_read (json, len, fid, &fast);
    int prc = env_reply_parse (json, len, pid, &full);
    if (frc != prc)
        abort ();
    if (frc != 0)
        return;
    if (fast.status != full.status || strcmp (fid, pid) != 0 || (fast.code == NULL) != (full.code == NULL))
        abort ();
    if (!fast.body && fast.body_json) {
        /* read without a tree: the same text the full parse cuts out */
        if (!full.body_json || strcmp (fast.body_json, full.body_json) != 0)
            abort ();
        /* the same document: compared printed, since cJSON_Compare says
         * an infinity (1e999) differs from itself */
        char *p1 = env_reply_body (&fast) ? cJSON_PrintUnformatted (fast.body) : NULL;
        char *p2 = cJSON_PrintUnformatted (full.body);
        if (!p1 || !p2 || strcmp (p1, p2) != 0)
            abort ();
        free (p1);
        free (p2);
    }
    env_reply_reset (&fast);
    env_reply_reset (&full);
}

/* The message as the body of a canonical reply, so that the fuzzer spends
 * its time in the light reader's body scanner rather than its prefix. */
static void
s_reply_wrapped (const char *body, size_t len)
{
    static const char head[] = "{\"v\":1,\"id\":\"f\",\"status\":200,\"body\":";
    size_t n = sizeof head - 1 + len + 1;
    char *json = malloc (n);
    if (!json)
        return;
    memcpy (json, head, sizeof head - 1);
    memcpy (json + sizeof head - 1, body, len);
    json[n - 1] = '}';
    s_reply_both (json, n);
    free (json);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* a copy of exactly the message's bytes, so a read past them is caught */
    char *json = malloc (size - 1 ? size - 1 : 1);
    memcpy (json, data + 1, size - 1);
    if ((data[0] & 3) == 3)
        s_reply_wrapped (json, size - 1);
    else if (data[0] & 1) {
        s_reply (json, size - 1);
        s_reply_both (json, size - 1);
    }
    else
        s_request (json, size - 1);
    free (json);
    return 0;
}
