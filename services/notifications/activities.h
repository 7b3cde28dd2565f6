/* activities: community activities (社区活动) of a property and their
 * sign-ups. Staff create them (admin, manager) with a time, a place, an
 * audience (as announcements: all, building:<b>, use:<use>) and an optional
 * capacity in people; creating one announces it to the audience by default
 * (the announcements' fan-out, in the same transaction). Desk staff (admin,
 * manager, agent) read them, register a unit's occupant who phones in, and
 * mark attendance; a cancellation tells every registered party (inbox, and
 * sms unless opted out).
 *
 * Sign-ups: one registration per (activity, unit), 1..10 people; a second
 * one for the unit answers the first (200). Capacity never overbooks: a
 * sign-up locks the activity's row, decides with nt_activity_can_register
 * (pure) and adds its people in the same transaction. No sign-up for a
 * cancelled activity or once it has started (409 conflict), none past the
 * capacity (409 activity_full). The unit must be of the property and the
 * party its current occupant (notifications' copy of tenants' occupancies).
 *
 * The residents' routes (/v1/me/activities, issue K) are a thin layer on
 * nt_activities_register_core and nt_activities_unregister_core: they check
 * the resident's own scope (the unit and party are theirs), then call them.
 * The pure parts (request bodies, the sign-up decision, places left) are
 * tests/unit/test_nt_activities.c's. */
#ifndef NT_ACTIVITIES_H
#define NT_ACTIVITIES_H

#include "notifications.h"

#include "input_rules.h"        /* nt_audience_t */

#include <stdbool.h>
#include <stdint.h>

#define NT_ACT_TITLE_MAX      200     /* characters (migration 009's checks) */
#define NT_ACT_DESC_MAX       2000
#define NT_ACT_PLACE_MAX      200
#define NT_ACT_REASON_MAX     500
#define NT_ACT_CAPACITY_MAX   100000  /* people */
#define NT_ACT_PEOPLE_MAX     10      /* people of one registration */
#define NT_ACT_REPORT_DAYS    366     /* the longest report */
#define NT_ACT_TIME_MAX       40      /* bytes of an RFC 3339 time */
#define NT_ACT_REMIND_MAX     43200   /* remind_before_minutes: 30 days (migration 010) */

/* POST .../activities: {"title","description"?,"starts_at","ends_at",
 * "place","capacity"?,"audience","announce"?,"remind_before_minutes"?}.
 * Strings borrowed from data. capacity is NULL for unlimited, else its
 * decimal text; remind NULL for the default (1440: a day before, reminders.h),
 * else 0..NT_ACT_REMIND_MAX as text. */
typedef struct {
    const char *title, *description, *place, *audience, *starts_at, *ends_at, *capacity;
    nt_audience_t aud;
    int64_t starts_us, ends_us;
    bool announce;
    char capacity_text[16];
    const char *remind;
    char remind_text[16];
} nt_activity_input_t;
bool nt_activity_input (jv_t *v, const cJSON *data, nt_activity_input_t *in);

/* PATCH .../activities/{id}: at least one of title, description, place,
 * starts_at, ends_at, capacity (null: unlimited), remind_before_minutes.
 * NULL = unchanged. */
typedef struct {
    const char *title, *description, *place, *starts_at, *ends_at, *capacity;
    bool set_capacity;               /* capacity given (NULL then: unlimited) */
    int64_t starts_us, ends_us;      /* when given */
    char capacity_text[16];
    const char *remind;
    char remind_text[16];
} nt_activity_patch_t;
bool nt_activity_patch_input (jv_t *v, const cJSON *data, nt_activity_patch_t *in);

/* POST .../activities/{id}/registrations: {"unit_id","party_id","people"?:1}.
 * The residents' route fills one itself (party_id: the resident's party of
 * the unit, people 1..NT_ACT_PEOPLE_MAX; the table's CHECK refuses others). */
typedef struct {
    const char *unit_id, *party_id;
    int people;
} nt_registration_input_t;
bool nt_registration_input (jv_t *v, const cJSON *data, nt_registration_input_t *in);

/* The sign-up decision on the locked row. capacity < 0: unlimited. */
typedef enum {
    NT_ACT_REGISTER_OK = 0,
    NT_ACT_REGISTER_CANCELLED,       /* 409 conflict */
    NT_ACT_REGISTER_STARTED,         /* 409 conflict */
    NT_ACT_REGISTER_FULL,            /* 409 activity_full */
} nt_act_register_t;
nt_act_register_t nt_activity_can_register (bool cancelled, int64_t starts_us, int64_t now_us,
                                            int64_t capacity, int64_t registered, int people);

/* The report's ?from=&to= (dates, to inclusive, at most NT_ACT_REPORT_DAYS
 * days): true with the days set, else problems in v. */
bool nt_activity_report_range (jv_t *v, const char *from, const char *to, int64_t *from_day,
                               int64_t *to_day);

int nt_activities_prepare (db_t *db);
void nt_activities_create (void *app, const env_request_t *req, env_reply_t *rep);
void nt_activities_list (void *app, const env_request_t *req, env_reply_t *rep);
void nt_activities_get (void *app, const env_request_t *req, env_reply_t *rep);
void nt_activities_update (void *app, const env_request_t *req, env_reply_t *rep);
void nt_activities_cancel (void *app, const env_request_t *req, env_reply_t *rep);
void nt_activities_registrations (void *app, const env_request_t *req, env_reply_t *rep);
void nt_activities_attendance (void *app, const env_request_t *req, env_reply_t *rep);
void nt_activities_register (void *app, const env_request_t *req, env_reply_t *rep);
void nt_activities_unregister (void *app, const env_request_t *req, env_reply_t *rep);
void nt_activities_report (void *app, const env_request_t *req, env_reply_t *rep);

/* The sign-up itself, scope already checked by the caller: pid visible,
 * aid a UUID, in valid. 201 Registration, 200 the unit's existing one, 404
 * no such activity, 422 (unit not of the property, party not its current
 * occupant), 409 conflict / activity_full. */
void nt_activities_register_core (nt_app_t *app, const env_request_t *req, const char *pid,
                                  const char *aid, const nt_registration_input_t *in,
                                  env_reply_t *rep);

/* Unregisters rid of aid (only_party: NULL for staff, else the registration
 * must be that party's, or it is 404). 204, 404, or 409 conflict once the
 * activity has started or was cancelled, or the registration attended. */
void nt_activities_unregister_core (nt_app_t *app, const env_request_t *req, const char *pid,
                                    const char *aid, const char *rid, const char *only_party,
                                    env_reply_t *rep);

#endif
