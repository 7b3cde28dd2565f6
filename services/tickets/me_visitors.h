/* me_visitors: a resident announces a visitor for a unit they occupy now
 * (issue K; API.md, "Residents (issue K)"; DESIGN.md, "Residents' scope").
 *
 * tickets.me.visitors.create, POST /v1/me/visitors
 * {"unit_id","name","expected_at","vehicle_plate"?} -> 201
 * {"id","pass_code","unit_id","unit_code","name","expected_at","expected_date",
 *  "vehicle_plate","status","vehicle_pass"}:
 * - the unit must have a current occupancy by one of the caller's party_ids
 *   in tickets' copy (tenant_occupancies), else 404 "no such unit"; that
 *   occupancy's party is the one who announced the visitor;
 * - the visitor is a row of the desk's register (visitors.c: status
 *   registered, expected_at set, a 6-digit pass_code; migration 012), so the
 *   desk's GET .../visitors?date=<the expected day> lists it with
 *   "expected":true and the code, and checks it in as usual;
 * - with a plate, a vehicle pass (vehicle_passes.c's desk_pass_insert) for
 *   that plate and unit, valid the whole expected day in the property's
 *   timezone: the barrier's GET .../vehicle-passes/check answers
 *   allowed:true that day. Visitor and pass are written together or not.
 * expected_at: RFC 3339, at most ME_VISITOR_PAST_S before now and
 * ME_VISITOR_AHEAD_DAYS days ahead. */
#ifndef TK_ME_VISITORS_H
#define TK_ME_VISITORS_H

#include "desk_rules.h"
#include "tickets.h"

#include <stdbool.h>
#include <stdint.h>

#define ME_VISITOR_PAST_S      86400
#define ME_VISITOR_AHEAD_DAYS  90
#define ME_VISITOR_PURPOSE     "业主预约访客"

/* The body of POST /v1/me/visitors (pure: tests/unit/test_tk_me_visitors.c).
 * Strings borrow from data; plate normalised ("" without one). true, or
 * false with the problems in v. */
typedef struct {
    const char *unit_id, *name, *expected_at;
    int64_t expected_us;
    char plate[DESK_PLATE_MAX + 1];
} me_visitor_input_t;
bool me_visitor_input (jv_t *v, const cJSON *data, int64_t now_us, me_visitor_input_t *in);

int me_visitors_prepare (db_t *db);
void me_visitors_create (void *app, const env_request_t *req, env_reply_t *rep);

#endif
