/* templates: the title and body of a notification per event type and locale,
 * with {{placeholder}} values taken from the event's data. Defaults are
 * compiled in (zh-CN, the default locale, and en); a property's row in the
 * templates table overrides one (type, locale). The renderer and the
 * validator are pure and unit-tested (tests/unit/test_nt_templates.c); the
 * API (notifications.templates.*) lists, overrides and resets them. */
#ifndef NT_TEMPLATES_H
#define NT_TEMPLATES_H

#include "notifications.h"

#include <stdint.h>

#define NT_LOCALE_DEFAULT     "zh-CN"
#define NT_TEMPLATE_TITLE_MAX 200       /* bytes, as the templates table checks */
#define NT_TEMPLATE_BODY_MAX  4000
#define NT_TEMPLATE_ERR_MAX   160
#define NT_PLACEHOLDER_MAX    64        /* a longer {{name}} is refused */

/* Every event type rules and templates know (proto/events.md plus
 * bill.overdue), and the locales; both NULL-terminated. */
extern const char *const nt_event_types[];
extern const char *const nt_locales[];

bool nt_event_type_known (const char *type);
bool nt_locale_known (const char *locale);

/* The compiled-in template of (type, locale): 0, or -1 for an unknown pair. */
int nt_template_default (const char *type, const char *locale, const char **title, const char **body);

/* Audiences of a template (NULL-terminated): "staff" (the console's inbox,
 * the default, what every template was before) and "resident" (what a
 * party reads: a ticket's requester, whom a bill is for). No staff name,
 * phone or "assigned to you" in a resident's text. */
extern const char *const nt_template_audiences[];
bool nt_template_audience_known (const char *audience);

/* The compiled-in template of (type, audience, locale): a resident's own
 * text where there is one, else the staff's. 0, or -1 for an unknown triple. */
int nt_template_default_for (const char *type, const char *audience, const char *locale, const char **title,
                             const char **body);

/* The names a type's templates may use, as a new JSON array (NULL for an unknown type). */
cJSON *nt_template_placeholders (const char *type);

/* Pure: 0 when every {{name}} of tpl is a placeholder of type; else -1 with
 * err naming the first unknown placeholder, or the unterminated "{{". */
int nt_template_validate (const char *tpl, const char *type, char err[NT_TEMPLATE_ERR_MAX]);

/* The times of one event in its property's zone. The renderer stays pure:
 * events.c asks PostgreSQL, which knows each zone's rules (daylight saving
 * included), for the wall time of every time value of the event at once.
 *   local: an object, each time value as written in the data (nt_template_times)
 *          -> its wall time in the zone, "YYYY-MM-DD HH:MM"; NULL = none known
 *   year:  the current year in the zone: a time of another year shows it */
typedef struct {
    const cJSON *local;
    int year;
} nt_zone_times_t;

/* Pure: tpl with each {{name}} replaced by the value from the event's data
 * (money in fen as yuan "1,234.56"; codes such as a ticket's type as words
 * of the locale; times as wall times of the property's zone from zt, see
 * nt_time_text, dates and months as nt_date_text and nt_month_text; a value
 * that is not what its placeholder expects, or a time zt does not know, as
 * written; an unknown name or a missing value: empty). locale NULL = zh-CN,
 * zt NULL = no wall times known. Returns a malloc'd string (NULL only when
 * out of memory). */
char *nt_template_render (const char *tpl, const char *type, const cJSON *data, const char *locale,
                          const nt_zone_times_t *zt);

/* Pure: the distinct time values (RFC 3339, nt_time_valid) that type's
 * placeholders find in data, as a new JSON array of strings (empty for an
 * unknown type; NULL only when out of memory): what to convert for zt. */
cJSON *nt_template_times (const char *type, const cJSON *data);

/* Pure: an RFC 3339 instant PostgreSQL takes as timestamptz without an
 * error (civil_parse_time of common/civil.h). What is sent to the database
 * is checked with this first: a bad value in an event must not abort its
 * transaction. */
bool nt_time_valid (const char *s);

#define NT_WHEN_MAX 48               /* a formatted time, date or month, with its NUL */

/* Pure: a wall time "YYYY-MM-DD HH:MM" as people read it: zh-CN
 * "11月27日 14:30", en "27 Nov 14:30", with the year when it is not
 * this_year ("2027年1月3日 09:00", "3 Jan 2027 09:00"). 0, or -1 when local
 * is not of that form. */
int nt_time_text (const char *local, int this_year, bool en, char out[NT_WHEN_MAX]);

/* Pure: a date "YYYY-MM-DD" as zh-CN "2026年12月15日" / en "15 Dec 2026";
 * a month "YYYY-MM" as "2026年11月" / "Nov 2026". 0, or -1 when not of that form. */
int nt_date_text (const char *date, bool en, char out[NT_WHEN_MAX]);
int nt_month_text (const char *month, bool en, char out[NT_WHEN_MAX]);

/* Pure: fen as yuan with thousands separators and exactly 2 decimals,
 * integer arithmetic only: 123456 -> "1,234.56", -5 -> "-0.05". */
void nt_money_yuan (int64_t fen, char out[32]);

/* The statements of the API and of nt_template_lookup. 0 or -1. */
int nt_templates_prepare (db_t *db);

/* The effective templates of (property, type) for both locales into
 * title[i]/body[i] (i = 0 zh-CN, 1 en): the property's row, else a default
 * row (property_id NULL), else the compiled-in one; the residents' into
 * r_title[i]/r_body[i]: the property's resident row, else a default
 * resident row, else the compiled-in resident text, else the staff's
 * effective one (bills were always written for the resident). Strings are
 * malloc'd (nt_template_texts_free). 0, or -1 on a database error. */
typedef struct {
    char *title[2];
    char *body[2];
    char *r_title[2];
    char *r_body[2];
} nt_template_texts_t;
int nt_template_lookup (db_t *db, const char *pid, const char *type, nt_template_texts_t *out);
void nt_template_texts_free (nt_template_texts_t *t);

void nt_templates_list (void *app, const env_request_t *req, env_reply_t *rep);
void nt_templates_put (void *app, const env_request_t *req, env_reply_t *rep);
void nt_templates_delete (void *app, const env_request_t *req, env_reply_t *rep);

#endif
