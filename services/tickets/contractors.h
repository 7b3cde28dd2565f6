/* contractors: the property's contractors (承包商: cleaning, greening, pest
 * control, security) and their supervision (监管评定): inspections scored on
 * weighted criteria (contractor_rules.h), the monthly report with each
 * contractor's lowest criterion, a contractor's trend over the last months,
 * and rectification (整改): an inspection scoring below the property's
 * threshold (contractor-settings, default 80) opens, in the same
 * transaction, a ticket of type other, category "rectification", channel
 * patrol (tickets.h tk_ticket_prepare / tk_ticket_open). Admin and manager
 * write; agents read; technicians have no access. All its SQL lives in
 * contractors.c. */
#ifndef TK_CONTRACTORS_H
#define TK_CONTRACTORS_H

#include "tickets.h"

/* Registers contractors.c's statements; 0 or -1. */
int contractors_prepare (db_t *db);

/* Handlers (app is the tickets service's tickets_t). */
void contractors_create (void *app, const env_request_t *req, env_reply_t *rep);
void contractors_list (void *app, const env_request_t *req, env_reply_t *rep);
void contractors_get (void *app, const env_request_t *req, env_reply_t *rep);
void contractors_update (void *app, const env_request_t *req, env_reply_t *rep);
void contractors_trend (void *app, const env_request_t *req, env_reply_t *rep);
void contractor_settings_get (void *app, const env_request_t *req, env_reply_t *rep);
void contractor_settings_put (void *app, const env_request_t *req, env_reply_t *rep);
void inspections_create (void *app, const env_request_t *req, env_reply_t *rep);
void inspections_list (void *app, const env_request_t *req, env_reply_t *rep);
void inspections_get (void *app, const env_request_t *req, env_reply_t *rep);
void contractors_report (void *app, const env_request_t *req, env_reply_t *rep);

#endif
