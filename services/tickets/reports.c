/* reports: the service report of a property (GET .../reports/service),
 * computed in SQL over the tickets created in [from, to).
 *
 * A deadline counts as met when the answer came by it and the timer never
 * marked it breached, and as missed when it was marked breached or the
 * answer came late; tickets still inside their time (or cancelled before a
 * deadline) count as neither. Dates are days in the property's timezone
 * (the desk's wall clock, as ticket numbers: tk_copy_timezone); `to` as a date includes
 * that whole day. by_channel applies the same rules per channel (the
 * hotline's figures among them), internal_requests counts the tickets of
 * requester_kind "internal". */
#include "reports.h"

#include "jv.h"
#include "log.h"
#include "sla.h"
#include "tenants_copy.h"
#include "tickets.h"
#include "tk_clock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $1: the property; $2..$6: the window (reports.h) */
static const char *s_report_sql =
    "WITH t AS ("
    "  SELECT tk.*, "
    "    (responded_at IS NOT NULL AND responded_at <= respond_by AND respond_breached_at IS NULL) AS r_met, "
    "    (respond_breached_at IS NOT NULL OR responded_at > respond_by) AS r_missed, "
    "    (resolved_at IS NOT NULL AND resolved_at <= resolve_by AND resolve_breached_at IS NULL) AS s_met, "
    "    (resolve_breached_at IS NOT NULL OR resolved_at > resolve_by) AS s_missed "
    "  FROM tickets tk WHERE tk.property_id = $1::uuid "
    "    AND tk.created_at >= " TK_REPORT_LO " AND tk.created_at < " TK_REPORT_HI "), "
    "f AS (SELECT fb.rating FROM ticket_feedback fb JOIN t ON t.id = fb.ticket_id "
    "      WHERE fb.property_id = $1::uuid) "
    "SELECT json_build_object ("
    "  'from', " DB_UTC_TS (TK_REPORT_LO) ", "
    "  'to', " DB_UTC_TS (TK_REPORT_HI) ", "
    "  'total', (SELECT count (*) FROM t), "
    "  'by_type', (SELECT coalesce (json_object_agg (type, n ORDER BY type), '{}') "
    "    FROM (SELECT type, count (*) AS n FROM t GROUP BY type) x), "
    "  'by_status', (SELECT coalesce (json_object_agg (status, n ORDER BY status), '{}') "
    "    FROM (SELECT status, count (*) AS n FROM t GROUP BY status) x), "
    "  'by_type_status', (SELECT coalesce (json_object_agg (type, s ORDER BY type), '{}') FROM ("
    "    SELECT type, json_object_agg (status, n ORDER BY status) AS s FROM ("
    "      SELECT type, status, count (*) AS n FROM t GROUP BY type, status) y GROUP BY type) x), "
    "  'respond_met', (SELECT count (*) FILTER (WHERE r_met) FROM t), "
    "  'respond_missed', (SELECT count (*) FILTER (WHERE r_missed) FROM t), "
    "  'resolve_met', (SELECT count (*) FILTER (WHERE s_met) FROM t), "
    "  'resolve_missed', (SELECT count (*) FILTER (WHERE s_missed) FROM t), "
    "  'avg_first_response_minutes', (SELECT round (avg (extract (epoch FROM responded_at - created_at)) / 60, 1) "
    "    FROM t WHERE responded_at IS NOT NULL), "
    "  'avg_resolution_minutes', (SELECT round (avg (extract (epoch FROM resolved_at - created_at)) / 60, 1) "
    "    FROM t WHERE resolved_at IS NOT NULL), "
    "  'feedback_count', (SELECT count (*) FROM f), "
    "  'satisfaction_average', (SELECT round (avg (rating), 2) FROM f), "
    "  'satisfied_count', (SELECT count (*) FILTER (WHERE rating >= 4) FROM f), "
    "  'by_assignee', (SELECT coalesce (json_agg (x ORDER BY x.total DESC, x.assignee_id), '[]') FROM ("
    "    SELECT assignee_id, count (*) AS total, "
    "      count (*) FILTER (WHERE resolved_at IS NULL AND closed_at IS NULL) AS open, "
    "      count (*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved, "
    "      count (*) FILTER (WHERE r_met) AS respond_met, count (*) FILTER (WHERE r_missed) AS respond_missed, "
    "      count (*) FILTER (WHERE s_met) AS resolve_met, count (*) FILTER (WHERE s_missed) AS resolve_missed "
    "    FROM t WHERE assignee_id IS NOT NULL GROUP BY assignee_id) x), "
    "  'by_category', (SELECT coalesce (json_agg (x ORDER BY x.total DESC, x.category NULLS LAST), '[]') FROM ("
    "    SELECT category, count (*) AS total, "
    "      count (*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved "
    "    FROM t GROUP BY category) x), "
    /* the internal hotline (issue L): each channel's volume and deadlines
     * met, by the rules above, and the requests from inside the company */
    "  'by_channel', (SELECT coalesce (json_object_agg (channel, json_build_object ("
    "      'count', n, 'first_response_met', rm, 'first_response_missed', rx, "
    "      'resolution_met', sm, 'resolution_missed', sx) ORDER BY channel), '{}') FROM ("
    "    SELECT channel, count (*) AS n, count (*) FILTER (WHERE r_met) AS rm, "
    "      count (*) FILTER (WHERE r_missed) AS rx, count (*) FILTER (WHERE s_met) AS sm, "
    "      count (*) FILTER (WHERE s_missed) AS sx "
    "    FROM t GROUP BY channel) x), "
    "  'internal_requests', (SELECT count (*) FILTER (WHERE requester_kind = 'internal') FROM t) "
    ")::text";

