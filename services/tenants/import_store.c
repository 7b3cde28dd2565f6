/* import_store: set-based SQL of bulk onboarding; see import_store.h.
 * Parameterized statements only: the rows travel as array parameters. */
#include "import_store.h"
#include "party_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The data of unit.created, as tn_unit_json (tenants_store.c) makes it:
 * trim_scale gives 85.5 for 85.50, as a double prints it. */
#define IM_UNIT_JSON(u) \
    "jsonb_build_object ('id', " u ".id, 'property_id', " u ".property_id, 'code', " u ".code, " \
    "'building', " u ".building, 'floor', " u ".floor, 'area_m2', trim_scale (" u ".area_m2), " \
    "'use', " u ".use, 'created_at', " DB_UTC_TS (u ".created_at") ", " \
    "'updated_at', " DB_UTC_TS (u ".updated_at") ")"

/* The data of party.created, as tn_party_event_json (party_event.h) makes it. */
#define IM_PARTY_JSON(p) TN_PARTY_EVENT_SQL (p)

/* The data of occupancy.started, as tn_occupancy_event_json (party_store.c) makes it. */
#define IM_OCC_JSON(o, u, p)                                                                       \
    "jsonb_build_object ('id', " o ".id, 'property_id', " o ".property_id, 'unit_id', " o ".unit_id, " \
    "'unit_code', " u ".code, 'party_id', " o ".party_id, 'party_name', " p ".name, "              \
    "'role', " o ".role, 'start_date', " o ".start_date::text, 'end_date', " o ".end_date::text, " \
    "'unit', jsonb_build_object ('id', " u ".id, 'code', " u ".code, 'building', " u ".building, " \
    "  'floor', " u ".floor, 'area_m2', trim_scale (" u ".area_m2), 'use', " u ".use), "           \
    "'party', jsonb_build_object ('id', " p ".id, 'kind', " p ".kind, 'name', " p ".name))"

static const db_statement_t s_im_statements[] = {
    { "tn_import_lock",
      "SELECT pg_advisory_xact_lock (hashtext ('tenants.import.' || $1::text), hashtext ($2::text))",
      false },
    { "tn_import_units",
      "WITH input AS ("
      "  SELECT * FROM unnest ($2::text[], $3::text[], $4::text[], $5::numeric[], $6::text[]) "
      "    WITH ORDINALITY AS t (code, building, floor, area_m2, use, n)"
      "), ins AS ("
      "  INSERT INTO units (property_id, code, building, floor, area_m2, use) "
      "  SELECT $1::uuid, code, building, floor, area_m2, use FROM input ORDER BY n "
      "  ON CONFLICT (property_id, code) DO NOTHING "
      "  RETURNING id, property_id, code, building, floor, area_m2, use, created_at, updated_at"
      "), ev AS ("
      "  " OUTBOX_INSERT
      "  SELECT 'unit.created', ins.property_id, " IM_UNIT_JSON ("ins") " FROM ins "
      "  RETURNING 1"
      ") SELECT (SELECT count(*) FROM ins)::text, (SELECT count(*) FROM ev)::text", false },
    { "tn_import_unit_ids",
      "SELECT code, id::text FROM units WHERE property_id = $1::uuid AND code = ANY ($2::text[])",
      true },
    /* found: parties already there, by ID document (the unique index) or,
     * without one, by kind, name, primary phone and e-mail; ins: the others,
     * with ids made up front so that each inserted row maps back to its input */
    { "tn_import_parties",
      "WITH input AS MATERIALIZED ("
      "  SELECT t.*, gen_random_uuid () AS new_id FROM unnest ($2::int[], $3::text[], $4::text[], "
      "    $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) "
      "    AS t (n, kind, name, phones, tails, email, id_type, id_number)"
      "), found AS ("
      "  SELECT i.n, p.id FROM input i JOIN parties p ON p.property_id = $1::uuid "
      "    AND p.id_type = i.id_type AND p.id_number = i.id_number "
      "  WHERE i.id_number IS NOT NULL "
      "  UNION ALL "
      "  (SELECT DISTINCT ON (i.n) i.n, p.id FROM input i JOIN parties p ON p.property_id = $1::uuid "
      "    AND p.name = i.name AND p.kind = i.kind AND p.id_number IS NULL "
      "    AND p.phones[1] IS NOT DISTINCT FROM (i.phones::jsonb ->> 0) "
      "    AND p.email IS NOT DISTINCT FROM i.email "
      "  WHERE i.id_number IS NULL ORDER BY i.n, p.created_at, p.id)"
      "), ins AS ("
      "  INSERT INTO parties AS p (id, property_id, kind, name, phones, email, id_type, id_number) "
      "  SELECT i.new_id, $1::uuid, i.kind, i.name, "
      "    ARRAY (SELECT e FROM jsonb_array_elements_text (i.phones::jsonb) WITH ORDINALITY AS x (e, k) "
      "           ORDER BY k), i.email, i.id_type, i.id_number "
      "  FROM input i WHERE NOT EXISTS (SELECT 1 FROM found f WHERE f.n = i.n) ORDER BY i.n "
      "  ON CONFLICT (property_id, id_type, id_number) WHERE id_number IS NOT NULL DO NOTHING "
      "  RETURNING p.*"
      "), tails AS ("
      "  INSERT INTO party_phone_tails (property_id, party_id, tail) "
      "  SELECT DISTINCT ins.property_id, ins.id, t FROM ins JOIN input i ON i.new_id = ins.id, "
      "    jsonb_array_elements_text (i.tails::jsonb) AS t "
      "  ON CONFLICT DO NOTHING RETURNING 1"
      "), ev AS ("
      "  " OUTBOX_INSERT
      "  SELECT 'party.created', ins.property_id, " IM_PARTY_JSON ("ins") " "
      "  FROM ins RETURNING 1"
      ") SELECT n::text, id::text, false FROM found "
      "UNION ALL SELECT i.n::text, ins.id::text, true FROM ins JOIN input i ON i.new_id = ins.id",
      false },
    { "tn_import_parties_by_id",
      "SELECT i.n::text, p.id::text FROM unnest ($2::int[], $3::text[], $4::text[]) "
      "  AS i (n, id_type, id_number) "
      "JOIN parties p ON p.property_id = $1::uuid AND p.id_type = i.id_type "
      "  AND p.id_number = i.id_number", true },
    /* a move-in that is current already (the partial unique index of
     * occupancies) is skipped, not repeated */
    { "tn_import_occupancies",
      "WITH input AS ("
      "  SELECT * FROM unnest ($2::int[], $3::uuid[], $4::uuid[], $5::text[], $6::date[]) "
      "    AS t (n, party_id, unit_id, role, start_date)"
      "), ins AS ("
      "  INSERT INTO occupancies (property_id, unit_id, party_id, role, start_date) "
      "  SELECT $1::uuid, unit_id, party_id, role, start_date FROM input ORDER BY n "
      "  ON CONFLICT (unit_id, party_id, role) WHERE end_date IS NULL DO NOTHING "
      "  RETURNING id, property_id, unit_id, party_id, role, start_date, end_date"
      "), ev AS ("
      "  " OUTBOX_INSERT
      "  SELECT 'occupancy.started', ins.property_id, " IM_OCC_JSON ("ins", "u", "p") " FROM ins "
      "  JOIN units u ON u.property_id = ins.property_id AND u.id = ins.unit_id "
      "  JOIN parties p ON p.property_id = ins.property_id AND p.id = ins.party_id "
      "  RETURNING 1"
      ") SELECT i.n::text FROM ins JOIN input i ON i.party_id = ins.party_id "
      "  AND i.unit_id = ins.unit_id AND i.role = ins.role", false },
};

