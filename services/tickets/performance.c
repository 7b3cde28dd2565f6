/* performance: per-person performance (绩效) and the satisfaction index
 * (满意指数); see performance.h for what each figure counts.
 *
 * Both reports are one statement each over indexes: the property's timeline
 * by time and its follow-up calls by time (migrations/017), tickets by
 * their primary key, the timeline of one ticket by (ticket_id, id). Nothing
 * reads all tickets of all properties, nor all of one property's history. */
#include "performance.h"

#include "civil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the pure part (tests/unit/test_tk_performance.c) ----------------------------- */

bool
perf_parse_month (const char *s, int *year, int *month)
{
    if (!s || strlen (s) != 7 || s[4] != '-')
        return false;
    int y = civil_digits (s, 4), m = civil_digits (s + 5, 2);
    if (y < 1970 || m < 1 || m > 12)
        return false;
    *year = y;
    *month = m;
    return true;
}

void
perf_months_window (jv_t *v, const char *from, const char *to, char from_day[11], char to_day[11])
{
    int fy = 0, fm = 0, ty = 0, tm = 0;
    bool fok = false, tok = false;
    if (!from)
        jv_problem (v, "from", "is required");
    else if (!(fok = perf_parse_month (from, &fy, &fm)))
        jv_problem (v, "from", "must be a month YYYY-MM");
    if (!to)
        jv_problem (v, "to", "is required");
    else if (!(tok = perf_parse_month (to, &ty, &tm)))
        jv_problem (v, "to", "must be a month YYYY-MM");
    if (!fok || !tok)
        return;
    long span = (long) (ty - fy) * 12 + (tm - fm) + 1;
    if (span < 1)
        jv_problem (v, "to", "must not be before from");
    else if (span > PERF_MONTHS_MAX)
        jv_problem (v, "to", "the index covers at most %d months", PERF_MONTHS_MAX);
    snprintf (from_day, 11, "%04d-%02d-01", fy, fm);
    snprintf (to_day, 11, "%04d-%02d-01", ty, tm);
}

bool
perf_sees_everyone (const env_caller_t *caller)
{
    const char *role = caller->role;
    return role && (strcmp (role, "admin") == 0 || strcmp (role, "manager") == 0);
}

void
perf_scope (const env_caller_t *caller, const char *asked, const char **user, bool *present)
{
    if (perf_sees_everyone (caller)) {
        *user = asked;
        *present = false;
    } else {
        *user = caller->user_id;
        *present = true;
    }
}

#ifndef PERF_RULES_ONLY

#include "log.h"
#include "sla.h"
#include "tenants_copy.h"
#include "tickets.h"

#include "reports.h"

/* $1: the property; $2..$6: the window, as the service report's (reports.h);
 * $7: only this person (NULL: everyone); $8: a person whose row is shown
 * even without activity (NULL: none); $9/$10/$11: the caller's id, name and
 * role (their own row's name and role when the timeline has none). */
