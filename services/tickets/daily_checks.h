/* daily_checks: the customer-service manager's daily check of the team's
 * work (例行工作检查(每天)): a checklist per property (configurable, a
 * default list in Chinese until one is set), one record per property and
 * day with each item ok or not, and the days of a range without a record
 * (missed). Days are the property's calendar days (its timezone, from the
 * copy of tenants: tk_copy_timezone); "today" comes from tk_clock. All its
 * SQL lives in daily_checks.c. Managers and admins only. */
#ifndef TK_DAILY_CHECKS_H
#define TK_DAILY_CHECKS_H

#include "db.h"
#include "envelope.h"
#include "jv.h"

#define DC_ITEMS_MAX       50        /* items of a checklist */
#define DC_ITEM_MAX        200       /* bytes of an item */
#define DC_NOTE_MAX        1000      /* bytes of a result's note */
#define DC_RANGE_MAX_DAYS  366       /* GET ?from=&to= spans at most this many days */
#define DC_RANGE_DEFAULT_DAYS 30     /* without from: the 30 days ending with to */

/* The checklist of a property that set none (NULL-terminated). */
extern const char *const dc_default_items[];

/* The default checklist as a JSON array (caller deletes). */
cJSON *dc_default_items_json (void);

/* Pure. PUT .../daily-check-items data {"items":["..."]}: 1..DC_ITEMS_MAX
 * distinct texts of 1..DC_ITEM_MAX bytes. *items_text: the array as JSON
 * (caller frees, also after false; NULL when invalid). jv_ok (v). */
bool dc_items_input (jv_t *v, const cJSON *data, char **items_text);

/* Pure. POST .../daily-checks data {"date","items":[{"item","ok","note"?}]}
 * against the property's checklist (a JSON array of strings) and today
 * ("YYYY-MM-DD" in the property's timezone): a real date not after today;
 * every checklist item exactly once and nothing else; ok a boolean; note
 * optional ("" and null: none). *date borrowed from data; *items_text the
 * results as stored, [{"item","ok","note"}] in the request's order (caller
 * frees, also after false); *failed how many are not ok. jv_ok (v). */
bool dc_record_input (jv_t *v, const cJSON *data, const cJSON *checklist, const char *today,
                      const char **date, char **items_text, int *failed);

/* Pure. GET ?from=&to= (NULL: absent) and today into from_out/to_out
 * ("YYYY-MM-DD"): to defaults to today, from to the DC_RANGE_DEFAULT_DAYS
 * days ending with to; from after to, or more than DC_RANGE_MAX_DAYS days,
 * is a problem. jv_ok (v). */
bool dc_range_input (jv_t *v, const char *from, const char *to, const char *today, char from_out[11],
                     char to_out[11]);

/* Registers daily_checks.c's statements; 0 or -1. */
int daily_checks_prepare (db_t *db);

/* Handlers (app is the tickets service's tickets_t): tickets.daily_check_items.get
 * / .put, tickets.daily_checks.create / .list. */
void daily_check_items_get (void *app, const env_request_t *req, env_reply_t *rep);
void daily_check_items_put (void *app, const env_request_t *req, env_reply_t *rep);
void daily_checks_create (void *app, const env_request_t *req, env_reply_t *rep);
void daily_checks_list (void *app, const env_request_t *req, env_reply_t *rep);

#endif
