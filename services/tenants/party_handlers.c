/* party_handlers: tenants.parties.* and tenants.pii_reads.list. Each handler:
 * validate -> load -> decide -> store (+ outbox, same transaction) -> reply.
 *
 * Privacy: agents, technicians and integrations see phones and ID numbers
 * masked (party_rules.h); managers and admins see them whole, and each such
 * read writes a pii_reads row in the transaction of the read, so a read that
 * cannot be audited is not answered. Log lines carry ids, never names,
 * phones or ID numbers. */
#include "tenants.h"
#include "party_event.h"
#include "party_rules.h"
#include "party_store.h"
#include "tenants_store.h"
#include "unit_rules.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A cursor key of a party list: the id (36 characters), then the name. */
#define TN_PARTY_KEY_MAX (36 + TN_PARTY_NAME_MAX)
/* A cursor key of the audit: a timestamp to the microsecond, |, a bigint. */
#define TN_PII_KEY_MAX 64

int
tn_pii_audit (tenants_t *app, const env_request_t *req, const char *pid, const PGresult *res, int col, int n)
{
    if (n <= 0)
        return 0;
    char *ids = tn_uuid_list (res, col, n);
    if (!ids)
        return -1;
    const char *user = req->caller.user_id && *req->caller.user_id ? req->caller.user_id : "unknown";
    PGresult *r = tn_pii_reads_insert (app->db, pid, ids, user, req->caller.role, req->id, req->method);
    free (ids);
    int rc = db_ok (r) ? 0 : -1;
    PQclear (r);
    return rc;
}

/* --- helpers ------------------------------------------------------------------ */

static bool
s_whole (const env_request_t *req)
{
    return tn_role_sees_pii (req->caller.role);
}

static bool
s_audited (const env_request_t *req)
{
    return tn_role_audited (req->caller.role);
}

/* Other services (and admins) only: tenants.party.get. */
static const char *const s_party_services[] = { "service", "admin", NULL };

/* The phones as a JSON array text, and their tails as another; caller frees both. */
static int
s_phone_arrays (const tn_party_values_t *v, char **phones, char **tails)
{
    cJSON *p = cJSON_CreateArray (), *t = cJSON_CreateArray ();
    for (int i = 0; i < v->nphones; i++) {
        char tail[5];
        pii_phone_tail (v->phones[i], tail);
        cJSON_AddItemToArray (p, cJSON_CreateString (v->phones[i]));
        if (strlen (tail) == 4)
            cJSON_AddItemToArray (t, cJSON_CreateString (tail));
    }
    *phones = cJSON_PrintUnformatted (p);
    *tails = cJSON_PrintUnformatted (t);
    cJSON_Delete (p);
    cJSON_Delete (t);
    if (!*phones || !*tails) {
        free (*phones);
        free (*tails);
        *phones = *tails = NULL;
        return -1;
    }
    return 0;
}

/* A failed party write: 409 for a document another party holds, 404 for a
 * property that vanished, else the usual mapping. */
static void
s_party_store_error (const PGresult *res, const env_request_t *req, env_reply_t *rep)
{
    const char *state = db_sqlstate (res);
    if (strcmp (state, "23505") == 0)
        env_reply_error (rep, 409, "conflict",
                         jv_detail ("id_number", "already belongs to another party of this property"),
                         "a party with this identity document exists in this property");
    else if (strcmp (state, "23503") == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such property");
    else
        db_reply_error (res, rep, req->id);
}

/* --- create ------------------------------------------------------------------- */

void
tn_parties_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *res = NULL;
    char *phones = NULL, *tails = NULL;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    tn_party_input_t in;
    if (!tn_party_input (&v, req->data, NULL, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid party");
        return;
    }
    if ((in.key_customer || in.key_customer_note) && !tn_role_sets_key_customer (req->caller.role)) {
        env_reply_error (rep, 403, "forbidden", NULL, "only a manager or an admin marks key customers");
        return;
    }
    tn_party_values_t val = { .kind = in.kind, .name = in.name, .nphones = in.nphones,
                              .email = in.email, .key_customer = in.key_customer,
                              .key_customer_note = in.key_customer_note };
    memcpy (val.phones, in.phones, sizeof val.phones);
    if (in.id_number[0]) {
        val.id_type = in.id_type;
        val.id_number = in.id_number;
    }
    if (s_phone_arrays (&val, &phones, &tails)) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        return;
    }
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    /* the property's existence is checked by the foreign key (23503 -> 404) */
    res = tn_party_insert (app->db, pid, &val, phones);
    if (!db_ok (res)) {
        s_party_store_error (res, req, rep);
        goto out;
    }
    /* the event: contacts for notifications and billing, no ID document (party_event.h) */
    if (tn_party_tails_set (app->db, pid, tn_party_row_id (res, 0), tails)
        || tn_party_event_add (app->outbox, "party.created", pid, res, 0) || db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "create party");
        goto out;
    }
    outbox_wake (app->outbox);
    log_info (req->id, "party %s created in property %s", tn_party_row_id (res, 0), pid);
    env_reply_ok (rep, 201, tn_party_json (res, 0, s_whole (req)));
