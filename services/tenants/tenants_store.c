/* tenants_store: the SQL of the tenants service, in one place; see tenants_store.h.
 * Parameterized statements only: any text the client sent is a parameter,
 * never part of the SQL. Every unit query names its property_id. */
#include "tenants_store.h"
#include "party_rules.h"
#include "party_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Column order the JSON conversions below rely on. */
#define TN_PROPERTY_COLUMNS \
    "id::text, code, name, address, timezone, " DB_UTC_TS ("created_at")
#define TN_UNIT_COLUMNS \
    "id::text, property_id::text, code, building, floor, area_m2::text, use, " \
    DB_UTC_TS ("created_at") ", " DB_UTC_TS ("updated_at")

enum { P_ID, P_CODE, P_NAME, P_ADDRESS, P_TIMEZONE, P_CREATED };
enum { U_ID, U_PROPERTY, U_CODE, U_BUILDING, U_FLOOR, U_AREA, U_USE, U_CREATED, U_UPDATED };

/* tn_unit_card: the unit's row, then one row per occupancy (current and
 * ended) with its party, as text columns (TN_CARD_*). The unit's row is the
 * one whose sort key (the last column) is NULL; a unit not in the property
 * has no row at all, nor occupancies (foreign key on property_id, unit_id).
 * Measured (issue I): the former statement (CTEs, json_agg, two sorts, the
 * audit's INSERT planned on every read) cost PostgreSQL ~110-145 us per
 * call against ~20 for a primary-key select; most of it starting plan nodes
 * and sorting. Here: three index scans, no sort, no JSON: the order and the
 * history's cap are C's (tn_unit_card_json), on the few rows of one unit.
 * The sort key is the time that breaks ties: the move-in's for a current
 * occupancy, the move-out's for an ended one (set with end_date). Phones
 * are joined with the unit separator, which no stored number holds. */
#define TN_UNIT_CARD_SQL                                                             \
    "SELECT " TN_UNIT_COLUMNS ", NULL, NULL, NULL, NULL "                             \
    "FROM units WHERE property_id = $1::uuid AND id = $2::uuid "                      \
    "UNION ALL "                                                                      \
    "SELECT o.id::text, o.party_id::text, o.role, o.start_date::text, o.end_date::text, " \
    "  p.kind, p.name, array_to_string (p.phones, E'\\x1f'), p.email, p.key_customer::text, " \
    "  p.id_type, p.id_number, " DB_UTC_TS_US ("COALESCE (o.ended_at, o.created_at)") " " \
    "FROM occupancies o JOIN parties p ON p.property_id = o.property_id AND p.id = o.party_id " \
    "WHERE o.property_id = $1::uuid AND o.unit_id = $2::uuid"

/* A whole read's audit: one pii_reads row per current occupant, in the
 * occupants' order, in the same statement (the same snapshot as the read). */
#define TN_UNIT_CARD_AUDIT                                                           \
    "WITH audit AS ("                                                                 \
    "  INSERT INTO pii_reads (property_id, party_id, user_id, role, request_id, method) " \
    "  SELECT $1::uuid, o.party_id, $3::text, $4::text, $5::text, $6::text FROM occupancies o " \
    "  WHERE o.property_id = $1::uuid AND o.unit_id = $2::uuid AND o.end_date IS NULL " \
    "  ORDER BY array_position (ARRAY['owner', 'tenant', 'resident'], o.role), o.start_date, " \
    "    o.created_at, o.id) "

