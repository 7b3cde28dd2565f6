/* activities: notifications.activities.* (see activities.h). The request
 * bodies and the sign-up decision are pure (top of the file); the handlers
 * follow validate -> load (lock) -> decide -> store -> reply, one
 * transaction each, with one cleanup path that rolls back whatever is open.
 * The announcement of a new activity is the announcements' own statement
 * ("nt_ann_create", prepared by announcements.c), run inside this
 * transaction: the activity and its announcement exist together or not. */
#include "activities.h"

#include "announcements.h"   /* NT_ANN_STATEMENT_TIMEOUT, NT_ST_ANN_CREATE, nt_property_known */
#include "civil.h"
#include "log.h"
#include "sender.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- pure rules */

/* A text of 1..max characters (jv_string counts bytes; the limits are characters). */
static const char *
s_act_text (jv_t *v, const cJSON *data, const char *field, bool required, size_t max)
{
    const char *s = jv_string (v, data, field, required, max * 4);
    if (s && nt_utf8_chars (s) > max) {
        jv_problem (v, field, "must be at most %zu characters", max);
        return NULL;
    }
    return s;
}

/* An RFC 3339 date-time; *us set when valid. */
static const char *
s_act_time (jv_t *v, const cJSON *data, const char *field, bool required, int64_t *us)
{
    const char *s = jv_string (v, data, field, required, NT_ACT_TIME_MAX);
    if (s && !civil_parse_time (s, us)) {
        jv_problem (v, field, "must be an RFC 3339 date-time (2026-12-24T19:00:00+08:00)");
        return NULL;
    }
    return s;
}

/* capacity: absent -> not given; null -> unlimited (given, NULL); else 1..max. */
static bool
s_act_capacity (jv_t *v, const cJSON *data, const char **out, char text[16])
{
    *out = NULL;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive (data, "capacity");
    if (!c)
        return false;
    if (cJSON_IsNull (c))
        return true;
    int64_t n;
    if (jv_int (v, data, "capacity", JV_REQUIRED, 1, NT_ACT_CAPACITY_MAX, &n)) {
        snprintf (text, 16, "%lld", (long long) n);
        *out = text;
    }
    return true;
}

/* remind_before_minutes (issue K item 7, reminders.h): NULL when absent
 * (the default, or unchanged), else its decimal text in text. */
static const char *
s_act_remind (jv_t *v, const cJSON *data, char text[16])
{
    int64_t n;
    if (!cJSON_GetObjectItemCaseSensitive (data, "remind_before_minutes")
        || !jv_int (v, data, "remind_before_minutes", JV_REQUIRED, 0, NT_ACT_REMIND_MAX, &n))
        return NULL;
    snprintf (text, 16, "%d", (int) n);
    return text;
}

