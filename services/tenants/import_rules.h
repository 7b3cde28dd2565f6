/* import_rules: how the cells of a CSV import become the JSON API's data,
 * and who a party of a parties file is. Pure functions (no database),
 * unit-tested in tests/unit/test_import_rules.c; the rows are then checked
 * by the API's own rules (tn_unit_input, tn_party_input). */
#ifndef TN_IMPORT_RULES_H
#define TN_IMPORT_RULES_H

#include "party_rules.h"

#include <cjson/cJSON.h>

/* A number as a spreadsheet writes it: digits with an optional fraction
 * ("85", "85.5", "0.25"). Anything else ("", ".5", "-1", "1e3", "85 m2")
 * stays text, for the API's rules to call it "must be a number". */
cJSON *tn_import_number (const char *cell);

/* A phone cell: one number, or several separated by ; , / or 、 (the
 * Chinese full-width forms too), each trimmed of blanks, empty ones left
 * out. Adds "phone" (one) or "phones" (several) to obj; nothing for none. */
void tn_import_phones (cJSON *obj, const char *cell);

/* Who a valid party row is, as a key that two rows of one party share: its
 * ID document when it has one, else its kind, name, first phone and e-mail
 * (the rule tn_import_parties applies in the database). Caller frees; NULL
 * when out of memory. */
char *tn_import_party_key (const tn_party_input_t *in);

#endif