static const db_statement_t s_statements[] = {
    { "tn_timezone_find",
      "SELECT 1 FROM pg_timezone_names WHERE name = $1::text", true },
    { "tn_property_insert",
      "INSERT INTO properties (code, name, address, timezone) "
      "VALUES ($1::text, $2::text, $3::text, $4::text) RETURNING " TN_PROPERTY_COLUMNS, false },
    { "tn_property_get",
      "SELECT " TN_PROPERTY_COLUMNS " FROM properties WHERE id = $1::uuid", true },
    { "tn_property_list",
      "SELECT " TN_PROPERTY_COLUMNS " FROM properties "
      "WHERE ($1::boolean OR id = ANY ($2::uuid[])) "
      "  AND ($3::text IS NULL OR code > $3::text) "
      "ORDER BY code LIMIT $4::int", true },
    { "tn_unit_insert",
      "INSERT INTO units (property_id, code, building, floor, area_m2, use) "
      "VALUES ($1::uuid, $2::text, $3::text, $4::text, $5::numeric, $6::text) "
      "RETURNING " TN_UNIT_COLUMNS, false },
    { "tn_unit_get",
      "SELECT " TN_UNIT_COLUMNS " FROM units WHERE property_id = $1::uuid AND id = $2::uuid", true },
    /* without the audit it only reads, so db may retry it after a dropped
     * connection; with it, not (a second row) */
    { "tn_unit_card", TN_UNIT_CARD_SQL, true },
    { "tn_unit_card_audited", TN_UNIT_CARD_AUDIT TN_UNIT_CARD_SQL, false },
    { "tn_unit_get_for_update",
      "SELECT " TN_UNIT_COLUMNS " FROM units WHERE property_id = $1::uuid AND id = $2::uuid "
      "FOR UPDATE", true },
    { "tn_unit_update",
      "UPDATE units SET code = $3::text, building = $4::text, floor = $5::text, "
      "  area_m2 = $6::numeric, use = $7::text, updated_at = now() "
      "WHERE property_id = $1::uuid AND id = $2::uuid RETURNING " TN_UNIT_COLUMNS, false },
    /* starts_with, not LIKE: a prefix holding % or _ means itself */
    { "tn_unit_list",
      "SELECT " TN_UNIT_COLUMNS " FROM units "
      "WHERE property_id = $1::uuid "
      "  AND ($2::text IS NULL OR starts_with (code, $2::text)) "
      "  AND ($3::text IS NULL OR use = $3::text) "
      "  AND ($4::text IS NULL OR building = $4::text) "
      "  AND ($5::text IS NULL OR code > $5::text) "
      "ORDER BY code LIMIT $6::int", true },
};

int
tn_store_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

PGresult *
tn_timezone_find (db_t *db, const char *name)
{
    return db_exec (db, "tn_timezone_find", 1, (const char *[]) { name });
}

PGresult *
tn_property_insert (db_t *db, const tn_property_input_t *in)
{
    const char *p[] = { in->code, in->name, in->address, in->timezone };
    return db_exec (db, "tn_property_insert", 4, p);
}

PGresult *
tn_property_get (db_t *db, const char *id)
{
    return db_exec (db, "tn_property_get", 1, (const char *[]) { id });
}

PGresult *
tn_property_list (db_t *db, bool all, const char *ids, const char *after, int limit)
{
    char lim[16];
    snprintf (lim, sizeof lim, "%d", limit);
    const char *p[] = { all ? "true" : "false", ids ? ids : "{}", after, lim };
    return db_exec (db, "tn_property_list", 4, p);
}

PGresult *
tn_unit_insert (db_t *db, const char *property_id, const tn_unit_values_t *v)
{
    const char *p[] = { property_id, v->code, v->building, v->floor, v->area, v->use };
    return db_exec (db, "tn_unit_insert", 6, p);
}

PGresult *
tn_unit_get (db_t *db, const char *property_id, const char *id, bool for_update)
{
    return db_exec (db, for_update ? "tn_unit_get_for_update" : "tn_unit_get", 2,
                    (const char *[]) { property_id, id });
}

PGresult *
tn_unit_card (db_t *db, const char *property_id, const char *id, const tn_reader_t *audit)
{
    if (!audit)
        return db_exec (db, "tn_unit_card", 2, (const char *[]) { property_id, id });
    const char *p[] = { property_id, id, audit->user_id, audit->role, audit->request_id, audit->method };
    return db_exec (db, "tn_unit_card_audited", 6, p);
}

PGresult *
tn_unit_update (db_t *db, const char *property_id, const char *id, const tn_unit_values_t *v)
{
    const char *p[] = { property_id, id, v->code, v->building, v->floor, v->area, v->use };
    return db_exec (db, "tn_unit_update", 7, p);
}

PGresult *
tn_unit_list (db_t *db, const char *property_id, const char *q, const char *use,
              const char *building, const char *after, int limit)
{
    char lim[16];
    snprintf (lim, sizeof lim, "%d", limit);
    const char *p[] = { property_id, q, use, building, after, lim };
    return db_exec (db, "tn_unit_list", 6, p);
}

