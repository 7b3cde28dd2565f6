/* contact_handlers: tenants.contacts.*, a party's contact log (重点顾客
 * 联系记录): who at the desk talked to the party, how, when and about what,
 * newest first. Written by the desk (env_roles_desk) for any party of the
 * property; key customers are the ones managers mark (parties'
 * key_customer, ?key_customer=true on the parties list). A summary may
 * hold personal details: it is never logged nor put in an event. Its SQL
 * is here: two statements, used nowhere else. */
#include "tenants.h"
#include "move_in_rules.h"
#include "party_store.h"

#include "log.h"

#include <string.h>

#define CT_JSON \
    "json_build_object ('id', c.id, 'property_id', c.property_id, 'party_id', c.party_id, " \
    "'channel', c.channel, 'summary', c.summary, 'at', " DB_UTC_TS ("c.at") ", 'by', c.by_user, " \
    "'created_at', " DB_UTC_TS ("c.created_at") ")::text"

static const db_statement_t s_ct_statements[] = {
    /* no row: the party is not the property's */
    { "tn_contact_insert",
      "WITH c AS (INSERT INTO party_contacts (property_id, party_id, channel, summary, at, by_user) "
      "  SELECT p.property_id, p.id, $3::text, $4::text, $5::timestamptz, $6::text FROM parties p "
      "  WHERE p.property_id = $1::uuid AND p.id = $2::uuid RETURNING *) "
      "SELECT " CT_JSON " FROM c", false },
    { "tn_contact_list",
      "SELECT " CT_JSON ", " DB_UTC_TS_US ("c.at") ", c.id::text FROM party_contacts c "
      "WHERE c.property_id = $1::uuid AND c.party_id = $2::uuid "
      "  AND ($3::timestamptz IS NULL OR (c.at, c.id) < ($3::timestamptz, $4::uuid)) "
      "ORDER BY c.at DESC, c.id DESC LIMIT $5::int", true },
};

int
tn_contact_store_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_ct_statements);
}

void
tn_contacts_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid, *party = env_resource_scope (req, env_roles_desk, "party_id", "party", rep, &pid);
    if (!party)
        return;
    jv_t v = JV_INIT;
    tn_contact_input_t in;
    if (!tn_contact_input (&v, req->data, env_now_ms () * 1000, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid contact");
        return;
    }
    const char *p[] = { pid, party, in.channel, in.summary, in.at, tn_caller_user (req) };
    PGresult *res = db_exec (app->db, "tn_contact_insert", 6, p);
    if (db_ok (res) && PQntuples (res) == 1)
        log_info (req->id, "contact with party %s logged (%s)", party, in.channel);
    db_reply_json (res, rep, req->id, 201, "no such party");
}

void
tn_contacts_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid, *party = env_resource_scope (req, env_roles_desk, "party_id", "party", rep, &pid);
    if (!party)
        return;
    jv_t v = JV_INIT;
    page_time_id_t page;
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    /* an empty page would not tell a party without contacts from no party */
    PGresult *brief = tn_party_brief (app->db, pid, party);
    bool found = db_ok (brief) && PQntuples (brief) == 1;
    if (!found)
        db_reply_json (brief, rep, req->id, 200, "no such party");     /* 404 or the error; clears */
    else {
        PQclear (brief);
        const char *p[] = { pid, party, page.at, page.id, page.limit_plus_one };
        page_reply (db_exec (app->db, "tn_contact_list", 5, p), page.limit, 1, 2, rep, req->id);
    }
}
