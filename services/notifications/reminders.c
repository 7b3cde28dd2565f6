/* reminders: one activity.reminder per registration; see reminders.h.
 *
 * A round is batches of one transaction each: lock the due registrations
 * (SKIP LOCKED: another worker takes the others), route each as an event
 * of notifications' own (events.c nt_events_route: the same rules,
 * preferences and templates as every event), mark them reminded, commit. */
#include "reminders.h"

#include "config.h"
#include "events.h"
#include "log.h"
#include "sender.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_REM_DUE  "nt_rem_due"
#define ST_REM_DONE "nt_rem_done"

static const db_statement_t s_statements[] = {
    /* $1 batch: due and not started, oldest start first; the event's data */
    { ST_REM_DUE,
      "SELECT r.id, a.property_id, json_build_object ('activity_id', a.id, 'registration_id', r.id, "
      "  'party_id', r.party_id, 'unit_id', r.unit_id, 'unit_code', u.code, 'people', r.people, "
      "  'title', a.title, 'place', a.place, 'starts_at', " DB_UTC_TS ("a.starts_at") ", "
      "  'ends_at', " DB_UTC_TS ("a.ends_at") ")::text "
      "FROM activity_registrations r JOIN activities a ON a.id = r.activity_id "
      "LEFT JOIN units u ON u.unit_id = r.unit_id "
      "WHERE r.reminded_at IS NULL AND a.status = 'open' AND a.starts_at > now () "
      "  AND a.starts_at <= now () + make_interval (mins => a.remind_before_minutes) "
      "ORDER BY a.starts_at, r.id LIMIT $1::int "
      "FOR UPDATE OF r SKIP LOCKED", false },
    { ST_REM_DONE,
      "UPDATE activity_registrations SET reminded_at = now () WHERE id = $1::uuid", false },
};

int
nt_reminders_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* The registration's reminder as an event of our own, routed. 0 or -1. */
static int
s_remind (nt_app_t *app, const char *rid, const char *pid, const char *data_json)
{
    cJSON *event = cJSON_CreateObject ();
    cJSON *data = cJSON_Parse (data_json);
    int rc = -1;
    if (!event || !data || !cJSON_AddStringToObject (event, "id", rid)
        || !cJSON_AddStringToObject (event, "type", "activity.reminder")
        || !cJSON_AddStringToObject (event, "property_id", pid))
        goto out;
    cJSON_AddItemToObject (event, "data", data);
    data = NULL;
    if (nt_events_route (app, app->db, event, NULL))
        goto out;
    PGresult *res = db_exec (app->db, ST_REM_DONE, 1, (const char *[]) { rid });
    rc = db_ok (res) ? 0 : -1;
    PQclear (res);
out:
    cJSON_Delete (data);
    cJSON_Delete (event);
    return rc;
}

/* One batch in one transaction: the registrations reminded, or -1. */
static int
s_batch (nt_app_t *app)
{
    char limit[16];
    snprintf (limit, sizeof limit, "%d", NT_REMINDER_BATCH);
    if (db_begin (app->db))
        return -1;
    PGresult *due = db_exec (app->db, ST_REM_DUE, 1, (const char *[]) { limit });
    if (!db_ok (due)) {
        log_warn (NULL, "activity reminders: lookup failed (%s)", db_sqlstate (due));
        PQclear (due);
        db_rollback (app->db);
        return -1;
    }
    int n = PQntuples (due);
    for (int i = 0; i < n; i++)
        if (s_remind (app, PQgetvalue (due, i, 0), PQgetvalue (due, i, 1), PQgetvalue (due, i, 2))) {
            PQclear (due);
            db_rollback (app->db);
            return -1;
        }
    PQclear (due);
    if (db_commit (app->db)) {
        db_rollback (app->db);
        return -1;
    }
    return n;
}

int
nt_reminders_run_once (nt_app_t *app)
{
    int total = 0;
    for (;;) {
        int n = s_batch (app);
        if (n < 0)
            return -1;
        total += n;
        if (n < NT_REMINDER_BATCH)
            break;
    }
    if (total > 0) {
        log_info (NULL, "activity reminders: %d registrations reminded", total);
        nt_sender_kick (app->sender);
    }
    return total;
}

static int
s_round (void *app)
{
    return nt_reminders_run_once (app);
}

job_t *
nt_reminders_new (uv_loop_t *loop, nt_app_t *app)
{
    uint64_t every = (uint64_t) config_int ("PM_ACTIVITY_REMINDER_EVERY_MS", NT_REMINDER_EVERY_MS_DEFAULT, 10,
                                            86400000);
    return job_new (loop, "activity reminders", every, s_round, app);
}
