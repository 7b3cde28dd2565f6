/* release_pass: the printable item release pass (see release_pass.h): one
 * read of the ticket with its last approval, the decision, then the page. */
#include "release_pass.h"
#include "tenants_copy.h"

#include "html.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns of tk_pass_load, in its order. */
enum {
    P_NUMBER, P_TYPE, P_STATUS, P_UNIT, P_TITLE, P_ITEMS, P_CARRIER, P_ACTOR, P_APPROVED_AT, P_VALID_FROM,
    P_VALID_TO, P_PARTY
};

static const db_statement_t s_statements[] = {
    /* $1 pid, $2 ticket, $3 the property's time zone. The last approval
     * counts; the approving party (the desk recorded their word) by name
     * from the copy of tenants */
    { "tk_pass_load",
      "SELECT t.number, t.type, t.status, t.unit_code, t.title, COALESCE(t.data->'items', '[]'::jsonb)::text,"
      "  t.data->>'carrier', a.actor_id, to_char(a.at AT TIME ZONE $3, 'YYYY-MM-DD HH24:MI'),"
      "  (a.at AT TIME ZONE $3)::date::text, ((a.at AT TIME ZONE $3)::date + 1)::text, pa.name"
      " FROM tickets t"
      " LEFT JOIN LATERAL (SELECT actor_id, at, data FROM ticket_timeline"
      "   WHERE ticket_id = t.id AND action = 'approve' ORDER BY id DESC LIMIT 1) a ON true"
      " LEFT JOIN tenant_parties pa ON pa.id = (a.data->>'approved_by_party_id')::uuid"
      " WHERE t.property_id = $1::uuid AND t.id = $2::uuid",
      true },
};

int
tk_pass_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

static const char s_css[] =
    "@page{size:A5 portrait;margin:12mm}"
    "body{font-family:\"Songti SC\",\"SimSun\",serif;font-size:14px;color:#000;margin:0 auto;max-width:130mm}"
    "h1{font-size:1.4em;text-align:center;letter-spacing:.5em;margin:0 0 .2em}"
    ".no{text-align:right;font-family:monospace;color:#b00}"
    "table{width:100%;border-collapse:collapse;margin:.4em 0}"
    "th,td{border:1px solid #000;padding:3px 5px;text-align:left;vertical-align:top}"
    "th{white-space:nowrap;font-weight:normal;width:6em}ol{margin:0;padding-left:1.4em}"
    ".sign{display:flex;justify-content:space-between;margin-top:1.2em}";

/* The items (a JSON array of strings) as an ordered list. */
static void
s_items (env_text_t *t, const char *items_json)
{
    cJSON *items = cJSON_Parse (items_json);
    env_text_put (t, "<tr><th>放行物品</th><td><ol>");
    const cJSON *it;
    cJSON_ArrayForEach (it, items) {
        env_text_put (t, "<li>");
        html_escape (t, cJSON_GetStringValue (it));
        env_text_put (t, "</li>");
    }
    env_text_put (t, "</ol></td></tr>");
    cJSON_Delete (items);
}

/* The page of row 0 of res (tk_pass_load). */
static void
s_page (env_text_t *t, const PGresult *res)
{
    env_text_put (t, "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>放行条 ");
    html_escape (t, PQgetvalue (res, 0, P_NUMBER));
    env_text_put (t, "</title><style>");
    env_text_put (t, s_css);
    env_text_put (t, "</style></head><body><h1>放行条</h1><p class=\"no\">No. ");
    html_escape (t, PQgetvalue (res, 0, P_NUMBER));
    env_text_put (t, "</p><table>");
    html_row (t, "房号", PQgetvalue (res, 0, P_UNIT));
    html_row (t, "事由", PQgetvalue (res, 0, P_TITLE));
    s_items (t, PQgetvalue (res, 0, P_ITEMS));
    html_row (t, "搬运人", PQgetvalue (res, 0, P_CARRIER));
    if (!PQgetisnull (res, 0, P_PARTY)) {
        html_row (t, "批准人", PQgetvalue (res, 0, P_PARTY));
        html_row (t, "登记人", PQgetvalue (res, 0, P_ACTOR));
    }
    else
        html_row (t, "批准人", PQgetvalue (res, 0, P_ACTOR));
    html_row (t, "批准时间", PQgetvalue (res, 0, P_APPROVED_AT));
    env_text_put (t, "<tr><th>有效日期</th><td>");
    html_escape (t, PQgetvalue (res, 0, P_VALID_FROM));
    env_text_put (t, " 至 ");
    html_escape (t, PQgetvalue (res, 0, P_VALID_TO));
    env_text_put (t, "</td></tr></table><div class=\"sign\"><span>门岗查验：</span><span>放行时间：</span></div>"
                     "</body></html>\n");
}

/* The decision: a pass only for an item release that is approved now.
 * True, or false after answering 409 invalid_transition. */
static bool
s_passable (const PGresult *res, env_reply_t *rep)
{
    const char *type = PQgetvalue (res, 0, P_TYPE), *status = PQgetvalue (res, 0, P_STATUS);
    if (strcmp (type, "item_release") != 0) {
        env_reply_error (rep, 409, "invalid_transition", jv_detail ("type", "only an item_release ticket has a pass"),
                         "a %s ticket has no release pass", type);
        return false;
    }
    if (strcmp (status, "approved") != 0 || PQgetisnull (res, 0, P_APPROVED_AT)) {
        env_reply_error (rep, 409, "invalid_transition",
                         jv_detail ("status", "the pass is printed once the release is approved, until released"),
                         "the item release is %s: no pass to print", status);
        return false;
    }
    return true;
}

void
tk_pass_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *tid = env_resource_scope (req, env_roles_desk, "tid", "ticket", rep, &pid);
    if (!tid)
        return;
    char tz[64];
    if (tk_copy_timezone (app->db, req, pid, tz, rep))
        return;
    PGresult *res = db_exec (app->db, "tk_pass_load", 3, (const char *[]) { pid, tid, tz });
    env_text_t t = ENV_TEXT_INIT;
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    if (PQntuples (res) == 0) {
        env_reply_error (rep, 404, "not_found", NULL, "no such ticket");
        goto out;
    }
    if (!s_passable (res, rep))
        goto out;
    s_page (&t, res);
    char filename[96];
    snprintf (filename, sizeof filename, "pass-%s.html", PQgetvalue (res, 0, P_NUMBER));
    html_reply_page (rep, &t, filename);
out:
    free (env_text_take (&t));
    PQclear (res);
}