bool
nt_activity_input (jv_t *v, const cJSON *data, nt_activity_input_t *in)
{
    memset (in, 0, sizeof *in);
    in->announce = true;
    if (!jv_object (v, data))
        return false;
    in->title = s_act_text (v, data, "title", JV_REQUIRED, NT_ACT_TITLE_MAX);
    in->description = s_act_text (v, data, "description", JV_OPTIONAL, NT_ACT_DESC_MAX);
    in->place = s_act_text (v, data, "place", JV_REQUIRED, NT_ACT_PLACE_MAX);
    in->starts_at = s_act_time (v, data, "starts_at", JV_REQUIRED, &in->starts_us);
    in->ends_at = s_act_time (v, data, "ends_at", JV_REQUIRED, &in->ends_us);
    if (in->starts_at && in->ends_at && in->ends_us <= in->starts_us)
        jv_problem (v, "ends_at", "must be after starts_at");
    (void) s_act_capacity (v, data, &in->capacity, in->capacity_text);
    in->audience = jv_string (v, data, "audience", JV_REQUIRED, 9 + NT_ANN_BUILDING_MAX);
    in->remind = s_act_remind (v, data, in->remind_text);
    const char *why;
    if (in->audience && nt_audience_parse (in->audience, &in->aud, &why)) {
        jv_problem (v, "audience", "%s", why);
        in->audience = NULL;
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive (data, "announce");
    if (cJSON_IsBool (a))
        in->announce = cJSON_IsTrue (a);
    else if (a && !cJSON_IsNull (a))
        jv_problem (v, "announce", "must be true or false");
    if (!in->description)
        in->description = "";
    return jv_ok (v);
}

bool
nt_activity_patch_input (jv_t *v, const cJSON *data, nt_activity_patch_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    static const char *const known[] = { "title", "description", "place", "starts_at", "ends_at",
                                         "capacity", "remind_before_minutes", NULL };
    const cJSON *f;
    cJSON_ArrayForEach (f, data) {
        bool ok = false;
        for (int i = 0; known[i] && !ok; i++)
            ok = f->string && strcmp (f->string, known[i]) == 0;
        if (!ok)
            jv_problem (v, f->string ? f->string : "body", "cannot be changed");
    }
    in->title = s_act_text (v, data, "title", JV_OPTIONAL, NT_ACT_TITLE_MAX);
    in->description = s_act_text (v, data, "description", JV_OPTIONAL, NT_ACT_DESC_MAX);
    in->place = s_act_text (v, data, "place", JV_OPTIONAL, NT_ACT_PLACE_MAX);
    /* an optional string may be "" for jv; a title or a place may not */
    if (in->title && !*in->title) {
        jv_problem (v, "title", "must not be empty");
        in->title = NULL;
    }
    if (in->place && !*in->place) {
        jv_problem (v, "place", "must not be empty");
        in->place = NULL;
    }
    in->starts_at = s_act_time (v, data, "starts_at", JV_OPTIONAL, &in->starts_us);
    in->ends_at = s_act_time (v, data, "ends_at", JV_OPTIONAL, &in->ends_us);
    in->set_capacity = s_act_capacity (v, data, &in->capacity, in->capacity_text);
    in->remind = s_act_remind (v, data, in->remind_text);
    if (in->starts_at && in->ends_at && in->ends_us <= in->starts_us)
        jv_problem (v, "ends_at", "must be after starts_at");
    if (jv_ok (v) && !in->title && !in->description && !in->place && !in->starts_at && !in->ends_at
        && !in->set_capacity && !in->remind)
        jv_problem (v, "body", "must change at least one of title, description, place, starts_at, "
                               "ends_at, capacity, remind_before_minutes");
    return jv_ok (v);
}

bool
nt_registration_input (jv_t *v, const cJSON *data, nt_registration_input_t *in)
{
    memset (in, 0, sizeof *in);
    in->people = 1;
    if (!jv_object (v, data))
        return false;
    in->unit_id = jv_uuid (v, data, "unit_id", JV_REQUIRED);
    in->party_id = jv_uuid (v, data, "party_id", JV_REQUIRED);
    int64_t n;
    if (jv_int (v, data, "people", JV_OPTIONAL, 1, NT_ACT_PEOPLE_MAX, &n))
        in->people = (int) n;
    return jv_ok (v);
}

nt_act_register_t
nt_activity_can_register (bool cancelled, int64_t starts_us, int64_t now_us, int64_t capacity,
                          int64_t registered, int people)
{
    if (cancelled)
        return NT_ACT_REGISTER_CANCELLED;
    if (now_us >= starts_us)
        return NT_ACT_REGISTER_STARTED;
    if (capacity >= 0 && (people > capacity || registered > capacity - people))
        return NT_ACT_REGISTER_FULL;
    return NT_ACT_REGISTER_OK;
}

bool
nt_activity_report_range (jv_t *v, const char *from, const char *to, int64_t *from_day,
                          int64_t *to_day)
{
    bool f = from && civil_parse_date (from, from_day);
    bool t = to && civil_parse_date (to, to_day);
    if (!f)
        jv_problem (v, "from", "must be a date YYYY-MM-DD");
    if (!t)
        jv_problem (v, "to", "must be a date YYYY-MM-DD");
    if (f && t && *to_day < *from_day)
        jv_problem (v, "to", "must not be before from");
    else if (f && t && *to_day - *from_day + 1 > NT_ACT_REPORT_DAYS)
        jv_problem (v, "to", "the range is at most %d days", NT_ACT_REPORT_DAYS);
    return jv_ok (v);
}

/* ---------------------------------------------------------------- statements */

#define ST_ACT_CREATE   "nt_act_create"
#define ST_ACT_LINK     "nt_act_link_announcement"
#define ST_ACT_GET      "nt_act_get"
#define ST_ACT_LIST     "nt_act_list"
#define ST_ACT_LOCK     "nt_act_lock"
#define ST_ACT_UPDATE   "nt_act_update"
#define ST_ACT_CANCEL   "nt_act_cancel"
#define ST_ACT_REPORT   "nt_act_report"
#define ST_REG_BY_UNIT  "nt_act_reg_by_unit"
#define ST_REG_OCCUPANT "nt_act_reg_occupant"
#define ST_REG_INSERT   "nt_act_reg_insert"
#define ST_REG_FIND     "nt_act_reg_find"
#define ST_REG_DELETE   "nt_act_reg_delete"
#define ST_REG_LIST     "nt_act_reg_list"
#define ST_REG_ATTEND   "nt_act_reg_attend"
/* announcements.c's fan-out (its statement table, prepared before ours):
 * $1 pid, $2 title, $3 body, $4 audience, $5 building, $6 use, $7 channels,
 * $8 created_by; column 0 the announcement, column 1 rows queued */

/* the property's wall time of a timestamptz, for the messages people read */
#define ACT_LOCAL(col, pid)                                                                       \
    "to_char (" col " AT TIME ZONE coalesce ((SELECT timezone FROM properties WHERE id = " pid    \
    "), 'Asia/Shanghai'), 'YYYY-MM-DD HH24:MI')"

#define ACT_JSON(a)                                                                               \
    "json_build_object ('id', " a ".id, 'property_id', " a ".property_id, 'title', " a ".title, " \
    "  'description', " a ".description, 'place', " a ".place, "                                  \
    "  'starts_at', " DB_UTC_TS (a ".starts_at") ", 'ends_at', " DB_UTC_TS (a ".ends_at") ", "    \
    "  'capacity', " a ".capacity, 'audience', " a ".audience, 'status', " a ".status, "          \
    "  'remind_before_minutes', " a ".remind_before_minutes, "                                   \
    "  'announcement_id', " a ".announcement_id, "                                               \
    "  'registrations', (SELECT count (*) FROM activity_registrations r WHERE r.activity_id = " a \
    ".id), 'registered', " a ".registered, "                                                      \
    "  'attended', (SELECT coalesce (sum (r.people), 0) FROM activity_registrations r "           \
    "    WHERE r.activity_id = " a ".id AND r.attended_at IS NOT NULL), "                         \
    "  'places_left', CASE WHEN " a ".capacity IS NOT NULL THEN greatest (" a ".capacity - " a    \
    ".registered, 0) END, "                                                                       \
    "  'cancel_reason', " a ".cancel_reason, 'cancelled_at', " DB_UTC_TS (a ".cancelled_at") ", " \
    "  'created_by', " a ".created_by, 'created_at', " DB_UTC_TS (a ".created_at") ", "           \
    "  'updated_at', " DB_UTC_TS (a ".updated_at") ")"

#define REG_JSON(r)                                                                               \
    "json_build_object ('id', " r ".id, 'activity_id', " r ".activity_id, 'unit_id', " r          \
    ".unit_id, 'unit_code', (SELECT code FROM units WHERE unit_id = " r ".unit_id), "             \
    "  'party_id', " r ".party_id, 'party_name', (SELECT name FROM parties WHERE id = " r         \
    ".party_id), 'people', " r ".people, 'registered_by', " r ".registered_by, "                  \
    "  'registered_at', " DB_UTC_TS (r ".created_at") ", 'attended', " r ".attended_at IS NOT NULL, " \
    "  'attended_at', " DB_UTC_TS (r ".attended_at") ")"

/* ST_ACT_LOCK's columns */
enum { LOCK_STATUS, LOCK_STARTS_US, LOCK_NOW_US, LOCK_CAPACITY, LOCK_REGISTERED, LOCK_ENDS_US };

static const db_statement_t s_statements[] = {
    /* $1 pid .. $9 created_by; column 0 the id, column 1 the announcement's body */
    { ST_ACT_CREATE,
      "WITH a AS ("
      "  INSERT INTO activities (property_id, title, description, place, starts_at, ends_at, capacity, "
      "    audience, created_by, remind_before_minutes) "
      "  VALUES ($1::uuid, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7::int, $8, $9, "
      "          coalesce ($10::int, 1440)) RETURNING *) "
      "SELECT a.id, format ('时间：%s 至 %s；地点：%s。%s', " ACT_LOCAL ("a.starts_at", "a.property_id")
      ", " ACT_LOCAL ("a.ends_at", "a.property_id") ", a.place, a.description) FROM a", false },
    { ST_ACT_LINK,
      "UPDATE activities SET announcement_id = ($2::jsonb ->> 'id')::uuid WHERE id = $1::uuid", false },
    { ST_ACT_GET,
      "SELECT " ACT_JSON ("a") "::text FROM activities a WHERE a.property_id = $1::uuid AND a.id = $2::uuid",
      true },
    /* $1 pid, $2 cursor starts_at, $3 cursor id, $4 limit + 1, $5 status or NULL; latest start first */
    { ST_ACT_LIST,
      "SELECT " ACT_JSON ("a") "::text, " DB_UTC_TS_US ("a.starts_at") ", a.id "
      "FROM activities a WHERE a.property_id = $1::uuid AND ($5::text IS NULL OR a.status = $5) "
      "  AND ($2::timestamptz IS NULL OR (a.starts_at, a.id) < ($2::timestamptz, $3::uuid)) "
      "ORDER BY a.starts_at DESC, a.id DESC LIMIT $4::int", true },
    /* the row every change and sign-up of an activity locks first */
    { ST_ACT_LOCK,
      "SELECT status, (extract (epoch FROM starts_at) * 1000000)::bigint, "
      "  (extract (epoch FROM now ()) * 1000000)::bigint, coalesce (capacity, -1), registered, "
      "  (extract (epoch FROM ends_at) * 1000000)::bigint "
      "FROM activities WHERE property_id = $1::uuid AND id = $2::uuid FOR UPDATE", false },
    /* $1 pid, $2 id, $3 title, $4 description, $5 place, $6 starts_at, $7
     * ends_at (NULL: unchanged), $8 capacity given, $9 capacity (NULL: unlimited) */
    { ST_ACT_UPDATE,
      "UPDATE activities SET title = coalesce ($3, title), description = coalesce ($4, description), "
      "  place = coalesce ($5, place), starts_at = coalesce ($6::timestamptz, starts_at), "
      "  ends_at = coalesce ($7::timestamptz, ends_at), "
      "  capacity = CASE WHEN $8::bool THEN $9::int ELSE capacity END, "
      "  remind_before_minutes = coalesce ($10::int, remind_before_minutes), updated_at = now () "
      "WHERE property_id = $1::uuid AND id = $2::uuid", false },
    /* $1 pid, $2 id, $3 reason or NULL: cancels an open activity and tells
     * each registered party once per channel: the inbox, and sms (queued to
     * the party's phone, or not_sent: opted out, no phone number). Column 0
     * how many rows were queued for the sender. */
    { ST_ACT_CANCEL,
      "WITH a AS ("
      "  UPDATE activities SET status = 'cancelled', cancelled_at = now (), cancel_reason = $3, "
      "    updated_at = now () "
      "  WHERE property_id = $1::uuid AND id = $2::uuid AND status = 'open' RETURNING *), "
      "rp AS (SELECT DISTINCT r.party_id FROM activity_registrations r JOIN a ON r.activity_id = a.id), "
      "rs AS ("
      "  SELECT rp.party_id, c.ch AS channel, CASE WHEN c.ch = 'sms' THEN nullif (p.phone, '') END AS address, "
      "    CASE WHEN c.ch = 'inbox' THEN NULL WHEN coalesce (pr.opt_out, false) THEN 'opted out' "
      "         WHEN nullif (p.phone, '') IS NULL THEN 'no phone number' END AS why "
      "  FROM rp LEFT JOIN parties p ON p.id = rp.party_id LEFT JOIN preferences pr ON pr.party_id = rp.party_id "
      "  CROSS JOIN (VALUES ('inbox'), ('sms')) AS c (ch)), "
      "n AS ("
      "  INSERT INTO notifications (property_id, source_kind, source_id, event_type, recipient_kind, "
      "    recipient, channel, address, locale, title, body, link, status, next_attempt_at, last_error, sent_at) "
      "  SELECT a.property_id, 'activity', a.id, 'activity.cancelled', 'party', rs.party_id::text, rs.channel, "
      "    rs.address, 'zh-CN', '活动取消：' || a.title, "
      "    format ('您报名的活动“%s”（%s，%s）已取消。%s', a.title, " ACT_LOCAL ("a.starts_at", "a.property_id")
      ", a.place, coalesce (a.cancel_reason, '')), "
      "    jsonb_build_object ('activity_id', a.id), "
      "    CASE WHEN rs.channel = 'inbox' THEN 'delivered' WHEN rs.why IS NOT NULL THEN 'not_sent' "
      "         ELSE 'queued' END, "
      "    CASE WHEN rs.channel <> 'inbox' AND rs.why IS NULL THEN now () END, rs.why, "
      "    CASE WHEN rs.channel = 'inbox' THEN now () END "
      "  FROM a CROSS JOIN rs RETURNING status) "
      "SELECT (SELECT count (*) FROM n WHERE status = 'queued') FROM a", false },
    /* $1 pid, $2 from date, $3 to date (inclusive, the property's days) */
    { ST_ACT_REPORT,
      "WITH tz AS (SELECT coalesce ((SELECT timezone FROM properties WHERE id = $1::uuid), 'Asia/Shanghai') AS z), "
      "s AS ("
      "  SELECT a.id, a.starts_at, count (r.id) AS regs, a.registered AS ppl, "
      "    coalesce (sum (r.people) FILTER (WHERE r.attended_at IS NOT NULL), 0) AS att, "
      "    json_build_object ('activity_id', a.id, 'title', a.title, 'starts_at', " DB_UTC_TS ("a.starts_at")
      ", 'place', a.place, 'status', a.status, 'capacity', a.capacity, 'registrations', count (r.id), "
      "      'registered', a.registered, 'attended_registrations', count (r.attended_at), "
      "      'attended', coalesce (sum (r.people) FILTER (WHERE r.attended_at IS NOT NULL), 0)) AS x "
      "  FROM activities a CROSS JOIN tz LEFT JOIN activity_registrations r ON r.activity_id = a.id "
      "  WHERE a.property_id = $1::uuid AND a.starts_at >= ($2::date)::timestamp AT TIME ZONE tz.z "
      "    AND a.starts_at < ($3::date + 1)::timestamp AT TIME ZONE tz.z "
      "  GROUP BY a.id) "
      "SELECT json_build_object ('from', to_char ($2::date, 'YYYY-MM-DD'), 'to', to_char ($3::date, 'YYYY-MM-DD'), 'activities', count (*), "
      "  'registrations', coalesce (sum (regs), 0), 'registered', coalesce (sum (ppl), 0), "
      "  'attended', coalesce (sum (att), 0), "
      "  'items', coalesce (json_agg (x ORDER BY starts_at, id), '[]'))::text FROM s", true },
    { ST_REG_BY_UNIT,
      "SELECT " REG_JSON ("r") "::text FROM activity_registrations r "
      "WHERE r.activity_id = $1::uuid AND r.unit_id = $2::uuid", true },
    /* $1 pid, $2 unit, $3 party: the unit is the property's; the party lives there now */
    { ST_REG_OCCUPANT,
      "SELECT EXISTS (SELECT 1 FROM units WHERE unit_id = $2::uuid AND property_id = $1::uuid), "
      "  EXISTS (SELECT 1 FROM occupancies WHERE unit_id = $2::uuid AND property_id = $1::uuid "
      "          AND party_id = $3::uuid AND end_date IS NULL)", true },
    /* $1 activity, $2 pid, $3 unit, $4 party, $5 people, $6 registered_by */
    { ST_REG_INSERT,
      "WITH r AS ("
      "  INSERT INTO activity_registrations (activity_id, property_id, unit_id, party_id, people, registered_by) "
      "  VALUES ($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::int, $6) RETURNING *), "
      "u AS (UPDATE activities SET registered = registered + $5::int WHERE id = $1::uuid RETURNING 1) "
      "SELECT " REG_JSON ("r") "::text FROM r, u", false },
    /* $1 activity, $2 registration, $3 party or NULL: column 0 attended */
    { ST_REG_FIND,
      "SELECT attended_at IS NOT NULL FROM activity_registrations "
      "WHERE activity_id = $1::uuid AND id = $2::uuid AND ($3::uuid IS NULL OR party_id = $3::uuid)", true },
    { ST_REG_DELETE,
      "WITH r AS (DELETE FROM activity_registrations WHERE activity_id = $1::uuid AND id = $2::uuid "
      "  AND attended_at IS NULL RETURNING people) "
      "UPDATE activities SET registered = registered - r.people FROM r WHERE id = $1::uuid RETURNING 1", false },
    /* $1 activity, $2 cursor time, $3 cursor id, $4 limit + 1: in the order they came */
    { ST_REG_LIST,
      "SELECT " REG_JSON ("r") "::text, " DB_UTC_TS_US ("r.created_at") ", r.id "
      "FROM activity_registrations r WHERE r.activity_id = $1::uuid "
      "  AND ($2::timestamptz IS NULL OR (r.created_at, r.id) > ($2::timestamptz, $3::uuid)) "
      "ORDER BY r.created_at, r.id LIMIT $4::int", true },
    /* $1 pid, $2 activity, $3 registration: the first mark stays */
    { ST_REG_ATTEND,
      "UPDATE activity_registrations r SET attended_at = coalesce (r.attended_at, now ()) "
      "WHERE r.property_id = $1::uuid AND r.activity_id = $2::uuid AND r.id = $3::uuid "
      "RETURNING " REG_JSON ("r") "::text", false },
};

int
nt_activities_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* ---------------------------------------------------------------- handlers */

/* The path's activity id with *pid set, or NULL after answering. */
static const char *
s_activity_scope (const env_request_t *req, const char *const *roles, env_reply_t *rep, const char **pid)
{
    return env_resource_scope (req, roles, "id", "activity", rep, pid);
}

/* Locks the activity: its row in *res (ST_ACT_LOCK's columns), or -1 after
 * answering (404, or the database's error; the transaction rolled back). */
static int
s_lock (nt_app_t *app, const env_request_t *req, const char *pid, const char *aid, PGresult **res,
        env_reply_t *rep)
{
    const char *p[] = { pid, aid };
    *res = db_exec (app->db, ST_ACT_LOCK, 2, p);
    if (db_ok (*res) && PQntuples (*res) == 1)
        return 0;
    if (db_ok (*res))
        env_reply_error (rep, 404, "not_found", NULL, "no such activity");
    else
        db_reply_error (*res, rep, req->id);
    db_rollback (app->db);
    PQclear (*res);
    *res = NULL;
    return -1;
}

static int64_t
s_col (const PGresult *res, int col)
{
    return strtoll (PQgetvalue (res, 0, col), NULL, 10);
}

/* Answers the activity as it is in this transaction, then commits; 201 or 200. */
static void
s_reply_activity (nt_app_t *app, const env_request_t *req, const char *pid, const char *aid, int status,
                  env_reply_t *rep)
{
    const char *p[] = { pid, aid };
    PGresult *res = db_exec (app->db, ST_ACT_GET, 2, p);
    if (!db_ok (res) || PQntuples (res) != 1) {
        PQclear (res);
        db_fail (app->db, req->id, rep, "activity");
        return;
    }
    if (db_commit (app->db)) {
        PQclear (res);
        db_fail (app->db, req->id, rep, "activity");
        return;
    }
    db_reply_json (res, rep, req->id, status, "no such activity");
}

void
nt_activities_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    PGresult *res = NULL, *made = NULL;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    nt_activity_input_t in;
    if (!nt_activity_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid activity");
        return;
    }
    if (nt_property_known (app, req, pid, rep) != 0)
        goto out;
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    const char *who = req->caller.user_id ? req->caller.user_id : "";
    const char *p[] = { pid, in.title, in.description, in.place, in.starts_at, in.ends_at, in.capacity,
                        in.audience, who, in.remind };
    res = db_exec (app->db, ST_ACT_CREATE, 10, p);
    if (!db_one_row (app->db, res, rep, req->id, "activity"))
        goto out;
    made = res;                 /* the id and the announcement's body, until the end */
    res = NULL;
    const char *aid = PQgetvalue (made, 0, 0);
    long queued = 0;
    if (in.announce) {
        res = db_query (app->db, "SET LOCAL statement_timeout = '" NT_ANN_STATEMENT_TIMEOUT "'");
        if (!db_ok (res)) {
            db_fail (app->db, req->id, rep, "activity");
            goto out;
        }
        PQclear (res);
        const char *a[] = { pid, in.title, PQgetvalue (made, 0, 1), in.audience, in.aud.building, in.aud.use, "{inbox}", who };
        res = db_exec (app->db, NT_ST_ANN_CREATE, 8, a);
        if (!db_ok (res) || PQntuples (res) != 1) {
            db_fail (app->db, req->id, rep, "activity's announcement");
            goto out;
        }
        queued = strtol (PQgetvalue (res, 0, 1), NULL, 10);
        const char *l[] = { aid, PQgetvalue (res, 0, 0) };
        PGresult *link = db_exec (app->db, ST_ACT_LINK, 2, l);
        bool ok = db_ok (link);
        PQclear (link);
        if (!ok) {
            db_fail (app->db, req->id, rep, "activity's announcement");
            goto out;
        }
    }
    s_reply_activity (app, req, pid, aid, 201, rep);
    if (rep->status == 201) {
        if (queued > 0)
            nt_sender_kick (app->sender);
        log_info (req->id, "activity %s of %s created (announced: %s)", aid, pid, in.announce ? "yes" : "no");
    }
out:
    db_rollback (app->db);
    PQclear (res);
    PQclear (made);
}