static void
s_add_text (cJSON *obj, const char *name, const PGresult *res, int row, int col)
{
    if (PQgetisnull (res, row, col))
        cJSON_AddNullToObject (obj, name);
    else
        cJSON_AddStringToObject (obj, name, PQgetvalue (res, row, col));
}

cJSON *
tn_property_json (const PGresult *res, int row)
{
    cJSON *p = cJSON_CreateObject ();
    s_add_text (p, "id", res, row, P_ID);
    s_add_text (p, "code", res, row, P_CODE);
    s_add_text (p, "name", res, row, P_NAME);
    s_add_text (p, "address", res, row, P_ADDRESS);
    s_add_text (p, "timezone", res, row, P_TIMEZONE);
    s_add_text (p, "created_at", res, row, P_CREATED);
    return p;
}

cJSON *
tn_unit_json (const PGresult *res, int row)
{
    cJSON *u = cJSON_CreateObject ();
    s_add_text (u, "id", res, row, U_ID);
    s_add_text (u, "property_id", res, row, U_PROPERTY);
    s_add_text (u, "code", res, row, U_CODE);
    s_add_text (u, "building", res, row, U_BUILDING);
    s_add_text (u, "floor", res, row, U_FLOOR);
    /* NUMERIC(12,2) text such as "85.50": a double prints it back as 85.5,
     * and every value with 2 decimals below 1e9 survives that round trip. */
    cJSON_AddNumberToObject (u, "area_m2", strtod (PQgetvalue (res, row, U_AREA), NULL));
    s_add_text (u, "use", res, row, U_USE);
    s_add_text (u, "created_at", res, row, U_CREATED);
    s_add_text (u, "updated_at", res, row, U_UPDATED);
    return u;
}

static const char *
s_value (const PGresult *res, int row, int col)
{
    return PQgetisnull (res, row, col) ? NULL : PQgetvalue (res, row, col);
}

void
tn_unit_values (const PGresult *res, int row, tn_unit_values_t *out)
{
    out->code = s_value (res, row, U_CODE);
    out->building = s_value (res, row, U_BUILDING);
    out->floor = s_value (res, row, U_FLOOR);
    out->area = s_value (res, row, U_AREA);
    out->use = s_value (res, row, U_USE);
}

const char *
tn_row_code (const PGresult *res, int row)
{
    /* both column lists keep code where these enums say */
    return PQnfields (res) == U_UPDATED + 1 ? PQgetvalue (res, row, U_CODE) : PQgetvalue (res, row, P_CODE);
}

/* --- a unit's detail as JSON text (tn_unit_card) -------------------------------- */

/* tn_unit_card's occupancy columns; the unit's row has TN_UNIT_COLUMNS. */
enum { C_ID, C_PARTY, C_ROLE, C_START, C_END, C_KIND, C_NAME, C_PHONES, C_EMAIL, C_KEY,
       C_ID_TYPE, C_ID_NUMBER, C_SORT, C_NCOLS };
_Static_assert ((int) U_UPDATED < (int) C_SORT, "the unit's row pads the sort key with NULL");

static const char *
s_card_cell (const PGresult *res, int row, int col)
{
    return PQgetisnull (res, row, col) ? NULL : PQgetvalue (res, row, col);
}

static int
s_card_rank (const char *role)
{
    /* array_position (ARRAY['owner', 'tenant', 'resident'], role); another sorts last */
    static const char *const order[] = { "owner", "tenant", "resident" };
    for (int i = 0; i < 3; i++)
        if (strcmp (role, order[i]) == 0)
            return i;
    return 3;
}

/* The occupancies' order (qsort_r over row numbers): current before ended;
 * current by role (owner, tenant, resident), start date, move-in time, id;
 * ended by end date, move-out time and id, the latest first. What the
 * former statement's ORDER BYs said: sorting a unit's few rows here costs
 * nothing, a Sort node in PostgreSQL ~20 us a call. */
