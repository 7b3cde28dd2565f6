/* me_tickets: a resident's tickets (tickets.me.tickets.*); see me_tickets.h.
 * Each handler: the resident role -> the unit's scope in the copy of the
 * occupancies (tk_me_unit_scope, one statement) -> the desk's own path
 * (tickets.h) -> the public view. The attachments' handlers are
 * attachments.c's, which serve the desk's routes and these alike. */
#include "me_tickets.h"

#include "ticket_store.h"
#include "tk_clock.h"

#include "log.h"
#include "page.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tk_me_types[] = {
    "repair", "complaint", "inquiry", "suggestion", "renovation", "item_release", NULL
};

/* --- the public view (pure) ---------------------------------------------------- */

#define TK_ME_PHONE_DIGITS 7         /* a run this long is a phone number, not a floor */

void
tk_me_mask_phones (char *text)
{
    if (!text)
        return;
    for (char *p = text; *p;) {
        if (!isdigit ((unsigned char) *p)) {
            p++;
            continue;
        }
        char *end = p;
        while (isdigit ((unsigned char) *end))
            end++;
        size_t n = (size_t) (end - p);
        if (n >= TK_ME_PHONE_DIGITS)
            memset (p, '*', n - 4);
        p = end;
    }
}

/* A note's text masked in place (a cJSON string's buffer is its own). */
static void
s_mask_item (cJSON *obj, const char *name)
{
    cJSON *s = cJSON_GetObjectItemCaseSensitive (obj, name);
    if (cJSON_IsString (s))
        tk_me_mask_phones (s->valuestring);
}

/* A timeline entry as a resident sees it: the actor's id only when it is a
 * resident's own (a party id), staff by their role; no assignee in the data. */
static void
s_entry_public (cJSON *e)
{
    const char *role = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (e, "actor_role"));
    if (!role || strcmp (role, "resident") != 0) {
        cJSON_DeleteItemFromObjectCaseSensitive (e, "actor_id");
        cJSON_AddNullToObject (e, "actor_id");
    }
    cJSON_AddStringToObject (e, "actor", role && strcmp (role, "resident") == 0 ? "resident" : "staff");
    cJSON_DeleteItemFromObjectCaseSensitive (e, "internal");
    cJSON *d = cJSON_GetObjectItemCaseSensitive (e, "data");
    static const char *const staff_only[] = { "assignee_id", "escalated_to", "auto", NULL };
    for (const char *const *k = staff_only; *k; k++)
        cJSON_DeleteItemFromObjectCaseSensitive (d, *k);
    s_mask_item (e, "note");
}

void
tk_me_ticket_public (cJSON *t)
{
    static const char *const staff_only[] = {
        "assignee_id", "escalated_to", "escalated_at", "faq_id", "created_by", "category", "sla",
        "allowed_actions", NULL
    };
    for (const char *const *k = staff_only; *k; k++)
        cJSON_DeleteItemFromObjectCaseSensitive (t, *k);
    /* a fee a technician proposed is not the resident's until approved */
    cJSON *fee = cJSON_GetObjectItemCaseSensitive (t, "fee");
    const char *fs = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (fee, "status"));
    if (cJSON_IsObject (fee) && (!fs || strcmp (fs, "approved") != 0)) {
        cJSON_DeleteItemFromObjectCaseSensitive (t, "fee");
        cJSON_AddNullToObject (t, "fee");
    }
    cJSON *tl = cJSON_GetObjectItemCaseSensitive (t, "timeline");
    for (int i = cJSON_GetArraySize (tl) - 1; i >= 0; i--) {
        cJSON *e = cJSON_GetArrayItem (tl, i);
        if (cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (e, "internal")))
            cJSON_DeleteItemFromArray (tl, i);
        else
            s_entry_public (e);
    }
    cJSON *fb = cJSON_GetObjectItemCaseSensitive (t, "feedback");
    if (cJSON_IsObject (fb))
        cJSON_DeleteItemFromObjectCaseSensitive (fb, "called_by");
}