void
nt_activities_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    page_time_id_t page;
    (void) page_time_id (&v, req, &page);
    const char *status = env_query (req, "status");
    if (status && strcmp (status, "open") != 0 && strcmp (status, "cancelled") != 0)
        jv_problem (&v, "status", "must be open or cancelled");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    const char *p[] = { pid, page.at, page.id, page.limit_plus_one, status };
    page_reply (db_exec (app->db, ST_ACT_LIST, 5, p), page.limit, 1, 2, rep, req->id);
}

void
nt_activities_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid;
    const char *aid = s_activity_scope (req, env_roles_desk, rep, &pid);
    if (!aid)
        return;
    const char *p[] = { pid, aid };
    db_reply_json (db_exec (app->db, ST_ACT_GET, 2, p), rep, req->id, 200, "no such activity");
}

void
nt_activities_update (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    PGresult *res = NULL;
    const char *pid;
    const char *aid = s_activity_scope (req, env_roles_managers, rep, &pid);
    if (!aid)
        return;
    jv_t v = JV_INIT;
    nt_activity_patch_t in;
    if (!nt_activity_patch_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid activity change");
        return;
    }
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    if (s_lock (app, req, pid, aid, &res, rep))
        goto out;
    /* decide on the row as it is: the times together, capacity against the sign-ups */
    int64_t starts = in.starts_at ? in.starts_us : s_col (res, LOCK_STARTS_US);
    int64_t ends = in.ends_at ? in.ends_us : s_col (res, LOCK_ENDS_US);
    if (strcmp (PQgetvalue (res, 0, LOCK_STATUS), "cancelled") == 0) {
        env_reply_error (rep, 409, "conflict", NULL, "the activity is cancelled");
        goto out;
    }
    if (ends <= starts) {
        env_reply_error (rep, 422, "validation_failed",
                         jv_detail (in.ends_at ? "ends_at" : "starts_at", "ends_at must be after starts_at"),
                         "invalid activity change");
        goto out;
    }
    if (in.capacity && strtoll (in.capacity, NULL, 10) < s_col (res, LOCK_REGISTERED)) {
        env_reply_error (rep, 409, "conflict", NULL, "capacity below the %lld people registered",
                         (long long) s_col (res, LOCK_REGISTERED));
        goto out;
    }
    PQclear (res);
    const char *p[] = { pid, aid, in.title, in.description, in.place, in.starts_at, in.ends_at,
                        in.set_capacity ? "true" : "false", in.capacity, in.remind };
    res = db_exec (app->db, ST_ACT_UPDATE, 10, p);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    s_reply_activity (app, req, pid, aid, 200, rep);
out:
    db_rollback (app->db);
    PQclear (res);
}

