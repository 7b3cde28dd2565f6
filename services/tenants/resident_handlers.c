/* resident_handlers: who a resident is and which units they occupy now
 * (issue K). Both answers are read from the live occupancies (end_date IS
 * NULL), so a move-out or a move-in shows at the next request:
 *   tenants.residents.lookup  the gateway's sign-in by SMS code: the parties
 *                             with a phone that occupy a unit now
 *   tenants.me.get            GET /v1/me: a resident's parties (the
 *                             caller's party_ids) and their current units
 * Each answer is one JSON document built by the statement (db_reply_json). */
#include "tenants.h"

#include "log.h"
#include "pii.h"

#include <stdlib.h>
#include <string.h>

#define TN_RESIDENT_UNITS_MAX "200"  /* units one answer lists */

/* The current occupancies of the parties in CTE "pty" (id), with their units
 * and properties, as the "units" array. */
#define S_UNITS_JSON \
    "coalesce ((SELECT json_agg (json_build_object ('property_id', o.property_id::text, " \
    "        'property_name', pr.name, 'unit_id', o.unit_id::text, 'code', u.code, 'role', o.role, " \
    "        'party_id', o.party_id::text, 'start_date', o.start_date::text) " \
    "      ORDER BY pr.name, u.code, array_position (ARRAY['owner', 'tenant', 'resident'], o.role), o.party_id) " \
    "   FROM (SELECT * FROM occupancies o WHERE o.end_date IS NULL " \
    "           AND (o.property_id, o.party_id) IN (SELECT property_id, id FROM pty) " \
    "         ORDER BY o.start_date, o.id LIMIT " TN_RESIDENT_UNITS_MAX ") o " \
    "   JOIN units u ON u.property_id = o.property_id AND u.id = o.unit_id " \
    "   JOIN properties pr ON pr.id = o.property_id), '[]'::json)"

static const db_statement_t s_statements[] = {
    /* $1 a normalised phone: its parties that occupy a unit now (ids sorted:
     * the first is who the gateway names the resident) */
    { "tn_residents_lookup",
      "WITH pty AS (SELECT p.id, p.property_id FROM parties p "
      "              WHERE p.phones @> ARRAY[$1::text] "   /* parties_phones (006) */
      "                AND EXISTS (SELECT 1 FROM occupancies o WHERE o.property_id = p.property_id "
      "                              AND o.party_id = p.id AND o.end_date IS NULL)) "
      "SELECT json_build_object ("
      "  'party_ids', coalesce ((SELECT json_agg (id::text ORDER BY id::text) FROM pty), '[]'::json), "
      "  'units', " S_UNITS_JSON ")::text", true },
    /* $1 a resident's party ids (a JSON array of UUIDs): the parties, and
     * their units now */
    { "tn_residents_me",
      "WITH pty AS (SELECT p.id, p.property_id, p.kind, p.name FROM parties p "
      "              WHERE p.id IN (SELECT (jsonb_array_elements_text ($1::jsonb))::uuid)) "
      "SELECT json_build_object ("
      "  'party_ids', coalesce ((SELECT json_agg (id::text ORDER BY id::text) FROM pty), '[]'::json), "
      "  'parties', coalesce ((SELECT json_agg (json_build_object ('id', id::text, "
      "        'property_id', property_id::text, 'kind', kind, 'name', name) ORDER BY id::text) FROM pty), "
      "      '[]'::json), "
      "  'units', " S_UNITS_JSON ")::text", true },
};

int
tn_resident_store_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

static const char *const s_lookup_callers[] = { "service", NULL };

void
tn_residents_lookup (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    /* the gateway's own question (a phone in, parties out): no person asks it */
    if (!env_require_role (req, s_lookup_callers, rep))
        return;
    jv_t v = JV_INIT;
    char phone[PII_PHONE_MAX + 1];
    const char *typed = jv_object (&v, req->data)
                        ? jv_string (&v, req->data, "phone", JV_REQUIRED, PII_PHONE_INPUT_MAX) : NULL;
    if (typed && !pii_phone_normalize (typed, phone))
        jv_problem (&v, "phone", "is not a phone number");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "a phone is required");
        return;
    }
    PGresult *res = db_exec (app->db, "tn_residents_lookup", 1, (const char *[]) { phone });
    db_reply_json (res, rep, req->id, 200, "no answer");
}

void
tn_me_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    char *parties = env_resident_parties (req, rep);
    if (!parties)
        return;
    PGresult *res = db_exec (app->db, "tn_residents_me", 1, (const char *[]) { parties });
    free (parties);
    db_reply_json (res, rep, req->id, 200, "no answer");
}