static int
s_card_order (const void *a, const void *b, void *res_)
{
    const PGresult *res = res_;
    int x = *(const int *) a, y = *(const int *) b;
    bool x_ended = !PQgetisnull (res, x, C_END), y_ended = !PQgetisnull (res, y, C_END);
    if (x_ended != y_ended)
        return x_ended ? 1 : -1;
    int c;
    if (!x_ended) {
        /* dates (YYYY-MM-DD), times (fixed-width UTC) and uuids compare as their text */
        if ((c = s_card_rank (PQgetvalue (res, x, C_ROLE)) - s_card_rank (PQgetvalue (res, y, C_ROLE))))
            return c;
        if ((c = strcmp (PQgetvalue (res, x, C_START), PQgetvalue (res, y, C_START))))
            return c;
        if ((c = strcmp (PQgetvalue (res, x, C_SORT), PQgetvalue (res, y, C_SORT))))
            return c;
        return strcmp (PQgetvalue (res, x, C_ID), PQgetvalue (res, y, C_ID));
    }
    if ((c = strcmp (PQgetvalue (res, y, C_END), PQgetvalue (res, x, C_END))))
        return c;
    if ((c = strcmp (PQgetvalue (res, y, C_SORT), PQgetvalue (res, x, C_SORT))))
        return c;
    return strcmp (PQgetvalue (res, y, C_ID), PQgetvalue (res, x, C_ID));
}

/* A NUMERIC's text as cJSON printed its double ("85.50" -> 85.5, "100.00" ->
 * 100): NUMERIC(12,2) has at most 12 significant digits, which "%1.15g"
 * prints back exactly, less the trailing zeros. Anything else (a sign, NaN,
 * a leading zero) goes through cJSON as before. */
static void
s_card_numeric (env_text_t *t, const char *num)
{
    size_t n = strspn (num, "0123456789.");
    const char *dot = strchr (num, '.');
    bool plain = n > 0 && !num[n] && num[0] != '.' && !(dot && strchr (dot + 1, '.'))
                 && !(num[0] == '0' && num[1] && num[1] != '.');
    if (!plain) {
        cJSON *d = cJSON_CreateNumber (strtod (num, NULL));
        char *printed = cJSON_PrintUnformatted (d);
        cJSON_Delete (d);
        env_text_put (t, printed ? printed : "null");
        free (printed);
        return;
    }
    if (dot) {
        while (num[n - 1] == '0')
            n--;
        if (num[n - 1] == '.')
            n--;
    }
    env_text_append (t, num, n);
}

static void
s_card_key (env_text_t *t, const char *key, const char *value)
{
    env_text_put (t, key);
    env_text_string (t, value);
}

/* One phone as shown: as stored, or masked. */
static void
s_card_phone (env_text_t *t, const char *phone, size_t len, bool whole)
{
    char one[TN_PHONE_MAX + 8];
    if (whole) {
        char *copy = strndup (phone, len);
        env_text_string (t, copy ? copy : "");
        t->failed = t->failed || !copy;
        free (copy);
        return;
    }
    char stored[TN_PHONE_MAX + 1];
    len = len < TN_PHONE_MAX ? len : TN_PHONE_MAX;
    memcpy (stored, phone, len);
    stored[len] = 0;
    pii_phone_mask (stored, one);
    env_text_string (t, one);
}

/* The phones (joined with \x1f by the statement; "" for none) as "phone"
 * (the first, or null) and "phones". */
static void
s_card_phones (env_text_t *t, const char *joined, bool whole)
{
    env_text_put (t, ",\"phone\":");
    if (!joined || !*joined)
        env_text_put (t, "null");
    else
        s_card_phone (t, joined, strcspn (joined, "\x1f"), whole);
    env_text_put (t, ",\"phones\":[");
    for (const char *p = joined ? joined : ""; *p;) {
        size_t len = strcspn (p, "\x1f");
        if (p != joined)
            env_text_put (t, ",");
        s_card_phone (t, p, len, whole);
        p += len + (p[len] ? 1 : 0);
    }
    env_text_put (t, "]");
}

