/* rules: which event reaches whom on which channels, as data per property
 * (the rules table of 001_init.sql): rows with property_id NULL are the
 * defaults; a property that has rows for an event type uses those instead
 * (an empty channels array mutes the type). events.c resolves them for each
 * event with NT_RULES_EFFECTIVE_SQL; the API reads and replaces them. */
#ifndef NT_RULES_H
#define NT_RULES_H

#include "notifications.h"

#define NT_RULES_PUT_MAX 200         /* rules in one PUT */

/* The effective rules of a property (parameter P, a uuid or NULL) as rows
 * (event_type, recipient, channels, own): the property's rows of the types
 * it has any for, and the defaults of the others. */
#define NT_RULES_EFFECTIVE_SQL(P)                                                        \
    "SELECT r.event_type, r.recipient, r.channels, r.property_id IS NOT NULL AS own "     \
    "FROM rules r WHERE r.property_id = " P " OR (r.property_id IS NULL AND NOT EXISTS (" \
    "  SELECT 1 FROM rules o WHERE o.property_id = " P " AND o.event_type = r.event_type))"

/* NULL-terminated: the recipients and channels a rule may name. */
extern const char *const nt_rule_recipients[];
extern const char *const nt_rule_channels[];

/* True for the recipients that are staff (a user or a role): the platform
 * keeps no contacts of staff, so their rules know only the inbox. */
bool nt_rule_recipient_is_staff (const char *recipient);

/* Pure: the problems of a notifications.rules.put body as a details array,
 * or NULL when it is valid. */
cJSON *nt_rules_check (const cJSON *data);

int nt_rules_prepare (db_t *db);

void nt_rules_get (void *app, const env_request_t *req, env_reply_t *rep);
void nt_rules_put (void *app, const env_request_t *req, env_reply_t *rep);

#endif