out:
    db_rollback (app->db);           /* whatever is still open; a no-op after the commit */
    PQclear (res);
    free (phones);
    free (tails);
}

/* --- list --------------------------------------------------------------------- */

static cJSON *
s_party_item (const PGresult *res, int row, void *whole)
{
    return tn_party_json (res, row, *(bool *) whole);
}

static void
s_party_key (const PGresult *res, int row, char *out, size_t cap)
{
    snprintf (out, cap, "%s%s", tn_party_row_id (res, row), tn_party_row_name (res, row));
}

/* A text parameter trimmed of spaces, in buf; NULL when absent or blank. */
static const char *
s_trimmed (const char *s, char *buf, size_t cap)
{
    if (!s)
        return NULL;
    while (*s == ' ')
        s++;
    size_t n = strlen (s);
    while (n > 0 && s[n - 1] == ' ')
        n--;
    if (n == 0 || n >= cap)
        return n == 0 ? NULL : s;       /* too long: the caller's check reports it */
    memcpy (buf, s, n);
    buf[n] = 0;
    return buf;
}

void
tn_parties_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *res = NULL;
    bool audited = s_audited (req);
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    int limit;
    char after[TN_PARTY_KEY_MAX + 1], after_id[37] = "";
    const char *after_name = NULL;
    if (page_params (&v, req, &limit, after, sizeof after) && *after) {
        /* a client can forge a cursor: check what it decodes to */
        if (strlen (after) > 36)
            memcpy (after_id, after, 36);
        if (!jv_is_uuid (after_id) || !jv_is_utf8 (after + 36, strlen (after + 36)))
            jv_problem (&v, "cursor", "is not a cursor this list gave out");
        after_name = after + 36;
    }
    char qbuf[TN_PARTY_QUERY_MAX + 1];
    const char *q = s_trimmed (env_param (req, "q"), qbuf, sizeof qbuf);
    if (q && (strlen (q) > TN_PARTY_QUERY_MAX || !jv_is_utf8 (q, strlen (q))))
        jv_problem (&v, "q", "must be valid UTF-8 of at most %d bytes", TN_PARTY_QUERY_MAX);
    const char *key = env_param (req, "key_customer");
    if (key && !*key)
        key = NULL;
    if (key && strcmp (key, "true") != 0 && strcmp (key, "false") != 0)
        jv_problem (&v, "key_customer", "must be true or false");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    if (!tn_property_exists (app, req, pid, rep))
        return;
    bool whole = s_whole (req);
    if (audited && db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    res = tn_party_list (app->db, pid, q, key, *after ? after_name : NULL, *after ? after_id : NULL,
                         limit + 1);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    int shown = PQntuples (res) < limit ? PQntuples (res) : limit;
    if (audited && (tn_pii_audit (app, req, pid, res, 0, shown) || db_commit (app->db))) {
        db_fail (app->db, req->id, rep, "audit the read");
        goto out;
    }
    env_reply_ok (rep, 200, page_rows (res, limit, s_party_item, &whole, s_party_key));
out:
    db_rollback (app->db);           /* whatever is still open; a no-op after the commit */
    PQclear (res);
}

/* --- get ---------------------------------------------------------------------- */

/* tenants.party.get, for other services: does the party exist in this
 * property, and its kind and name. No contacts, so no PII read to audit. */
void
tn_party_get_service (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid, *id = env_resource_scope (req, s_party_services, "party_id", "party", rep, &pid);
    if (!id)
        return;
    PGresult *res = tn_party_brief (app->db, pid, id);
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such party");
    else {
        cJSON *party = cJSON_CreateObject ();
        cJSON_AddStringToObject (party, "id", PQgetvalue (res, 0, 0));
        cJSON_AddStringToObject (party, "property_id", pid);
        cJSON_AddStringToObject (party, "kind", PQgetvalue (res, 0, 1));
        cJSON_AddStringToObject (party, "name", PQgetvalue (res, 0, 2));
        env_reply_ok (rep, 200, party);
    }
    PQclear (res);
}

void
tn_parties_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *res = NULL, *units = NULL;
    bool audited = s_audited (req);
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "party_id", "party", rep, &pid);
    if (!id)
        return;
    if (audited && db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    res = tn_party_get (app->db, pid, id, false);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    if (PQntuples (res) == 0) {
        env_reply_error (rep, 404, "not_found", NULL, "no such party");
        goto out;
    }
    units = tn_occupancy_list_party (app->db, pid, id);
    if (!db_ok (units)) {
        db_reply_error (units, rep, req->id);
        goto out;
    }
    if (audited && (tn_pii_audit (app, req, pid, res, 0, 1) || db_commit (app->db))) {
        db_fail (app->db, req->id, rep, "audit the read");
        goto out;
    }
    cJSON *party = tn_party_json (res, 0, s_whole (req));
    cJSON *list = cJSON_AddArrayToObject (party, "units");
    for (int i = 0; i < PQntuples (units); i++)
        cJSON_AddItemToArray (list, tn_party_unit_json (units, i));
    env_reply_ok (rep, 200, party);
out:
    db_rollback (app->db);           /* whatever is still open; a no-op after the commit */
    PQclear (res);
    PQclear (units);
}