void
nt_activities_cancel (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    PGresult *res = NULL;
    const char *pid;
    const char *aid = s_activity_scope (req, env_roles_managers, rep, &pid);
    if (!aid)
        return;
    /* the body is optional: nothing, {} or {"reason"} */
    jv_t v = JV_INIT;
    const char *reason = NULL;
    if (req->data && !cJSON_IsNull (req->data) && jv_object (&v, req->data))
        reason = s_act_text (&v, req->data, "reason", JV_OPTIONAL, NT_ACT_REASON_MAX);
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid cancellation");
        return;
    }
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    if (s_lock (app, req, pid, aid, &res, rep))
        goto out;
    bool already = strcmp (PQgetvalue (res, 0, LOCK_STATUS), "cancelled") == 0;
    PQclear (res);
    res = NULL;
    long queued = 0;
    if (!already) {             /* a second cancel answers the first, telling no one again */
        const char *p[] = { pid, aid, reason };
        res = db_exec (app->db, ST_ACT_CANCEL, 3, p);
        if (!db_one_row (app->db, res, rep, req->id, "cancel"))
            goto out;
        queued = strtol (PQgetvalue (res, 0, 0), NULL, 10);
    }
    s_reply_activity (app, req, pid, aid, 200, rep);
    if (rep->status == 200 && queued > 0)
        nt_sender_kick (app->sender);
    if (rep->status == 200 && !already)
        log_info (req->id, "activity %s of %s cancelled: %ld sms queued", aid, pid, queued);
