/* pii: personal data shared by the services that hold it (tenants' parties,
 * the desk's visitors in tickets): the one normaliser of phone numbers, the
 * resident ID's check, and the masks shown to roles without full access
 * (API.md, "Trust and limits": 138****5678, at most the last 4 characters of
 * an ID number). Pure functions, unit-tested in tests/unit/test_party_rules.c
 * and test_tk_desk_rules.c. */
#ifndef PM_PII_H
#define PM_PII_H

#include <stdbool.h>
#include <stddef.h>

#define PII_PHONE_INPUT_MAX   40     /* bytes a client may send for one number */
#define PII_PHONE_MAX         24     /* a normalised number: "0755-88881234-123456" */
#define PII_PHONE_MASK_MAX    (PII_PHONE_MAX + 8)
#define PII_PHONE_EXT_MAX     6      /* digits of a landline extension */
#define PII_ID_NUMBER_MIN     3
#define PII_ID_NUMBER_MAX     32
/* "**************1234": at most the last PII_ID_MASK_TAIL characters shown,
 * none below PII_ID_MASK_MIN characters (a 9-character passport shows nothing) */
#define PII_ID_MASK_TAIL      4
#define PII_ID_MASK_MIN       12

/* A phone number as the client typed it -> its stored form, in out:
 *   mobile     1[3-9] + 9 digits             "13800138000" (also from +86 / 0086 / 86 forms)
 *   landline   0 + area code + 7..8 digits   "0755-88881234", "010-62345678"
 *              with an optional extension    "0755-88881234-801" (after -, ext, x, #, 转)
 *   other      + then 8..15 digits           "+85291234567"
 * Spaces and dashes between digits are ignored. False for anything else. */
bool pii_phone_normalize (const char *in, char out[PII_PHONE_MAX + 1]);

/* The last 4 digits of a normalised number's subscriber part (not of its
 * extension): what a caller reads out when asked "the last four digits". */
void pii_phone_tail (const char *phone, char out[5]);

/* "138****5678": the first 3 characters, ****, the last 4 digits of the number,
 * then a landline's extension as it is ("075****1234-801"). */
void pii_phone_mask (const char *phone, char out[PII_PHONE_MASK_MAX]);

/* The mask of an ID number: the same length, '*' but for the last
 * PII_ID_MASK_TAIL characters of one of PII_ID_MASK_MIN or more. id is ASCII
 * (pii_id_clean's charset). */
void pii_id_mask (const char *id, char out[PII_ID_NUMBER_MAX + 1]);

/* 18 characters: 17 digits (the 6-digit area, a birth date YYYYMMDD that
 * exists, a sequence) and the ISO 7064 MOD 11-2 check character, a digit or
 * X. Upper case expected (pii_id_clean makes it so). */
bool pii_resident_id_ok (const char *id);

/* An ID number as typed: trimmed of spaces, letters upper-cased (a resident
 * ID's x is its X), into out. NULL when it is fine, else the problem to
 * report: PII_ID_NUMBER_MIN..PII_ID_NUMBER_MAX characters of A-Z 0-9 -. */
const char *pii_id_clean (const char *id, char out[PII_ID_NUMBER_MAX + 1]);

/* Whether a role sees personal data whole (admin, manager, service); the
 * others (agent, technician, integration, anything unknown) see masks. */
bool pii_role_sees_pii (const char *role);

#endif