static void
s_card_occupant (env_text_t *t, const PGresult *res, int r, const tn_card_view_t *view)
{
    s_card_key (t, "{\"occupancy_id\":", PQgetvalue (res, r, C_ID));
    s_card_key (t, ",\"party_id\":", PQgetvalue (res, r, C_PARTY));
    s_card_key (t, ",\"kind\":", PQgetvalue (res, r, C_KIND));
    s_card_key (t, ",\"name\":", PQgetvalue (res, r, C_NAME));
    s_card_key (t, ",\"role\":", PQgetvalue (res, r, C_ROLE));
    s_card_key (t, ",\"start_date\":", PQgetvalue (res, r, C_START));
    if (view->contacts) {
        /* a technician is sent to a unit, not to its people */
        s_card_phones (t, s_card_cell (res, r, C_PHONES), view->whole);
        s_card_key (t, ",\"email\":", s_card_cell (res, r, C_EMAIL));
    }
    env_text_put (t, strcmp (PQgetvalue (res, r, C_KEY), "true") == 0 ? ",\"key_customer\":true"
                                                                      : ",\"key_customer\":false");
    if (view->contacts && view->full) {
        s_card_key (t, ",\"id_type\":", s_card_cell (res, r, C_ID_TYPE));
        const char *id = s_card_cell (res, r, C_ID_NUMBER);
        char masked[TN_ID_NUMBER_MAX + 1];
        if (id && !view->whole) {
            pii_id_mask (id, masked);
            id = masked;
        }
        s_card_key (t, ",\"id_number\":", id);
    }
    env_text_put (t, "}");
}

static void
s_card_past (env_text_t *t, const PGresult *res, int r, int unit)
{
    s_card_key (t, "{\"id\":", PQgetvalue (res, r, C_ID));
    s_card_key (t, ",\"property_id\":", PQgetvalue (res, unit, U_PROPERTY));
    s_card_key (t, ",\"unit_id\":", PQgetvalue (res, unit, U_ID));
    s_card_key (t, ",\"unit_code\":", PQgetvalue (res, unit, U_CODE));
    s_card_key (t, ",\"party_id\":", PQgetvalue (res, r, C_PARTY));
    s_card_key (t, ",\"party_name\":", PQgetvalue (res, r, C_NAME));
    s_card_key (t, ",\"role\":", PQgetvalue (res, r, C_ROLE));
    s_card_key (t, ",\"start_date\":", PQgetvalue (res, r, C_START));
    s_card_key (t, ",\"end_date\":", PQgetvalue (res, r, C_END));
    env_text_put (t, "}");
}

char *
tn_unit_card_json (const PGresult *res, const tn_card_view_t *view)
{
    int rows = PQntuples (res), unit = -1, n = 0;
    if (PQnfields (res) != C_NCOLS)
        return NULL;
    int *order = malloc (sizeof *order * (size_t) (rows ? rows : 1));
    if (!order)
        return NULL;
    for (int r = 0; r < rows; r++)
        if (PQgetisnull (res, r, C_SORT))
            unit = r;
        else
            order[n++] = r;
    if (unit < 0) {
        free (order);
        return NULL;
    }
    qsort_r (order, (size_t) n, sizeof *order, s_card_order, (void *) res);

    env_text_t t = ENV_TEXT_INIT;
    s_card_key (&t, "{\"id\":", PQgetvalue (res, unit, U_ID));
    s_card_key (&t, ",\"property_id\":", PQgetvalue (res, unit, U_PROPERTY));
    s_card_key (&t, ",\"code\":", PQgetvalue (res, unit, U_CODE));
    s_card_key (&t, ",\"building\":", s_card_cell (res, unit, U_BUILDING));
    s_card_key (&t, ",\"floor\":", s_card_cell (res, unit, U_FLOOR));
    env_text_put (&t, ",\"area_m2\":");
    s_card_numeric (&t, PQgetvalue (res, unit, U_AREA));
    s_card_key (&t, ",\"use\":", s_card_cell (res, unit, U_USE));
    s_card_key (&t, ",\"created_at\":", s_card_cell (res, unit, U_CREATED));
    s_card_key (&t, ",\"updated_at\":", s_card_cell (res, unit, U_UPDATED));
    env_text_put (&t, ",\"occupants\":[");
    int i = 0;
    for (; i < n && PQgetisnull (res, order[i], C_END); i++) {
        if (i)
            env_text_put (&t, ",");
        s_card_occupant (&t, res, order[i], view);
    }
    env_text_put (&t, "]");
    if (view->history) {
        env_text_put (&t, ",\"history\":[");
        for (int k = 0; i < n && k < TN_HISTORY_MAX; i++, k++) {
            if (k)
                env_text_put (&t, ",");
            s_card_past (&t, res, order[i], unit);
        }
        env_text_put (&t, "]");
    }
    env_text_put (&t, "}");
    free (order);
    return env_text_take (&t);
}
