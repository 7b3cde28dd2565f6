/* me: notifications.me.* (see me.h). Each handler: the resident's role and
 * parties, then one statement that joins the request to the current
 * occupancies of those parties in notifications' own copy, so a unit the
 * resident does not occupy now is never reached (404, as another
 * property's). Sign-ups and their removal are activities.c's cores. */
#include "me.h"

#include "activities.h"
#include "inbox.h"
#include "input_rules.h"
#include "log.h"
#include "preferences.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_ME_ANN       "nt_me_announcements"
#define ST_ME_ACT       "nt_me_activities"
#define ST_ME_OCC       "nt_me_occupancy"
#define ST_ME_REG       "nt_me_registration"
#define ST_ME_PREF_GET  "nt_me_pref_get"
#define ST_ME_PREF_PUT  "nt_me_pref_put"
#define ST_ME_INBOX     "nt_me_inbox"
#define ST_ME_UNREAD    "nt_me_unread"
#define ST_ME_READ      "nt_me_read"

/* a notification n in the inbox of one of the parties $1 (a jsonb array);
 * read marks are the party's ("party:<id>" in notification_reads), so any
 * login of the party sees them */
#define ME_INBOX                                                                                  \
    "n.channel = 'inbox' AND n.recipient_kind = 'party' "                                         \
    "AND n.recipient IN (SELECT jsonb_array_elements_text ($1::jsonb))"
#define ME_READER "'party:' || n.recipient"
#define ME_NOTE(read_at) NT_INBOX_NOTE ("'party_id', n.recipient, ", read_at)

/* the caller's current units ($1 the party ids as a jsonb array) */
#define ME_UNITS                                                                                  \
    "mu AS (SELECT o.unit_id, o.party_id, o.property_id, u.building, u.use FROM occupancies o "   \
    "  JOIN units u ON u.unit_id = o.unit_id AND u.property_id = o.property_id "                  \
    "  WHERE o.end_date IS NULL AND o.party_id IN (SELECT jsonb_array_elements_text ($1::jsonb)::uuid))"

/* an audience text (all, building:<b>, use:<use>) that includes the unit mu */
#define ME_AUDIENCE(aud)                                                                          \
    "(" aud " = 'all' OR " aud " = 'building:' || mu.building OR " aud " = 'use:' || mu.use)"