#ifndef TK_ME_RULES_ONLY             /* tests/unit/test_tk_me.c: the pure part alone */

/* A ticket of the resident's list (the public view's summary). */
#define TK_ME_JSON                                                                                  \
    "json_build_object ('id', t.id, 'property_id', t.property_id, 'number', t.number, "             \
    "'type', t.type, 'status', t.status, 'channel', t.channel, 'title', t.title, "                  \
    "'unit_id', t.unit_id, 'unit_code', t.unit_code, 'party_id', t.party_id, "                      \
    "'created_at', " DB_UTC_TS ("t.created_at") ", 'updated_at', " DB_UTC_TS ("t.updated_at") ", "   \
    "'resolved_at', " DB_UTC_TS ("t.resolved_at") ", 'closed_at', " DB_UTC_TS ("t.closed_at") ", "   \
    "'has_feedback', EXISTS (SELECT 1 FROM ticket_feedback f WHERE f.ticket_id = t.id))::text"

/* The resident's parties, a $n::jsonb array of UUID texts. */
#define TK_ME_PARTIES(n) "(SELECT jsonb_array_elements_text (" n "::jsonb)::uuid)"

static const db_statement_t s_statements[] = {
    /* The one scope check: a current occupancy (end_date NULL) of the unit
     * (or of the ticket's unit) by one of the caller's parties, in
     * tickets' copy; the party to act as, an owner or tenant first. */
    { "tk_me_scope",
      "SELECT o.property_id::text, o.unit_id::text, "
      "  (array_agg (o.party_id::text ORDER BY o.role IN ('owner', 'tenant') DESC, o.party_id))[1], "
      "  coalesce ((array_agg (o.party_id::text ORDER BY o.party_id) "
      "             FILTER (WHERE o.role IN ('owner', 'tenant')))[1], '') "
      "FROM tenant_occupancies o "
      "WHERE o.end_date IS NULL AND o.party_id IN " TK_ME_PARTIES ("$3") " "
      "  AND (($1::uuid IS NOT NULL AND o.unit_id = $1::uuid) "
      "    OR ($2::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM tickets t WHERE t.id = $2::uuid "
      "        AND t.property_id = o.property_id AND t.unit_id = o.unit_id))) "
      "GROUP BY o.property_id, o.unit_id LIMIT 1", true },
    /* the tickets of the units the resident occupies now, newest first */
    { "tk_me_list",
      "SELECT " TK_ME_JSON ", " DB_UTC_TS_US ("t.created_at") ", t.id::text "
      "FROM (SELECT DISTINCT o.property_id, o.unit_id FROM tenant_occupancies o "
      "      WHERE o.end_date IS NULL AND o.party_id IN " TK_ME_PARTIES ("$1") ") mine "
      /* the units first, then their tickets by the index tickets_unit */
      "JOIN tickets t ON t.property_id = mine.property_id AND t.unit_id = mine.unit_id "
      "WHERE ($2::text IS NULL OR t.status = $2::text) "
      "  AND ($6::text IS NULL OR t.type = $6::text) "
      "  AND ($3::timestamptz IS NULL OR (t.created_at, t.id) < ($3::timestamptz, $4::uuid)) "
      "ORDER BY t.created_at DESC, t.id DESC LIMIT $5::int", true },
};

int
tk_me_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

int
tk_me_unit_scope (db_t *db, const env_request_t *req, env_reply_t *rep, const char *unit_id,
                  const char *ticket_id, char pid[37], char uid[37], char party[37], char record[37])
{
    char *parties = env_caller_party_ids_json (&req->caller);
    if (!parties)
        return 0;                    /* no resident: nothing is theirs */
    PGresult *res = db_exec (db, "tk_me_scope", 3, (const char *[]) { unit_id, ticket_id, parties });
    free (parties);
    int rc = 0;
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        rc = -1;
    }
    else if (PQntuples (res) == 1) {
        snprintf (pid, 37, "%s", PQgetvalue (res, 0, 0));
        snprintf (uid, 37, "%s", PQgetvalue (res, 0, 1));
        snprintf (party, 37, "%s", PQgetvalue (res, 0, 2));
        snprintf (record, 37, "%s", PQgetvalue (res, 0, 3));
        rc = 1;
    }
    PQclear (res);
    return rc;
}

