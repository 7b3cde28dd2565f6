/* party_rules: what a valid party (业户) is, and what each role may see of it.
 * Pure functions (no database), unit-tested in tests/unit/test_party_rules.c:
 * identity documents by type (the resident ID's check and the phone
 * normaliser and masks are common/pii.h's, shared with the desk's visitors;
 * the unified social credit code of a company), e-mail sanity, the create/
 * PATCH inputs, and which role sees what.
 * The CHECK constraints of migrations/002_parties_occupancies_parking.sql
 * mirror these limits. */
#ifndef TN_PARTY_RULES_H
#define TN_PARTY_RULES_H

#include "jv.h"
#include "pii.h"
#include <stdbool.h>
#include <stddef.h>

#define TN_PARTY_NAME_MAX     200    /* bytes of UTF-8 */
#define TN_PHONES_MAX         5      /* per party; the first is the primary */
/* phones and ID numbers: common/pii.h, shared with the desk's visitors */
#define TN_PHONE_MAX          PII_PHONE_MAX
#define TN_EMAIL_MAX          254
#define TN_ID_NUMBER_MAX      PII_ID_NUMBER_MAX
#define TN_KEY_NOTE_MAX       1000
#define TN_PARTY_QUERY_MAX    64     /* ?q= */

/* NULL-terminated value lists. */
extern const char *const tn_party_kinds[];       /* person company */
extern const char *const tn_id_types[];          /* resident_id passport other credit_code */
extern const char *const tn_occupancy_roles[];   /* owner tenant resident */

/* The 18-character unified social credit code (统一社会信用代码, GB 32100):
 * characters of 0-9 A-H J-N P-R T U W-Y, the last a MOD 31 check character. */
bool tn_credit_code_ok (const char *code);

/* Validates id (trimmed, upper-cased into out) for its type; NULL when it
 * is fine, else the problem to report. */
const char *tn_id_normalize (const char *type, const char *id, char out[TN_ID_NUMBER_MAX + 1]);

/* A plausible address: local@domain, one @, no spaces or control
 * characters, a dot inside the domain, no empty labels, 3..254 bytes. */
bool tn_email_ok (const char *email);

/* A party's stored values (text; NULL = none), as the PATCH rules see them. */
typedef struct {
    const char *kind;
    const char *name;
    char phones[TN_PHONES_MAX][TN_PHONE_MAX + 1];
    int nphones;
    const char *email;
    const char *id_type;
    const char *id_number;
    bool key_customer;
    const char *key_customer_note;
} tn_party_values_t;

/* A party's input: which fields were sent and their values. Strings borrow
 * from the request data (or from cur), except phones and id_number, which
 * are normalised copies. */
typedef struct {
    bool has_name, has_phones, has_email, has_id, has_key, has_key_note;
    bool phone_primary_only;         /* PATCH "phone": replaces the primary number only */
    const char *kind;
    const char *name;
    char phones[TN_PHONES_MAX][TN_PHONE_MAX + 1];
    int nphones;
    const char *email;               /* NULL = none */
    const char *id_type;             /* NULL = none */
    char id_number[TN_ID_NUMBER_MAX + 1];   /* "" = none */
    bool key_customer;
    const char *key_customer_note;   /* NULL = none */
} tn_party_input_t;

/* Validates POST .../parties data (cur NULL: kind and name required) or
 * PATCH data (cur = the party now: any subset; kind cannot change; an
 * id_number without id_type keeps the stored type). phone (a string) and
 * phones (an array, at most TN_PHONES_MAX) are exclusive; numbers are
 * normalised and repeated ones dropped. An id_number without id_type is a
 * resident_id for a person, a credit_code for a company. Every problem goes
 * into v, phones as "phone" or "phones[i]". */
bool tn_party_input (jv_t *v, const cJSON *data, const tn_party_values_t *cur,
                     tn_party_input_t *out);

/* Whether a document type suits a kind (a person: resident_id, passport,
 * other; a company: credit_code, other). */
bool tn_id_type_fits (const char *kind, const char *type);

/* The party after a PATCH: next = cur with in applied (next borrows from
 * both). Returns true when anything differs from cur; *key_changed tells
 * whether the key-customer flag or note differs (only managers and admins
 * may change them). */
bool tn_party_patch (const tn_party_values_t *cur, const tn_party_input_t *in,
                     tn_party_values_t *next, bool *key_changed);

/* POST .../units/{uid}/occupancies data: a move-in. The party's existence
 * and the one current occupancy per role are the handler's (a row decides). */
typedef struct {
    const char *party_id;            /* a UUID */
    const char *role;                /* static (tn_occupancy_roles) */
    const char *start_date;          /* YYYY-MM-DD */
} tn_occupancy_input_t;

bool tn_occupancy_input (jv_t *v, const cJSON *data, tn_occupancy_input_t *out);


/* The move-in columns of one row of a parties import, as an object of the
 * row's non-empty cells: none, or unit_code with role and start_date
 * (a role or start_date without unit_code is a problem). */
typedef struct {
    const char *unit_code;           /* NULL: no move-in */
    const char *role;                /* static (tn_occupancy_roles) */
    const char *start_date;
} tn_import_move_in_t;

bool tn_import_move_in_input (jv_t *v, const cJSON *occ, tn_import_move_in_t *out);

/* Whether a role sees personal data whole (admin, manager, service); the
 * others (agent, technician, integration, anything unknown) see masks. */
bool tn_role_sees_pii (const char *role);

/* Whether reading whole personal data is written to pii_reads: for the human
 * roles that see it (admin, manager). "service" is the system itself acting
 * (billing printing a bill, notifications sending an SMS): its reads follow
 * from events and rules, not from a person looking someone up, so they are
 * not audited. */
bool tn_role_audited (const char *role);

/* Whether a role sees occupants' contacts (phones, masked or whole, and
 * e-mail) at all: not a technician, nor anything unknown. */
bool tn_role_sees_contacts (const char *role);

/* Whether a role may change the key-customer flag and note. */
bool tn_role_sets_key_customer (const char *role);

#endif