out:
    db_rollback (app->db);
    PQclear (res);
}

void
nt_activities_registrations (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid;
    const char *aid = s_activity_scope (req, env_roles_desk, rep, &pid);
    if (!aid)
        return;
    jv_t v = JV_INIT;
    page_time_id_t page;
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    const char *p[] = { pid, aid };
    PGresult *res = db_exec (app->db, ST_ACT_GET, 2, p);
    if (!db_ok (res) || PQntuples (res) == 0) {
        db_reply_json (res, rep, req->id, 200, "no such activity");
        return;
    }
    PQclear (res);
    const char *l[] = { aid, page.at, page.id, page.limit_plus_one };
    page_reply (db_exec (app->db, ST_REG_LIST, 4, l), page.limit, 1, 2, rep, req->id);
}

void
nt_activities_attendance (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid;
    const char *aid = s_activity_scope (req, env_roles_desk, rep, &pid);
    if (!aid)
        return;
    jv_t v = JV_INIT;
    const char *rid = jv_object (&v, req->data) ? jv_uuid (&v, req->data, "registration_id", JV_REQUIRED)
                                                : NULL;
    if (!jv_ok (&v) || !rid) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid attendance");
        return;
    }
    const char *p[] = { pid, aid, rid };
    db_reply_json (db_exec (app->db, ST_REG_ATTEND, 3, p), rep, req->id, 200, "no such registration");
}