int
tk_reports_prepare (db_t *db)
{
    return db_prepare (db, "report_service", s_report_sql, true);
}

static double
s_num (const cJSON *obj, const char *name)
{
    return cJSON_GetNumberValue (cJSON_GetObjectItem (obj, name));
}

/* met / (met + missed) in percent with one decimal, or JSON null. */
static void
s_add_pct (cJSON *obj, const char *name, double met, double missed)
{
    if (met + missed <= 0 || isnan (met) || isnan (missed))
        cJSON_AddNullToObject (obj, name);
    else
        cJSON_AddNumberToObject (obj, name, round (met * 1000.0 / (met + missed)) / 10.0);
}

bool
tk_report_window (const env_request_t *req, tk_report_window_t *w, env_reply_t *rep)
{
    static const char *const names[] = { "from", "to", NULL };
    cJSON *q = sla_query_object (req, names);
    jv_t v = JV_INIT;
    const char *from = jv_string (&v, q, "from", JV_REQUIRED, 40);
    const char *to = jv_string (&v, q, "to", JV_REQUIRED, 40);
    int64_t lo = 0, hi = 0;
    if (from && !sla_parse_time (from, true, &lo))
        jv_problem (&v, "from", "must be a date YYYY-MM-DD or an RFC 3339 time");
    if (to && !sla_parse_time (to, true, &hi))
        jv_problem (&v, "to", "must be a date YYYY-MM-DD or an RFC 3339 time");
    w->to_date = to && jv_is_date (to);
    w->from_date = from && jv_is_date (from);
    if (jv_ok (&v)) {
        if (w->to_date)
            hi += 86400;                   /* the whole last day */
        if (hi <= lo)
            jv_problem (&v, "to", "must not be before from");
        else if (hi - lo > REPORT_WINDOW_MAX_S)
            jv_problem (&v, "to", "the report covers at most a year");
    }
    snprintf (w->from, sizeof w->from, "%s", from ? from : "");
    snprintf (w->to, sizeof w->to, "%s", to ? to : "");
    cJSON_Delete (q);
    if (jv_ok (&v))
        return true;
    env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid report window");
    return false;
}

void
tk_report_window_params (const tk_report_window_t *w, const char *p[4])
{
    p[0] = w->from_date ? w->from : NULL;
    p[1] = w->from_date ? NULL : w->from;
    p[2] = w->to_date ? w->to : NULL;
    p[3] = w->to_date ? NULL : w->to;
}

void
tk_reports_service (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    PGresult *res = NULL;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    tk_report_window_t w;
    if (!tk_report_window (req, &w, rep))
        return;
    char tz[64];
    if (tk_copy_timezone (app->db, req, pid, tz, rep))
        return;
    const char *p[6] = { pid, [5] = tz };
    tk_report_window_params (&w, p + 1);
    res = db_exec (app->db, "report_service", 6, p);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    cJSON *body = cJSON_Parse (PQgetvalue (res, 0, 0));
    if (!body) {
        env_reply_error (rep, 500, "internal", NULL, "report failed");
        goto out;
    }
    s_add_pct (body, "response_sla_met_pct", s_num (body, "respond_met"), s_num (body, "respond_missed"));
    s_add_pct (body, "resolution_sla_met_pct", s_num (body, "resolve_met"), s_num (body, "resolve_missed"));
    double fb = s_num (body, "feedback_count");
    if (fb > 0)
        cJSON_AddNumberToObject (body, "satisfied_share_pct",
                                 round (s_num (body, "satisfied_count") * 1000.0 / fb) / 10.0);
    else
        cJSON_AddNullToObject (body, "satisfied_share_pct");
    cJSON *a;
    cJSON_ArrayForEach (a, cJSON_GetObjectItem (body, "by_assignee")) {
        s_add_pct (a, "response_sla_met_pct", s_num (a, "respond_met"), s_num (a, "respond_missed"));
        s_add_pct (a, "resolution_sla_met_pct", s_num (a, "resolve_met"), s_num (a, "resolve_missed"));
    }
    env_reply_ok (rep, 200, body);
out:
    PQclear (res);
}
