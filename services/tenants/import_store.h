/* import_store: the set-based SQL of bulk onboarding (units and parties from
 * CSV): each batch of validated rows travels as a few PostgreSQL arrays and
 * goes in with one INSERT ... SELECT FROM unnest (...) ON CONFLICT DO NOTHING,
 * its events written by the same statement (OUTBOX_INSERT ... SELECT
 * from the inserted rows), so 20,000 rows cost a handful of round trips.
 * The event data is built with jsonb_build_object in exactly the shape the
 * single-row handlers emit (tests/blackbox/test_imports.py compares them).
 * Every function returns db_exec's result: check db_ok, PQclear it. */
#ifndef TN_IMPORT_STORE_H
#define TN_IMPORT_STORE_H

#include "db.h"
#include <stdbool.h>
#include <stddef.h>

/* Registers the statements; 0 or -1. */
int tn_import_store_prepare (db_t *db);

/* A PostgreSQL array literal built one element at a time: "{"a","b\"c",NULL}".
 * Every element is quoted and escaped, so any text (commas, braces,
 * quotes, backslashes, Chinese) arrives as sent. */
typedef struct {
    char *buf;
    size_t len, cap;
    size_t count;
    bool failed;                     /* out of memory: tn_pgarray_text is NULL */
} tn_pgarray_t;

void tn_pgarray_add (tn_pgarray_t *a, const char *s);      /* NULL adds NULL */
/* Closes the literal and returns it (borrowed from a, valid until
 * tn_pgarray_free); NULL when out of memory. Call once, after the last add. */
const char *tn_pgarray_text (tn_pgarray_t *a);
void tn_pgarray_free (tn_pgarray_t *a);

/* Serialises imports of one kind into one property for the rest of the
 * transaction (pg_advisory_xact_lock): two uploads of the same file at once
 * then import it once, also for parties without an ID document. */
PGresult *tn_import_lock (db_t *db, const char *kind, const char *property_id);

/* Units: one array per column (text; areas canonical "85.50"). Inserts the
 * units whose code is new in the property, and a unit.created event for
 * each. One row: the number inserted. */
PGresult *tn_import_units (db_t *db, const char *property_id, const char *codes,
                           const char *buildings, const char *floors, const char *areas,
                           const char *uses);

/* The (code, id) of the units among codes (a text[] literal) in the property. */
PGresult *tn_import_unit_ids (db_t *db, const char *property_id, const char *codes);

/* Parties, one element per distinct party: ns (int[]: the row that names it
 * first), kinds, names, phones and tails (each a JSON array text), emails,
 * id_types, id_numbers. A party already in the property (the same ID
 * document; without one, the same kind, name, primary phone and e-mail) is
 * found, others are inserted with their phone tails and a party.created
 * event. Rows: (n, id, created) for every party it could resolve. */
PGresult *tn_import_parties (db_t *db, const char *property_id, const char *ns, const char *kinds,
                             const char *names, const char *phones, const char *tails,
                             const char *emails, const char *id_types, const char *id_numbers);

/* The parties holding these ID documents (for a party another transaction
 * created while we inserted). Rows: (n, id). */
PGresult *tn_import_parties_by_id (db_t *db, const char *property_id, const char *ns,
                                   const char *id_types, const char *id_numbers);

/* Move-ins, one per (party, unit, role): ns (the rows), party_ids, unit_ids,
 * roles, start dates. Inserts those not already current, with an
 * occupancy.started event each. Rows: (n) of those inserted. */
PGresult *tn_import_occupancies (db_t *db, const char *property_id, const char *ns,
                                 const char *party_ids, const char *unit_ids, const char *roles,
                                 const char *starts);

#endif