void
nt_activities_register_core (nt_app_t *app, const env_request_t *req, const char *pid, const char *aid,
                             const nt_registration_input_t *in, env_reply_t *rep)
{
    PGresult *res = NULL;
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    /* the lock first: the unit's registration and the count are then stable */
    PGresult *row = NULL;
    if (s_lock (app, req, pid, aid, &row, rep))
        goto out;
    const char *u[] = { aid, in->unit_id };
    res = db_exec (app->db, ST_REG_BY_UNIT, 2, u);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    if (PQntuples (res) == 1) {     /* the unit's first sign-up answers */
        db_rollback (app->db);
        db_reply_json (res, rep, req->id, 200, "no such registration");
        res = NULL;
        goto out;
    }
    PQclear (res);
    const char *o[] = { pid, in->unit_id, in->party_id };
    res = db_exec (app->db, ST_REG_OCCUPANT, 3, o);
    if (!db_ok (res) || PQntuples (res) != 1) {
        db_fail (app->db, req->id, rep, "registration");
        goto out;
    }
    if (strcmp (PQgetvalue (res, 0, 0), "t") != 0) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("unit_id", "is not a unit of this property"),
                         "invalid registration");
        goto out;
    }
    if (strcmp (PQgetvalue (res, 0, 1), "t") != 0) {
        env_reply_error (rep, 422, "validation_failed",
                         jv_detail ("party_id", "is not a current occupant of the unit"), "invalid registration");
        goto out;
    }
    PQclear (res);
    res = NULL;
    switch (nt_activity_can_register (strcmp (PQgetvalue (row, 0, LOCK_STATUS), "cancelled") == 0,
                                      s_col (row, LOCK_STARTS_US), s_col (row, LOCK_NOW_US),
                                      s_col (row, LOCK_CAPACITY), s_col (row, LOCK_REGISTERED), in->people)) {
    case NT_ACT_REGISTER_CANCELLED:
        env_reply_error (rep, 409, "conflict", NULL, "the activity is cancelled");
        goto out;
    case NT_ACT_REGISTER_STARTED:
        env_reply_error (rep, 409, "conflict", NULL, "the activity has started: sign-ups are closed");
        goto out;
    case NT_ACT_REGISTER_FULL:
        env_reply_error (rep, 409, "activity_full", NULL, "not enough places left for %d", in->people);
        goto out;
    case NT_ACT_REGISTER_OK:
        break;
    }
    const char *who = req->caller.user_id ? req->caller.user_id : "";
    char people[16];
    snprintf (people, sizeof people, "%d", in->people);
    const char *p[] = { aid, pid, in->unit_id, in->party_id, people, who };
    res = db_exec (app->db, ST_REG_INSERT, 6, p);
    if (!db_one_row (app->db, res, rep, req->id, "registration"))
        goto out;
    if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "registration");
        goto out;
    }
    db_reply_json (res, rep, req->id, 201, "no such registration");
    res = NULL;