static void
s_no_ticket (env_reply_t *rep)
{
    env_reply_error (rep, 404, "not_found", NULL, "no such ticket");
}

/* The path's ticket id when it is a UUID, else NULL after answering 404. */
static const char *
s_tid (const env_request_t *req, env_reply_t *rep)
{
    const char *tid = env_param (req, "tid");
    if (!tid || !jv_is_uuid (tid)) {
        s_no_ticket (rep);
        return NULL;
    }
    return tid;
}

PGresult *
tk_me_load (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char **pid,
            const char *now, bool for_update)
{
    char p[37], uid[37], party[37], record[37];
    const char *tid = s_tid (req, rep);
    if (!tid)
        return NULL;
    int found = tk_me_unit_scope (app->db, req, rep, NULL, tid, p, uid, party, record);
    if (found <= 0) {
        if (found == 0)
            s_no_ticket (rep);
        return NULL;
    }
    PGresult *res = tk_ticket_get (app->db, p, tid, now, for_update);
    if (!db_ok (res) || PQntuples (res) != 1) {
        if (db_ok (res))
            s_no_ticket (rep);
        else
            db_reply_error (res, rep, req->id);
        PQclear (res);
        return NULL;
    }
    *pid = PQgetvalue (res, 0, TK_C_PROPERTY);
    return res;
}

/* --- create -------------------------------------------------------------------- */

/* The desk's input of a resident's ticket: what the resident may give, and
 * what they are: channel app, the party (theirs) of the unit. */
static cJSON *
s_desk_input (const cJSON *data, const char *party)
{
    cJSON *d = cJSON_CreateObject ();
    static const char *const fields[] = { "unit_id", "type", "title", "description", "data", NULL };
    for (const char *const *f = fields; *f; f++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive (data, *f);
        if (x)
            cJSON_AddItemToObject (d, *f, cJSON_Duplicate (x, 1));
    }
    cJSON_AddStringToObject (d, "channel", "app");
    cJSON_AddStringToObject (d, "party_id", party);
    return d;
}

void
tk_me_tickets_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    if (!env_require_role (req, env_roles_resident, rep))
        return;
    jv_t v = JV_INIT;
    const char *unit_id = NULL;
    if (jv_object (&v, req->data)) {
        unit_id = jv_uuid (&v, req->data, "unit_id", JV_REQUIRED);
        jv_enum (&v, req->data, "type", JV_REQUIRED, tk_me_types);
    }
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid ticket");
        return;
    }
    jv_reset (&v);
    char pid[37], uid[37], party[37], record[37];
    int found = tk_me_unit_scope (app->db, req, rep, unit_id, NULL, pid, uid, party, record);
    if (found == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such unit");
    if (found <= 0)
        return;
    cJSON *d = s_desk_input (req->data, party);
    tk_ticket_input_t in;
    jv_t w = JV_INIT;
    if (!tk_ticket_input (&w, d, &in))
        env_reply_error (rep, 422, "validation_failed", jv_take (&w), "invalid ticket");
    else if (tk_ticket_create_in (app, req, rep, pid, &in) == 0 && rep->body)
        tk_me_ticket_public (rep->body);
    cJSON_Delete (in.data);
    cJSON_Delete (d);
}

/* --- list, get ------------------------------------------------------------------ */

void
tk_me_tickets_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    if (!env_require_role (req, env_roles_resident, rep))
        return;
    page_time_id_t page;
    jv_t v = JV_INIT;
    page_time_id (&v, req, &page);
    const char *status = env_query (req, "status");
    if (status && !wf_in (wf_statuses, status))
        jv_problem (&v, "status", "is not a ticket status");
    const char *type = env_query (req, "type");
    if (type && !wf_in (tk_me_types, type))
        jv_problem (&v, "type", "is not a type a resident opens");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    jv_reset (&v);
    char *parties = env_caller_party_ids_json (&req->caller);
    const char *p[] = { parties ? parties : "[]", status, page.at, page.id, page.limit_plus_one, type };
    page_reply (db_exec (app->db, "tk_me_list", 6, p), page.limit, 1, 2, rep, req->id);
    free (parties);
}

