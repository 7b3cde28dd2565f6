/* ledger: allocation of payments to bills (see ledger.h). The decision is
 * bl_match (alloc_rules.c); this file loads its inputs and stores its pairs. */
#include "ledger.h"
#include "alloc_rules.h"

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
    /* the open bills, locked in the order they are paid */
    { "bl_ledger_open_bills",
      "SELECT b.id, bb.balance FROM bills b JOIN bill_balances bb ON bb.bill_id = b.id"
      " WHERE b.property_id = $1::uuid AND b.unit_id = $2::uuid AND bb.balance > 0"
      " ORDER BY b.due_date, b.issued_at, b.id FOR UPDATE OF b",
      false },
    { "bl_ledger_remainders",
      "SELECT payment_id, remainder FROM payment_remainders"
      " WHERE property_id = $1::uuid AND unit_id = $2::uuid AND remainder > 0"
      " ORDER BY created_at, payment_id",
      true },
    { "bl_ledger_allocate",
      "INSERT INTO allocations (property_id, unit_id, payment_id, bill_id, amount)"
      " SELECT $1::uuid, $2::uuid, p, b, a"
      " FROM unnest($3::uuid[], $4::uuid[], $5::bigint[]) AS x (p, b, a)",
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
      "  'id', p.id, 'property_id', p.property_id, 'unit_id', p.unit_id,"
      "  'amount', p.amount, 'currency', p.currency, 'method', p.method,"
      "  'external_ref', p.external_ref,"
      "  'paid_at', " DB_UTC_TS ("p.paid_at") ","
      "  'created_at', " DB_UTC_TS ("p.created_at") ","
      "  'source', p.source,"
      "  'status', CASE WHEN r.id IS NULL THEN 'received' ELSE 'reversed' END,"
      "  'reversal', CASE WHEN r.id IS NULL THEN NULL ELSE json_build_object("
      "     'id', r.id, 'reason', r.reason,"
      "     'created_at', " DB_UTC_TS ("r.created_at") ") END,"
      "  'allocations', COALESCE((SELECT json_agg(json_build_object('bill_id', x.bill_id, 'amount', x.amount)"
      "                                           ORDER BY x.first)"
      "                           FROM (SELECT bill_id, sum(amount) AS amount, min(id) AS first"
      "                                 FROM allocations WHERE payment_id = p.id"
      "                                 GROUP BY bill_id HAVING sum(amount) <> 0) x), '[]'::json),"
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

/* Appends "{a,b,c}" of the column's values to buf; false when it does not fit. */
static bool
s_array_add (char **buf, size_t *len, size_t *cap, const char *value)
{
    size_t n = strlen (value);
    if (*len + n + 3 > *cap) {
        size_t ncap = (*cap + n + 3) * 2;
        char *p = realloc (*buf, ncap);
        if (!p)
            return false;
        *buf = p;
        *cap = ncap;
    }
    char sep = *len == 0 ? '{' : ',';
    (*buf)[(*len)++] = sep;
    memcpy (*buf + *len, value, n);
    *len += n;
    (*buf)[*len] = '\0';
    return true;
}

int
bl_ledger_settle (db_t *db, const char *pid, const char *uid, cJSON *made)
{
    int rc = -1;
    PGresult *bills = NULL, *pays = NULL;
    int64_t *out = NULL, *rem = NULL;
    bl_pair_t *pairs = NULL;
    char *a_p = NULL, *a_b = NULL, *a_x = NULL;
    size_t l_p = 0, l_b = 0, l_x = 0, c_p = 0, c_b = 0, c_x = 0;

    bills = db_exec (db, "bl_ledger_open_bills", 2, (const char *[]) { pid, uid });
    if (!db_ok (bills)) {
        log_error (NULL, "open bills: %s", db_sqlstate (bills));
        goto out;
    }
    size_t nb = (size_t) PQntuples (bills);
    if (nb == 0) {
        rc = 0;
        goto out;
    }
    pays = db_exec (db, "bl_ledger_remainders", 2, (const char *[]) { pid, uid });
    if (!db_ok (pays)) {
        log_error (NULL, "remainders: %s", db_sqlstate (pays));
        goto out;
    }
    size_t np = (size_t) PQntuples (pays);
    if (np == 0) {
        rc = 0;
        goto out;
    }
    out = calloc (nb, sizeof *out);
    rem = calloc (np, sizeof *rem);
    pairs = calloc (nb + np, sizeof *pairs);
    if (!out || !rem || !pairs)
        goto out;
    for (size_t i = 0; i < nb; i++)
        out[i] = strtoll (PQgetvalue (bills, (int) i, 1), NULL, 10);
    for (size_t i = 0; i < np; i++)
        rem[i] = strtoll (PQgetvalue (pays, (int) i, 1), NULL, 10);
    size_t n = bl_match (rem, np, out, nb, pairs, nb + np);
    if (n == 0) {
        rc = 0;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char amount[24];
        snprintf (amount, sizeof amount, "%lld", (long long) pairs[i].amount);
        const char *p = PQgetvalue (pays, (int) pairs[i].pi, 0);
        const char *b = PQgetvalue (bills, (int) pairs[i].bi, 0);
        if (!s_array_add (&a_p, &l_p, &c_p, p) || !s_array_add (&a_b, &l_b, &c_b, b)
            || !s_array_add (&a_x, &l_x, &c_x, amount))
            goto out;
        if (made) {
            cJSON *a = cJSON_CreateObject ();
            cJSON_AddStringToObject (a, "payment_id", p);
            cJSON_AddStringToObject (a, "bill_id", b);
            cJSON_AddNumberToObject (a, "amount", (double) pairs[i].amount);
            cJSON_AddItemToArray (made, a);
        }
    }
    strcat (a_p, "}");
    strcat (a_b, "}");
    strcat (a_x, "}");
    rc = s_ok (db_exec (db, "bl_ledger_allocate", 5, (const char *[]) { pid, uid, a_p, a_b, a_x }),
               "allocate");
out:
    PQclear (bills);
    PQclear (pays);
    free (out);
    free (rem);
    free (pairs);
    free (a_p);
    free (a_b);
    free (a_x);
    return rc;
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