static const db_statement_t s_statements[] = {
    /* $1 parties, $2 cursor created_at, $3 cursor id, $4 limit + 1; newest first */
    { ST_ME_ANN,
      "WITH " ME_UNITS " "
      "SELECT json_build_object ('id', a.id, 'property_id', a.property_id, 'title', a.title, "
      "  'body', a.body, 'audience', a.audience, 'created_at', " DB_UTC_TS ("a.created_at") ")::text, "
      "  " DB_UTC_TS_US ("a.created_at") ", a.id "
      "FROM announcements a WHERE EXISTS (SELECT 1 FROM mu WHERE mu.property_id = a.property_id "
      "    AND " ME_AUDIENCE ("a.audience") ") "
      "  AND ($2::timestamptz IS NULL OR (a.created_at, a.id) < ($2::timestamptz, $3::uuid)) "
      "ORDER BY a.created_at DESC, a.id DESC LIMIT $4::int", true },
    /* $1 parties, $2 cursor starts_at, $3 cursor id, $4 limit + 1; open, not
     * started, soonest first; the units' own registrations with each */
    { ST_ME_ACT,
      "WITH " ME_UNITS " "
      "SELECT json_build_object ('id', a.id, 'property_id', a.property_id, 'title', a.title, "
      "  'description', a.description, 'place', a.place, "
      "  'starts_at', " DB_UTC_TS ("a.starts_at") ", 'ends_at', " DB_UTC_TS ("a.ends_at") ", "
      "  'capacity', a.capacity, 'audience', a.audience, 'status', a.status, 'registered', a.registered, "
      "  'places_left', CASE WHEN a.capacity IS NOT NULL THEN greatest (a.capacity - a.registered, 0) END, "
      "  'my_registrations', (SELECT coalesce (json_agg (json_build_object ('id', r.id, 'unit_id', r.unit_id, "
      "      'unit_code', (SELECT code FROM units WHERE unit_id = r.unit_id), 'party_id', r.party_id, "
      "      'people', r.people, 'registered_at', " DB_UTC_TS ("r.created_at") ", "
      "      'attended', r.attended_at IS NOT NULL) ORDER BY r.created_at, r.id), '[]') "
      "    FROM activity_registrations r WHERE r.activity_id = a.id "
      "      AND r.unit_id IN (SELECT unit_id FROM mu)))::text, "
      "  " DB_UTC_TS_US ("a.starts_at") ", a.id "
      "FROM activities a WHERE a.status = 'open' AND a.starts_at > now () "
      "  AND EXISTS (SELECT 1 FROM mu WHERE mu.property_id = a.property_id AND " ME_AUDIENCE ("a.audience") ") "
      "  AND ($2::timestamptz IS NULL OR (a.starts_at, a.id) > ($2::timestamptz, $3::uuid)) "
      "ORDER BY a.starts_at, a.id LIMIT $4::int", true },
    /* $1 parties, $2 unit, $3 activity: the occupancy's party and property,
     * and whether the activity is of that property for an audience with the unit */
    { ST_ME_OCC,
      "WITH " ME_UNITS " "
      "SELECT mu.party_id, mu.property_id, EXISTS (SELECT 1 FROM activities a WHERE a.id = $3::uuid "
      "    AND a.property_id = mu.property_id AND " ME_AUDIENCE ("a.audience") ") "
      "FROM mu WHERE mu.unit_id = $2::uuid ORDER BY mu.party_id LIMIT 1", true },
    /* $1 parties, $2 activity, $3 registration: of a unit the resident
     * occupies, by one of their parties */
    { ST_ME_REG,
      "WITH " ME_UNITS " "
      "SELECT r.property_id, r.party_id FROM activity_registrations r "
      "WHERE r.activity_id = $2::uuid AND r.id = $3::uuid "
      "  AND r.party_id IN (SELECT jsonb_array_elements_text ($1::jsonb)::uuid) "
      "  AND r.unit_id IN (SELECT unit_id FROM mu)", true },
    /* $1 parties: each party notifications knows */
    { ST_ME_PREF_GET,
      "SELECT json_build_object ('items', coalesce (json_agg ((" NT_PREF_JSON ("p", "pr", "pr.party_id IS NULL")
      ")::json ORDER BY p.id), '[]'))::text FROM parties p LEFT JOIN preferences pr ON pr.party_id = p.id "
      "WHERE p.id IN (SELECT jsonb_array_elements_text ($1::jsonb)::uuid)", true },
    /* $1 parties, $2 channels, $3 opt_out, $4 locale: NULL keeps what is
     * there; $5 topics merged over the stored ones */
    { ST_ME_PREF_PUT,
      "WITH p AS (SELECT id, property_id FROM parties "
      "  WHERE id IN (SELECT jsonb_array_elements_text ($1::jsonb)::uuid)), "
      "u AS (INSERT INTO preferences AS pr (party_id, property_id, channels, opt_out, locale, topics) "
      "      SELECT p.id, p.property_id, coalesce ($2::text[], '{sms,email}'), "
      "             coalesce ($3::bool, false), coalesce ($4::text, 'zh-CN'), coalesce ($5::jsonb, '{}') FROM p "
      "      ON CONFLICT (party_id) DO UPDATE SET channels = coalesce ($2::text[], pr.channels), "
      "        opt_out = coalesce ($3::bool, pr.opt_out), locale = coalesce ($4::text, pr.locale), "
      "        topics = pr.topics || coalesce ($5::jsonb, '{}'), updated_at = now () "
      "      RETURNING pr.*) "
      "SELECT json_build_object ('items', coalesce (json_agg ((" NT_PREF_JSON ("p", "u", "false")
      ")::json ORDER BY p.id), '[]'))::text FROM p JOIN u ON u.party_id = p.id", false },
    /* $1 parties, $2 cursor created_at, $3 cursor id, $4 limit + 1; newest first */
    { ST_ME_INBOX, NT_INBOX_PAGE (ME_NOTE, ME_INBOX, ME_READER, "", "$2", "$3", "$4"), true },
    { ST_ME_UNREAD,
      "SELECT count (*) FROM notifications n WHERE " ME_INBOX " AND " NT_INBOX_UNREAD (ME_READER), true },
    /* $1 parties, $2 the notification: marked once, answered with its first read_at */
    { ST_ME_READ, NT_INBOX_READ (ME_NOTE, ME_INBOX, ME_READER, "$2"), false },
};