/* --- update ------------------------------------------------------------------- */

/* Stores the party after a PATCH with its phone tails and its party.updated
 * event, in the open transaction: 0 with the stored row in *res, or -1
 * with rep filled. */
static int
s_party_store_update (tenants_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                      const char *id, const tn_party_values_t *after, PGresult **res)
{
    char *phones = NULL, *tails = NULL;
    int rc = -1;
    if (s_phone_arrays (after, &phones, &tails)) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        return -1;
    }
    *res = tn_party_update (app->db, pid, id, after, phones);
    if (!db_ok (*res))
        s_party_store_error (*res, req, rep);
    else if (PQntuples (*res) != 1)
        env_reply_error (rep, 404, "not_found", NULL, "no such party");
    else if (tn_party_tails_set (app->db, pid, id, tails)
             || tn_party_event_add (app->outbox, "party.updated", pid, *res, 0))
        db_fail (app->db, req->id, rep, "update party");
    else
        rc = 0;
    free (phones);
    free (tails);
    return rc;
}

void
tn_parties_update (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *cur = NULL, *res = NULL;
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "party_id", "party", rep, &pid);
    if (!id)
        return;
    jv_t v = JV_INIT;
    if (!jv_object (&v, req->data)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid party");
        return;
    }
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    cur = tn_party_get (app->db, pid, id, true);
    if (!db_ok (cur)) {
        db_reply_error (cur, rep, req->id);
        goto out;
    }
    if (PQntuples (cur) == 0) {
        env_reply_error (rep, 404, "not_found", NULL, "no such party");
        goto out;
    }
    tn_party_values_t before, after;
    tn_party_values (cur, 0, &before);
    tn_party_input_t in;
    if (!tn_party_input (&v, req->data, &before, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid party");
        goto out;
    }
    bool key_changed;
    bool changed = tn_party_patch (&before, &in, &after, &key_changed);
    if (key_changed && !tn_role_sets_key_customer (req->caller.role)) {
        env_reply_error (rep, 403, "forbidden", NULL, "only a manager or an admin changes key customers");
        goto out;
    }
    if (changed && s_party_store_update (app, req, rep, pid, id, &after, &res))
        goto out;
    const PGresult *shown = changed ? res : cur;
    /* the answer shows the stored party whole to a manager: that is a read too */
    if ((s_audited (req) && tn_pii_audit (app, req, pid, shown, 0, 1)) || db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "update party");
        goto out;
    }
    if (changed) {
        outbox_wake (app->outbox);
        log_info (req->id, "party %s updated in property %s", id, pid);
    }
    env_reply_ok (rep, 200, tn_party_json (shown, 0, s_whole (req)));
out:
    db_rollback (app->db);           /* whatever is still open; a no-op after the commit */
    PQclear (cur);
    PQclear (res);
}

/* --- the audit ---------------------------------------------------------------- */

static cJSON *
s_pii_item (const PGresult *res, int row, void *arg)
{
    (void) arg;
    return tn_pii_read_json (res, row);
}

void
tn_pii_reads_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    static const char *const admins[] = { "admin", NULL };
    const char *pid = env_property_scope (req, admins, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    int limit;
    char after[TN_PII_KEY_MAX + 1];
    const char *after_at = NULL, *after_id = NULL;
    if (page_params (&v, req, &limit, after, sizeof after) && *after) {
        char *bar = strchr (after, '|');
        size_t nat = bar ? (size_t) (bar - after) : 0;
        bool ok = bar && nat >= 20 && strspn (after, "0123456789-:.TZ") == nat
                  && bar[1] && strspn (bar + 1, "0123456789") == strlen (bar + 1) && strlen (bar + 1) <= 18;
        if (!ok)
            jv_problem (&v, "cursor", "is not a cursor this list gave out");
        else {
            *bar = 0;
            after_at = after;
            after_id = bar + 1;
        }
    }
    const char *party = env_param (req, "party_id");
    if (party && !*party)
        party = NULL;
    if (party && !jv_is_uuid (party))
        jv_problem (&v, "party_id", "must be an id (UUID)");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    if (!tn_property_exists (app, req, pid, rep))
        return;
    PGresult *res = tn_pii_reads_select (app->db, pid, party, after_at, after_id, limit + 1);
    page_reply_rows (res, limit, s_pii_item, NULL, tn_pii_read_row_key, rep, req->id);
}