out:
    db_rollback (app->db);
    PQclear (row);
    PQclear (res);
}

void
nt_activities_register (void *app_, const env_request_t *req, env_reply_t *rep)
{
    const char *pid;
    const char *aid = s_activity_scope (req, env_roles_desk, rep, &pid);
    if (!aid)
        return;
    jv_t v = JV_INIT;
    nt_registration_input_t in;
    if (!nt_registration_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid registration");
        return;
    }
    nt_activities_register_core (app_, req, pid, aid, &in, rep);
}

void
nt_activities_unregister_core (nt_app_t *app, const env_request_t *req, const char *pid, const char *aid,
                               const char *rid, const char *only_party, env_reply_t *rep)
{
    PGresult *res = NULL;
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    if (s_lock (app, req, pid, aid, &res, rep))
        goto out;
    bool cancelled = strcmp (PQgetvalue (res, 0, LOCK_STATUS), "cancelled") == 0;
    bool started = s_col (res, LOCK_NOW_US) >= s_col (res, LOCK_STARTS_US);
    PQclear (res);
    const char *f[] = { aid, rid, only_party };
    res = db_exec (app->db, ST_REG_FIND, 3, f);
    if (!db_ok (res) || PQntuples (res) != 1) {
        if (db_ok (res))
            env_reply_error (rep, 404, "not_found", NULL, "no such registration");
        else
            db_reply_error (res, rep, req->id);
        goto out;
    }
    if (cancelled || started || strcmp (PQgetvalue (res, 0, 0), "t") == 0) {
        env_reply_error (rep, 409, "conflict", NULL, "%s",
                         cancelled ? "the activity is cancelled"
                         : started ? "the activity has started" : "the registration has attended");
        goto out;
    }
    PQclear (res);
    const char *d[] = { aid, rid };
    res = db_exec (app->db, ST_REG_DELETE, 2, d);
    if (!db_ok (res) || PQntuples (res) != 1) {
        if (db_ok (res))    /* attended meanwhile (attendance does not take the activity's lock) */
            env_reply_error (rep, 409, "conflict", NULL, "the registration has attended");
        else
            db_reply_error (res, rep, req->id);
        goto out;
    }
    if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "unregister");
        goto out;
    }
    env_reply_ok (rep, 204, NULL);
out:
    db_rollback (app->db);
    PQclear (res);
}

void
nt_activities_unregister (void *app_, const env_request_t *req, env_reply_t *rep)
{
    const char *pid;
    const char *aid = s_activity_scope (req, env_roles_desk, rep, &pid);
    if (!aid)
        return;
    const char *rid = env_param (req, "rid");
    if (!rid || !jv_is_uuid (rid)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such registration");
        return;
    }
    nt_activities_unregister_core (app_, req, pid, aid, rid, NULL, rep);
}

void
nt_activities_report (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    int64_t from_day, to_day;
    const char *from = env_query (req, "from"), *to = env_query (req, "to");
    if (!nt_activity_report_range (&v, from, to, &from_day, &to_day)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid report range");
        return;
    }
    const char *p[] = { pid, from, to };
    db_reply_json (db_exec (app->db, ST_ACT_REPORT, 3, p), rep, req->id, 200, "no report");
}
