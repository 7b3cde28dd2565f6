/* fee_items: what a property charges each month (收费项目): per_area (fen
 * per m2), fixed (fen per unit), parking (each lease's monthly_fee), each
 * applying to some unit uses and effective from a date. A price change is a
 * new row of the same code from a later date; the previous row ends the day
 * before, so bills already issued never change. */
#ifndef BL_FEE_ITEMS_H
#define BL_FEE_ITEMS_H

#include "billing.h"

#define BL_FEE_CODE_MAX   64
#define BL_FEE_NAME_MAX   200
#define BL_FEE_USES_MAX   7
#define BL_PRICE_MAX      100000000000LL     /* fen; more is a typo */

extern const char *const bl_unit_uses[];     /* the uses of tenants' units */
extern const char *const bl_fee_bases[];     /* per_area fixed parking */

int bl_fee_items_prepare (db_t *db);

#endif