void
tk_me_tickets_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    if (!env_require_role (req, env_roles_resident, rep))
        return;
    char now[40];
    const char *pid;
    tk_time_param (tk_clock_now_us (), now);
    PGresult *res = tk_me_load (app, req, rep, &pid, now, false);
    if (!res)
        return;
    cJSON *t = tk_ticket_full (app, pid, res);
    if (t) {
        tk_me_ticket_public (t);
        env_reply_ok (rep, 200, t);
    }
    else
        db_fail (app->db, req->id, rep, "read ticket");
    PQclear (res);
}

/* --- feedback (attachments: attachments.c, beside the desk's) ---------------------- */

/* The resident role, then the path's ticket in their scope (not locked:
 * the desk's path locks it again); false after answering. */
static bool
s_in_scope (tickets_t *app, const env_request_t *req, env_reply_t *rep)
{
    if (!env_require_role (req, env_roles_resident, rep))
        return false;
    char now[40];
    const char *pid;
    tk_time_param (tk_clock_now_us (), now);
    PGresult *res = tk_me_load (app, req, rep, &pid, now, false);
    PQclear (res);
    return res != NULL;
}

void
tk_me_feedback_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    /* the scope first: another's ticket is 404 whatever the body */
    if (!s_in_scope (app, req, rep))
        return;
    jv_t v = JV_INIT;
    tk_feedback_input_t in;
    if (!tk_feedback_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid feedback");
        return;
    }
    jv_reset (&v);
    tk_feedback_record (app, req, rep, &in);
    if (rep->status == 201 && rep->body)
        cJSON_DeleteItemFromObjectCaseSensitive (rep->body, "called_by");
}

/* --- item release: approval by the occupant of record ----------------------------- */

/* approve or refuse an item release that waits ("new"): the workflow's move
 * as the desk records it, the approving party the resident's own of record. */
static void
s_release_move (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *action)
{
    if (!env_require_role (req, env_roles_resident, rep))
        return;
    const char *tid = s_tid (req, rep);
    if (!tid)
        return;
    char pid[37], uid[37], party[37], record[37];
    int found = tk_me_unit_scope (app->db, req, rep, NULL, tid, pid, uid, party, record);
    if (found == 0)
        s_no_ticket (rep);
    if (found <= 0)
        return;
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    PGresult *cur = tk_ticket_get (app->db, pid, tid, now, false);
    if (!db_ok (cur) || PQntuples (cur) != 1) {
        if (db_ok (cur))
            s_no_ticket (rep);
        else
            db_reply_error (cur, rep, req->id);
        PQclear (cur);
        return;
    }
    bool release = strcmp (PQgetvalue (cur, 0, TK_C_TYPE), "item_release") == 0;
    PQclear (cur);
    if (!release) {
        env_reply_error (rep, 409, "invalid_transition", jv_detail ("type", "is not item_release"),
                         "only an item release waits for the occupant's approval");
        return;
    }
    if (!record[0]) {
        env_reply_error (rep, 403, "forbidden", NULL,
                         "the unit's owner or tenant of record approves its item releases");
        return;
    }
    tk_action_input_t in = { .action = action, .party_id = strcmp (action, "approve") == 0 ? record : NULL };
    /* only while it waits: the status is checked again on the locked row */
    tk_action_apply (app, req, rep, &in, "new");
    if (rep->status == 200 && rep->body)
        tk_me_ticket_public (rep->body);
}

void
tk_me_approve (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_release_move (app, req, rep, "approve");
}

void
tk_me_refuse (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_release_move (app, req, rep, "refuse");
}

#endif