static const char s_agents_sql[] =
    "WITH tl AS ("
    "  SELECT tl.id, tl.ticket_id, tl.at, tl.actor_id, tl.actor_role, tl.action, tl.actor_name "
    "  FROM ticket_timeline tl "
    "  WHERE tl.property_id = $1::uuid AND tl.at >= " TK_REPORT_LO " AND tl.at < " TK_REPORT_HI " "
    "    AND tl.actor_role IN ('admin', 'manager', 'agent', 'technician') "
    "    AND ($7::text IS NULL OR tl.actor_id = $7::text)), "
    "people AS ("
    "  SELECT DISTINCT ON (actor_id) actor_id AS user_id, actor_role AS role FROM tl "
    "  ORDER BY actor_id, id DESC), "
    "everyone AS ("
    "  SELECT user_id, role FROM people "
    "  UNION ALL SELECT $8::text, CASE WHEN $8::text = $9::text THEN $11::text END "
    "  WHERE $8::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM people WHERE user_id = $8::text)), "
    "named AS ("
    "  SELECT DISTINCT ON (actor_id) actor_id AS user_id, actor_name AS name FROM tl "
    "  WHERE actor_name IS NOT NULL ORDER BY actor_id, id DESC), "
    "created AS (SELECT actor_id AS user_id, count (*) AS n FROM tl WHERE action = 'create' GROUP BY actor_id), "
    /* each person's last resolution of each ticket in the window */
    "res AS ("
    "  SELECT DISTINCT ON (actor_id, ticket_id) actor_id AS user_id, ticket_id, id, at FROM tl "
    "  WHERE action = 'resolve' ORDER BY actor_id, ticket_id, id DESC), "
    "rx AS ("
    "  SELECT r.user_id, t.resolve_by IS NOT NULL AS has_by, r.at <= t.resolve_by AS met, fb.rating, "
    "    EXISTS (SELECT 1 FROM ticket_timeline o WHERE o.ticket_id = r.ticket_id AND o.id > r.id "
    "            AND o.action = 'reopen') AS reopened "
    "  FROM res r JOIN tickets t ON t.property_id = $1::uuid AND t.id = r.ticket_id "
    "  LEFT JOIN ticket_feedback fb ON fb.ticket_id = r.ticket_id), "
    "resolved AS ("
    "  SELECT user_id, count (*) AS n, "
    "    round (count (*) FILTER (WHERE met)::numeric / nullif (count (*) FILTER (WHERE has_by), 0), 3) AS sla, "
    "    round (avg (rating), 2) AS sat, count (*) FILTER (WHERE reopened) AS reopened "
    "  FROM rx GROUP BY user_id), "
    "calls AS ("
    "  SELECT called_by AS user_id, count (*) AS n FROM ticket_feedback "
    "  WHERE property_id = $1::uuid AND created_at >= " TK_REPORT_LO " AND created_at < " TK_REPORT_HI " "
    "    AND ($7::text IS NULL OR called_by = $7::text) GROUP BY called_by), "
    /* the tickets created in the window, with who created them and every
     * assignee they had: the ticket's first response counts for each */
    "fr AS ("
    "  SELECT u.user_id, round (percentile_cont (0.5) WITHIN GROUP "
    "    (ORDER BY extract (epoch FROM t.responded_at - t.created_at) / 60)::numeric, 1) AS median "
    "  FROM tickets t CROSS JOIN LATERAL ("
    "    SELECT t.created_by UNION SELECT t.assignee_id WHERE t.assignee_id IS NOT NULL "
    "    UNION SELECT a.data->>'assignee_id' FROM ticket_timeline a "
    "    WHERE a.ticket_id = t.id AND a.action = 'assign' AND a.data ? 'assignee_id') u (user_id) "
    "  WHERE t.property_id = $1::uuid AND t.created_at >= " TK_REPORT_LO " AND t.created_at < " TK_REPORT_HI " "
    "    AND t.responded_at IS NOT NULL AND ($7::text IS NULL OR u.user_id = $7::text) "
    "  GROUP BY u.user_id) "
    "SELECT json_build_object ("
    "  'from', " DB_UTC_TS (TK_REPORT_LO) ", 'to', " DB_UTC_TS (TK_REPORT_HI) ", "
    "  'items', coalesce (json_agg (json_build_object ("
    "    'user_id', e.user_id, "
    "    'username', coalesce (CASE WHEN e.user_id = $9::text THEN $10::text END, n.name), "
    "    'role', e.role, "
    "    'tickets_created', coalesce (c.n, 0), "
    "    'tickets_resolved', coalesce (r.n, 0), "
    "    'first_response_minutes_median', fr.median, "
    "    'resolution_sla_met', r.sla, "
    "    'satisfaction_average', r.sat, "
    "    'callbacks_done', coalesce (k.n, 0), "
    "    'reopened', coalesce (r.reopened, 0)) "
    "    ORDER BY coalesce (r.n, 0) DESC, coalesce (c.n, 0) DESC, e.user_id), '[]')"
    ")::text "
    "FROM everyone e "
    "LEFT JOIN named n ON n.user_id = e.user_id "
    "LEFT JOIN created c ON c.user_id = e.user_id "
    "LEFT JOIN resolved r ON r.user_id = e.user_id "
    "LEFT JOIN calls k ON k.user_id = e.user_id "
    "LEFT JOIN fr ON fr.user_id = e.user_id";

/* $1: the property; $2/$3: the first days of the first and last months;
 * $4: the property's time zone. A month's ratings are the follow-up calls
 * recorded in it; the worst categories, the three with the lowest mean
 * (more ratings first on a tie, then by name); uncategorised tickets count
 * in the month's figures but are no category. */
static const char s_satisfaction_sql[] =
    "WITH m AS ("
    "  SELECT d::date AS month, d::date::timestamp AT TIME ZONE $4::text AS lo, "
    "    (d + interval '1 month')::date::timestamp AT TIME ZONE $4::text AS hi "
    "  FROM generate_series ($2::date::timestamp, $3::date::timestamp, interval '1 month') d), "
    "r AS ("
    "  SELECT m.month, fb.rating, t.category "
    "  FROM m JOIN ticket_feedback fb ON fb.property_id = $1::uuid "
    "    AND fb.created_at >= m.lo AND fb.created_at < m.hi "
    "  JOIN tickets t ON t.property_id = $1::uuid AND t.id = fb.ticket_id), "
    "mo AS ("
    "  SELECT m.month, count (r.rating) AS n, round (avg (r.rating), 2) AS mean, "
    "    round (count (*) FILTER (WHERE r.rating >= 4)::numeric / nullif (count (r.rating), 0), 3) AS share "
    "  FROM m LEFT JOIN r ON r.month = m.month GROUP BY m.month) "
    "SELECT json_build_object ("
    "  'from', to_char ($2::date, 'YYYY-MM'), 'to', to_char ($3::date, 'YYYY-MM'), "
    "  'items', json_agg (json_build_object ("
    "    'period', to_char (mo.month, 'YYYY-MM'), 'count', mo.n, 'mean', mo.mean, 'share_4_5', mo.share, "
    "    'worst_categories', (SELECT coalesce (json_agg (json_build_object ("
    "        'category', w.category, 'count', w.n, 'mean', round (w.mean, 2)) "
    "        ORDER BY w.mean, w.n DESC, w.category), '[]') "
    "      FROM (SELECT category, count (*) AS n, avg (rating) AS mean FROM r "
    "            WHERE r.month = mo.month AND r.category IS NOT NULL GROUP BY category "
    "            ORDER BY avg (rating), count (*) DESC, category LIMIT 3) w)) "
    "    ORDER BY mo.month)"
    ")::text FROM mo";

