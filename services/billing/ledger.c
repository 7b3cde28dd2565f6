/* ledger: allocation of payments to bills (see ledger.h): the locks, the
 * settlement of a unit's credit, and the documents read back. */
#include "ledger.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const db_statement_t s_statements[] = {
    /* the property's ledger shared, then the unit's: one round trip */
    { "bl_ledger_lock",
      "SELECT pg_advisory_xact_lock_shared(hashtextextended('billing.property:' || $1::text, 0)),"
      " pg_advisory_xact_lock(hashtextextended('billing.unit:' || $1::text || ':' || $2::text, 0))",
      false },
    { "bl_ledger_lock_property",
      "SELECT pg_advisory_xact_lock(hashtextextended('billing.property:' || $1::text, 0))", false },
    /* BL_LEDGER_ALLOCATION_CTES over the unit's bills (balances per bill,
     * not through the view bill_balances, which aggregates every
     * allocation of the schema) and its payments' remainders */
    { "bl_ledger_settle",
      "WITH ob AS (SELECT b.id, b.due_date, b.issued_at,"
      "              b.amount - COALESCE((SELECT sum(a.amount) FROM allocations a WHERE a.bill_id = b.id), 0) AS balance"
      "            FROM bills b WHERE b.property_id = $1::uuid AND b.unit_id = $2::uuid"
      "            AND NOT EXISTS (SELECT 1 FROM bill_voids v WHERE v.bill_id = b.id) FOR UPDATE OF b),"
      " pr AS (SELECT payment_id AS id, created_at, remainder AS rem FROM payment_remainders"
      "        WHERE property_id = $1::uuid AND unit_id = $2::uuid),"
      BL_LEDGER_ALLOCATION_CTES ","
      " al AS (INSERT INTO allocations (property_id, unit_id, payment_id, bill_id, amount)"
      "        SELECT $1::uuid, $2::uuid, payment_id, bill_id, amount FROM pairs ORDER BY plo, blo"
      "        RETURNING id, payment_id, bill_id, amount)"
      " SELECT payment_id, bill_id, amount FROM al ORDER BY id",
      false },
    /* the units with credit (a sum per unit over the property's payments,
     * reversals and allocations: one pass, none per bill), that have an open
     * bill; read from the few units with credit, not from every bill of the
     * property (the whole property's bill_balances took 0.9 s at 100,000 units) */
    { "bl_ledger_units_to_settle",
      "WITH c AS (SELECT unit_id FROM ("
      "   SELECT unit_id, amount AS x FROM payments WHERE property_id = $1::uuid"
      "   UNION ALL SELECT unit_id, -amount FROM payment_reversals WHERE property_id = $1::uuid"
      "   UNION ALL SELECT unit_id, -amount FROM allocations WHERE property_id = $1::uuid) t"
      "  GROUP BY unit_id HAVING sum(x) > 0)"
      " SELECT c.unit_id FROM c WHERE EXISTS (SELECT 1 FROM bills b WHERE b.property_id = $1::uuid"
      "   AND b.unit_id = c.unit_id AND NOT EXISTS (SELECT 1 FROM bill_voids v WHERE v.bill_id = b.id)"
      "   AND b.amount > COALESCE((SELECT sum(a.amount) FROM allocations a WHERE a.bill_id = b.id), 0))"
      " ORDER BY c.unit_id",
      true },
    { "bl_ledger_credit", "SELECT unit_credit($1::uuid, $2::uuid)", true },
    { "bl_ledger_unit_known",
      "SELECT 1 FROM units WHERE property_id = $1::uuid AND unit_id = $2::uuid", true },
    { "bl_ledger_payment",
      "SELECT json_build_object("
      BL_PAYMENT_JSON_FIELDS ","
      "  'unallocated', pr.remainder,"
      "  'credit', unit_credit(p.property_id, p.unit_id))"
      " FROM payments p LEFT JOIN payment_reversals r ON r.payment_id = p.id"
      " JOIN payment_remainders pr ON pr.payment_id = p.id"
      " WHERE p.property_id = $1::uuid AND p.id = $2::uuid",
      true },
};

int
bl_ledger_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

static int
s_ok (PGresult *res, const char *what)
{
    int rc = db_ok (res) ? 0 : -1;
    if (rc)
        log_error (NULL, "%s failed: %s", what, db_sqlstate (res));
    PQclear (res);
    return rc;
}

int
bl_ledger_lock_unit (db_t *db, const char *pid, const char *uid)
{
    return s_ok (db_exec (db, "bl_ledger_lock", 2, (const char *[]) { pid, uid }), "ledger lock");
}

int
bl_ledger_lock_property (db_t *db, const char *pid)
{
    return s_ok (db_exec (db, "bl_ledger_lock_property", 1, (const char *[]) { pid }), "property ledger lock");
}

int
bl_ledger_settle (db_t *db, const char *pid, const char *uid, cJSON *made)
{
    PGresult *res = db_exec (db, "bl_ledger_settle", 2, (const char *[]) { pid, uid });
    if (!db_ok (res)) {
        log_error (NULL, "settle: %s", db_sqlstate (res));
        PQclear (res);
        return -1;
    }
    for (int i = 0; made && i < PQntuples (res); i++) {
        cJSON *a = cJSON_CreateObject ();
        cJSON_AddStringToObject (a, "payment_id", PQgetvalue (res, i, 0));
        cJSON_AddStringToObject (a, "bill_id", PQgetvalue (res, i, 1));
        cJSON_AddNumberToObject (a, "amount", strtod (PQgetvalue (res, i, 2), NULL));
        cJSON_AddItemToArray (made, a);
    }
    PQclear (res);
    return 0;
}

int
bl_ledger_settle_property (db_t *db, const char *pid)
{
    PGresult *units = db_exec (db, "bl_ledger_units_to_settle", 1, (const char *[]) { pid });
    if (!db_ok (units)) {
        log_error (NULL, "units to settle: %s", db_sqlstate (units));
        PQclear (units);
        return -1;
    }
    /* one lock for the property, not one per unit (the lock table is finite) */
    int rc = PQntuples (units) > 0 ? bl_ledger_lock_property (db, pid) : 0;
    for (int i = 0; i < PQntuples (units) && rc == 0; i++)
        rc = bl_ledger_settle (db, pid, PQgetvalue (units, i, 0), NULL);
    PQclear (units);
    return rc;
}

long long
bl_ledger_credit (db_t *db, const char *pid, const char *uid)
{
    PGresult *res = db_exec (db, "bl_ledger_credit", 2, (const char *[]) { pid, uid });
    long long credit = db_ok (res) && PQntuples (res) == 1 ? strtoll (PQgetvalue (res, 0, 0), NULL, 10) : -1;
    PQclear (res);
    return credit;
}

int
bl_ledger_unit_known (db_t *db, const char *pid, const char *uid)
{
    PGresult *res = db_exec (db, "bl_ledger_unit_known", 2, (const char *[]) { pid, uid });
    int rc = db_ok (res) ? PQntuples (res) > 0 : -1;
    PQclear (res);
    return rc;
}

cJSON *
bl_ledger_payment_json (db_t *db, const char *pid, const char *id, bool *err)
{
    *err = false;
    PGresult *res = db_exec (db, "bl_ledger_payment", 2, (const char *[]) { pid, id });
    cJSON *doc = NULL;
    if (!db_ok (res))
        *err = true;
    else if (PQntuples (res) == 1) {
        doc = cJSON_Parse (PQgetvalue (res, 0, 0));
        *err = doc == NULL;
    }
    PQclear (res);
    return doc;
}