int
nt_me_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* A (time, id) page of parties' rows of statement st. */
static void
s_list (nt_app_t *app, const env_request_t *req, const char *st, env_reply_t *rep)
{
    char *parties = env_resident_parties (req, rep);
    if (!parties)
        return;
    jv_t v = JV_INIT;
    page_time_id_t page;
    if (!page_time_id (&v, req, &page)) {
        free (parties);
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    const char *p[] = { parties, page.at, page.id, page.limit_plus_one };
    page_reply (db_exec (app->db, st, 4, p), page.limit, 1, 2, rep, req->id);
    free (parties);
}

void
nt_me_announcements (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_list (app, req, ST_ME_ANN, rep);
}

void
nt_me_activities (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_list (app, req, ST_ME_ACT, rep);
}

void
nt_me_register (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    char *parties = env_resident_parties (req, rep);
    if (!parties)
        return;
    PGresult *res = NULL;
    const char *aid = env_param (req, "id");
    if (!aid || !jv_is_uuid (aid)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such activity");
        goto out;
    }
    jv_t v = JV_INIT;
    nt_registration_input_t in = { .people = 1 };
    if (jv_object (&v, req->data)) {
        in.unit_id = jv_uuid (&v, req->data, "unit_id", JV_REQUIRED);
        int64_t n;
        if (jv_int (&v, req->data, "people", JV_OPTIONAL, 1, NT_ACT_PEOPLE_MAX, &n))
            in.people = (int) n;
    }
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid registration");
        goto out;
    }
    const char *p[] = { parties, in.unit_id, aid };
    res = db_exec (app->db, ST_ME_OCC, 3, p);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    if (PQntuples (res) != 1) {
        env_reply_error (rep, 404, "not_found", NULL, "no such unit");
        goto out;
    }
    if (strcmp (PQgetvalue (res, 0, 2), "t") != 0) {
        env_reply_error (rep, 404, "not_found", NULL, "no such activity");
        goto out;
    }
    in.party_id = PQgetvalue (res, 0, 0);
    nt_activities_register_core (app, req, PQgetvalue (res, 0, 1), aid, &in, rep);
    if (rep->status == 201)
        log_info (req->id, "resident signed a unit up for activity %s", aid);
out:
    PQclear (res);
    free (parties);
}

void
nt_me_unregister (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    char *parties = env_resident_parties (req, rep);
    if (!parties)
        return;
    PGresult *res = NULL;
    const char *aid = env_param (req, "id"), *rid = env_param (req, "rid");
    if (!aid || !jv_is_uuid (aid) || !rid || !jv_is_uuid (rid)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such registration");
        goto out;
    }
    const char *p[] = { parties, aid, rid };
    res = db_exec (app->db, ST_ME_REG, 3, p);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    if (PQntuples (res) != 1) {
        env_reply_error (rep, 404, "not_found", NULL, "no such registration");
        goto out;
    }
    nt_activities_unregister_core (app, req, PQgetvalue (res, 0, 0), aid, rid, PQgetvalue (res, 0, 1), rep);
out:
    PQclear (res);
    free (parties);
}

void
nt_me_preferences_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    char *parties = env_resident_parties (req, rep);
    if (!parties)
        return;
    db_reply_json (db_exec (app->db, ST_ME_PREF_GET, 1, (const char *[]) { parties }), rep, req->id, 200,
                   "no answer");
    free (parties);
}

void
nt_me_preferences_put (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    char *parties = env_resident_parties (req, rep);
    if (!parties)
        return;
    jv_t v = JV_INIT;
    nt_preferences_input_t in;
    char topics[NT_PREF_TOPICS_TEXT];
    if (!nt_preferences_body (&v, req->data, &in, topics)) {
        free (parties);
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid preferences");
        return;
    }
    const char *p[] = { parties, in.has_channels ? in.channels : NULL, in.opt_out, in.locale,
                        topics[0] ? topics : NULL };
    db_reply_json (db_exec (app->db, ST_ME_PREF_PUT, 5, p), rep, req->id, 200, "no answer");
    free (parties);
}

void
nt_me_notifications (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    char *parties = env_resident_parties (req, rep);
    if (!parties)
        return;
    PGresult *res = NULL, *count = NULL;
    jv_t v = JV_INIT;
    page_time_id_t page;
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        goto out;
    }
    const char *p[] = { parties, page.at, page.id, page.limit_plus_one };
    res = db_exec (app->db, ST_ME_INBOX, 4, p);
    count = db_ok (res) ? db_exec (app->db, ST_ME_UNREAD, 1, p) : NULL;
    if (!db_ok (res) || !db_ok (count) || PQntuples (count) != 1) {
        db_reply_error (db_ok (res) ? count : res, rep, req->id);
        goto out;
    }
    cJSON *body = page_json_rows (res, page.limit, 1, 2);
    if (!body || !cJSON_AddNumberToObject (body, "unread", strtod (PQgetvalue (count, 0, 0), NULL))) {
        cJSON_Delete (body);
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        goto out;
    }
    env_reply_ok (rep, 200, body);
out:
    PQclear (res);
    PQclear (count);
    free (parties);
}

void
nt_me_notification_read (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    char *parties = env_resident_parties (req, rep);
    if (!parties)
        return;
    const char *id = env_param (req, "id");
    if (!id || !jv_is_uuid (id))
        env_reply_error (rep, 404, "not_found", NULL, "no such notification");
    else
        db_reply_json (db_exec (app->db, ST_ME_READ, 2, (const char *[]) { parties, id }), rep, req->id, 200,
                       "no such notification");
    free (parties);
}