static const db_statement_t s_statements[] = {
    { "perf_agents", s_agents_sql, true },
    { "perf_satisfaction", s_satisfaction_sql, true },
};

int
perf_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* The agents report for user (NULL: everyone), with present's row shown
 * even when quiet: the statement's JSON document, or NULL after answering. */
static cJSON *
s_agents (tickets_t *app, const env_request_t *req, const char *pid, const char *user, const char *present,
          env_reply_t *rep)
{
    tk_report_window_t w;
    if (!tk_report_window (req, &w, rep))
        return NULL;
    char tz[64];
    if (tk_copy_timezone (app->db, req, pid, tz, rep))
        return NULL;
    const env_caller_t *c = &req->caller;
    const char *p[11] = { pid, [5] = tz, user, present, c->user_id, c->name, c->role };
    tk_report_window_params (&w, p + 1);
    PGresult *res = db_exec (app->db, "perf_agents", 11, p);
    cJSON *body = NULL;
    if (!db_ok (res) || PQntuples (res) != 1)
        db_reply_error (res, rep, req->id);
    else if (!(body = cJSON_Parse (PQgetvalue (res, 0, 0))))
        env_reply_error (rep, 500, "internal", NULL, "report failed");
    PQclear (res);
    return body;
}

void
perf_reports_agents (void *app, const env_request_t *req, env_reply_t *rep)
{
    const char *pid = env_property_scope (req, env_roles_staff, rep);
    if (!pid)
        return;
    const char *asked = env_query (req, "user_id"), *user;
    if (asked && (strlen (asked) > TK_USER_ID_MAX || !jv_is_utf8 (asked, strlen (asked)))) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("user_id", "must be a user id"),
                         "invalid user_id");
        return;
    }
    bool present;
    perf_scope (&req->caller, asked, &user, &present);
    cJSON *body = s_agents (app, req, pid, user, present ? user : NULL, rep);
    if (body)
        env_reply_ok (rep, 200, body);
}

void
perf_reports_agent (void *app, const env_request_t *req, env_reply_t *rep)
{
    const char *pid = env_property_scope (req, env_roles_staff, rep);
    if (!pid)
        return;
    const char *user = env_param (req, "user_id");
    if (!user || !*user || strlen (user) > TK_USER_ID_MAX || !jv_is_utf8 (user, strlen (user))) {
        env_reply_error (rep, 404, "not_found", NULL, "no such user");
        return;
    }
    if (!perf_sees_everyone (&req->caller) && (!req->caller.user_id || strcmp (user, req->caller.user_id) != 0)) {
        /* an agent or a technician sees only themselves: anyone else is
         * nobody they can see, as another property's resource is */
        env_reply_error (rep, 404, "not_found", NULL, "no such person among those you may see");
        return;
    }
    cJSON *body = s_agents (app, req, pid, user, user, rep);
    if (!body)
        return;
    /* one person: their row, with the window */
    cJSON *items = cJSON_DetachItemFromObject (body, "items");
    cJSON *row = cJSON_DetachItemFromArray (items, 0);
    cJSON_Delete (items);
    if (!row) {
        cJSON_Delete (body);
        env_reply_error (rep, 500, "internal", NULL, "report failed");
        return;
    }
    cJSON_AddItemToObject (row, "from", cJSON_DetachItemFromObject (body, "from"));
    cJSON_AddItemToObject (row, "to", cJSON_DetachItemFromObject (body, "to"));
    cJSON_Delete (body);
    env_reply_ok (rep, 200, row);
}

void
perf_reports_satisfaction (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    char from_day[11] = "", to_day[11] = "";
    perf_months_window (&v, env_query (req, "from"), env_query (req, "to"), from_day, to_day);
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid months");
        return;
    }
    char tz[64];
    if (tk_copy_timezone (app->db, req, pid, tz, rep))
        return;
    PGresult *res = db_exec (app->db, "perf_satisfaction", 4, (const char *[]) { pid, from_day, to_day, tz });
    db_reply_json (res, rep, req->id, 200, "report failed");
}

#endif /* PERF_RULES_ONLY */
