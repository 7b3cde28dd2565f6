/* vehicle_passes: visitors' and VIP cars let into the car park (贵宾车辆/访客车辆
 * 引导): a normalised plate (desk_rules.h), valid from/to, a VIP flag, and the
 * unit or party it is for; the check a barrier gate asks (an integration
 * key may), list and revoke. All its SQL lives in vehicle_passes.c. */
#ifndef TK_VEHICLE_PASSES_H
#define TK_VEHICLE_PASSES_H

#include "tickets.h"

/* Registers vehicle_passes.c's statements; 0 or -1. */
int vehicle_passes_prepare (db_t *db);

/* Handlers (app is the tickets service's tickets_t). */
void vehicle_passes_create (void *app, const env_request_t *req, env_reply_t *rep);
void vehicle_passes_list (void *app, const env_request_t *req, env_reply_t *rep);
void vehicle_passes_check (void *app, const env_request_t *req, env_reply_t *rep);
void vehicle_passes_revoke (void *app, const env_request_t *req, env_reply_t *rep);

#endif
