/* fee_items: what a property charges each month (收费项目): per_area (fen
 * per m2), fixed (fen per unit), parking (each lease's monthly_fee), each
 * applying to some unit uses and effective from a date. A price change is a
 * new row of the same code from a later date; the previous row ends the day
 * before, so bills already issued never change. */
#ifndef BL_FEE_ITEMS_H
#define BL_FEE_ITEMS_H

#include "billing.h"
#include "input_rules.h"                     /* BL_FEE_*, bl_unit_uses, bl_fee_item_input */

int bl_fee_items_prepare (db_t *db);

void bl_fee_items_create (void *app, const env_request_t *req, env_reply_t *rep);
void bl_fee_items_list (void *app, const env_request_t *req, env_reply_t *rep);

#endif