int
tn_import_store_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_im_statements);
}

/* ---- array literals ----------------------------------------------------- */

static void
s_im_put (tn_pgarray_t *a, const char *s, size_t n)
{
    if (a->failed)
        return;
    if (a->len + n + 3 > a->cap) {
        size_t cap = a->cap ? a->cap : 1024;
        while (cap < a->len + n + 3)
            cap *= 2;
        char *p = realloc (a->buf, cap);
        if (!p) {
            a->failed = true;
            return;
        }
        a->buf = p;
        a->cap = cap;
    }
    memcpy (a->buf + a->len, s, n);
    a->len += n;
    a->buf[a->len] = 0;
}

void
tn_pgarray_add (tn_pgarray_t *a, const char *s)
{
    s_im_put (a, a->count ? "," : "{", 1);
    a->count++;
    if (!s) {
        s_im_put (a, "NULL", 4);
        return;
    }
    s_im_put (a, "\"", 1);
    for (const char *p = s; *p;) {
        size_t run = strcspn (p, "\"\\");
        s_im_put (a, p, run);
        p += run;
        if (*p) {
            char esc[2] = { '\\', *p };
            s_im_put (a, esc, 2);
            p++;
        }
    }
    s_im_put (a, "\"", 1);
}

const char *
tn_pgarray_text (tn_pgarray_t *a)
{
    if (!a->count)
        s_im_put (a, "{", 1);
    s_im_put (a, "}", 1);
    a->count = 1;                    /* closed: a second call adds another brace, so do not */
    return a->failed ? NULL : a->buf;
}

void
tn_pgarray_free (tn_pgarray_t *a)
{
    free (a->buf);
    memset (a, 0, sizeof *a);
}

/* (data-modifying WITH queries run once and to the end whether or not the
 * main query reads them: the tails and events need no SELECT) */

/* ---- statements --------------------------------------------------------- */

PGresult *
tn_import_lock (db_t *db, const char *kind, const char *property_id)
{
    return db_exec (db, "tn_import_lock", 2, (const char *[]) { kind, property_id });
}

PGresult *
tn_import_units (db_t *db, const char *property_id, const char *codes, const char *buildings,
                 const char *floors, const char *areas, const char *uses)
{
    const char *p[] = { property_id, codes, buildings, floors, areas, uses };
    return db_exec (db, "tn_import_units", 6, p);
}

PGresult *
tn_import_unit_ids (db_t *db, const char *property_id, const char *codes)
{
    return db_exec (db, "tn_import_unit_ids", 2, (const char *[]) { property_id, codes });
}

PGresult *
tn_import_parties (db_t *db, const char *property_id, const char *ns, const char *kinds,
                   const char *names, const char *phones, const char *tails, const char *emails,
                   const char *id_types, const char *id_numbers)
{
    const char *p[] = { property_id, ns, kinds, names, phones, tails, emails, id_types, id_numbers };
    return db_exec (db, "tn_import_parties", 9, p);
}

PGresult *
tn_import_parties_by_id (db_t *db, const char *property_id, const char *ns, const char *id_types,
                         const char *id_numbers)
{
    const char *p[] = { property_id, ns, id_types, id_numbers };
    return db_exec (db, "tn_import_parties_by_id", 4, p);
}

PGresult *
tn_import_occupancies (db_t *db, const char *property_id, const char *ns, const char *party_ids,
                       const char *unit_ids, const char *roles, const char *starts)
{
    const char *p[] = { property_id, ns, party_ids, unit_ids, roles, starts };
    return db_exec (db, "tn_import_occupancies", 6, p);
}
