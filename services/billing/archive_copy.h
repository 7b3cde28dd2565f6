/* archive_copy: billing's own copy of the tenants archive (units, parties,
 * occupancies, parking leases), fed by tenants' events through
 * common/consumer.h, and the per-property billing settings, created on first
 * sight of a property. A bill run reads only these tables. */
#ifndef BL_ARCHIVE_COPY_H
#define BL_ARCHIVE_COPY_H

#include "billing.h"

int bl_archive_prepare (db_t *db);

/* billing.settings.get / .put */
void bl_settings_get (void *app, const env_request_t *req, env_reply_t *rep);
void bl_settings_put (void *app, const env_request_t *req, env_reply_t *rep);

/* consumer_apply_fn: upserts the event's row into the copy, inside the
 * consumer's transaction (which also records the event id and the cursor).
 * Events billing does not need are passed over (0). */
int bl_archive_apply (void *app, db_t *db, const cJSON *event, const char *request_id);

/* The property's settings row (one row, or none when billing has not seen
 * the property). Caller PQclears. */
PGresult *bl_settings_row (db_t *db, const char *pid);

#endif
