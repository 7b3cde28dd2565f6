/* me: a resident's account, payments and receipts (see me.h). The scope is
 * decided here once (s_unit_scope); what is answered is the desk's own code
 * (bl_account_reply, bl_payments_list_unit, bl_receipt_reply) on the unit
 * so scoped. */
#include "me.h"
#include "bills.h"
#include "payments.h"
#include "receipts.h"

#include <stdlib.h>
#include <string.h>

#define ST_ME_UNIT    "bl_me_unit"
#define ST_ME_PAYMENT "bl_me_payment"

static const db_statement_t s_statements[] = {
    /* The one check of a resident's unit: $1 the unit, $2 the caller's
     * party ids (jsonb array of UUIDs) -> the unit's property, or no row */
    { ST_ME_UNIT,
      "SELECT o.property_id FROM occupancies o WHERE o.unit_id = $1::uuid AND o.end_date IS NULL"
      " AND o.party_id IN (SELECT jsonb_array_elements_text ($2::jsonb)::uuid) LIMIT 1",
      true },
    /* $1 payment id -> its unit (then checked by ST_ME_UNIT) */
    { ST_ME_PAYMENT, "SELECT unit_id FROM payments WHERE id = $1::uuid", true },
};

int
bl_me_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* True with pid (37 bytes) the unit's property when uid is a unit the
 * resident occupies now; else false after answering 404 not_found ("no such
 * <what>") or the database's error. */
static bool
s_unit_scope (billing_t *app, const env_request_t *req, const char *uid, const char *what, char pid[37],
              env_reply_t *rep)
{
    char *parties = NULL;
    PGresult *res = NULL;
    bool ok = false;
    if (!uid || !jv_is_uuid (uid) || !(parties = env_caller_party_ids_json (&req->caller))) {
        env_reply_error (rep, 404, "not_found", NULL, "no such %s", what);
        goto out;
    }
    res = db_exec (app->db, ST_ME_UNIT, 2, (const char *[]) { uid, parties });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such %s", what);
    else {
        snprintf (pid, 37, "%s", PQgetvalue (res, 0, 0));
        ok = true;
    }
out:
    PQclear (res);
    free (parties);
    return ok;
}

void
bl_me_account (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    char pid[37];
    const char *uid = env_param (req, "uid");
    if (!env_require_role (req, env_roles_resident, rep) || !s_unit_scope (app, req, uid, "unit", pid, rep))
        return;
    bl_account_reply (app, req, pid, uid, rep);
    static const char *const s_staff[] = BL_ME_BILL_STAFF_FIELDS;
    const cJSON *bill;
    cJSON_ArrayForEach (bill, cJSON_GetObjectItemCaseSensitive (rep->body, "bills"))
        for (int i = 0; s_staff[i]; i++)
            cJSON_DeleteItemFromObjectCaseSensitive ((cJSON *) bill, s_staff[i]);
}

void
bl_me_payments (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    char pid[37];
    const char *uid = env_param (req, "uid");
    if (!env_require_role (req, env_roles_resident, rep) || !s_unit_scope (app, req, uid, "unit", pid, rep))
        return;
    bl_payments_list_unit (app, req, rep, pid, uid);
}

void
bl_me_receipt (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    if (!env_require_role (req, env_roles_resident, rep))
        return;
    const char *id = env_param (req, "id");
    char pid[37], uid[37] = "";
    if (!id || !jv_is_uuid (id)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such payment");
        return;
    }
    PGresult *res = db_exec (app->db, ST_ME_PAYMENT, 1, (const char *[]) { id });
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        PQclear (res);
        return;
    }
    if (PQntuples (res) > 0)
        snprintf (uid, sizeof uid, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    if (s_unit_scope (app, req, *uid ? uid : NULL, "payment", pid, rep))
        bl_receipt_reply (app, req, pid, id, rep);
}
