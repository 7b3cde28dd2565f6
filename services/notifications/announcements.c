/* announcements: notifications.announcements.create, .list and .get (see
 * announcements.h). The fan-out is one INSERT ... SELECT: who (the current
 * occupancies of the audience's units, DISTINCT party), on what (the
 * requested channels, "preferred" resolved per party from preferences), and
 * with what status (inbox delivered; sms/email queued with the address, or
 * not_sent with the reason), so a 20,000-unit property costs one statement,
 * not 20,000 round trips. */
#include "announcements.h"

#include "delivery_log.h"
#include "log.h"
#include "sender.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_ANN_CREATE NT_ST_ANN_CREATE
#define ST_ANN_LIST   "nt_ann_list"
#define ST_ANN_GET    "nt_ann_get"
#define ST_ANN_KNOWN  "nt_ann_property_known"

#define ANN_JSON(a)                                                                               \
    "json_build_object ('id', " a ".id, 'property_id', " a ".property_id, 'title', " a ".title, " \
    "  'body', " a ".body, 'audience', " a ".audience, 'channels', " a ".channels, "              \
    "  'recipients', " a ".recipients, 'created_by', " a ".created_by, "                          \
    "  'created_at', " DB_UTC_TS (a ".created_at") ")"

/* {"inbox":{"delivered":3},"sms":{"queued":2,"not_sent":1}} of rows (channel, status) */
#define ANN_COUNTS(rows)                                                                          \
    "(SELECT coalesce (jsonb_object_agg (channel, st), '{}') FROM "                               \
    "  (SELECT channel, jsonb_object_agg (status, k) AS st FROM "                                 \
    "    (SELECT channel, status, count (*) AS k FROM " rows " GROUP BY 1, 2) c "                 \
    "   GROUP BY channel) s)"

static const db_statement_t s_statements[] = {
    /* $1 pid, $2 title, $3 body, $4 audience, $5 building or NULL, $6 use or
     * NULL, $7 channels, $8 created_by. Column 0 the document, column 1 how
     * many rows were queued for the sender. */
    { ST_ANN_CREATE,
      "WITH r AS ("
      "  SELECT DISTINCT o.party_id FROM occupancies o JOIN units u ON u.unit_id = o.unit_id "
      "  WHERE o.property_id = $1::uuid AND o.end_date IS NULL AND u.property_id = $1::uuid "
      "    AND ($5::text IS NULL OR u.building = $5) AND ($6::text IS NULL OR u.use = $6)), "
      "a AS ("
      "  INSERT INTO announcements (property_id, title, body, audience, channels, recipients, created_by) "
      "  SELECT $1::uuid, $2, $3, $4, $7::text[], count (*), $8 FROM r RETURNING *), "
      /* each recipient's contacts and preferences */
      "rp AS ("
      "  SELECT r.party_id, nullif (p.phone, '') AS phone, nullif (p.email, '') AS email, "
      "         coalesce (pr.opt_out, false) AS opt_out, "
      "         coalesce (pr.channels, '{sms,email}') AS preferred "
      "  FROM r LEFT JOIN parties p ON p.id = r.party_id "
      "  LEFT JOIN preferences pr ON pr.party_id = r.party_id), "
      /* (party, channel) once: 'preferred' is the first preferred channel the
       * party has an address for, else the first preferred one (which then
       * records why it was not sent) */
      "rc AS ("
      "  SELECT DISTINCT rp.party_id, rp.phone, rp.email, rp.opt_out, "
      "    CASE WHEN c.ch <> 'preferred' THEN c.ch ELSE coalesce ("
      "      (SELECT x FROM unnest (rp.preferred) WITH ORDINALITY AS t (x, i) "
      "       WHERE x = 'inbox' OR (x = 'sms' AND rp.phone IS NOT NULL) "
      "          OR (x = 'email' AND rp.email IS NOT NULL) ORDER BY i LIMIT 1), "
      "      rp.preferred[1], 'sms') END AS channel "
      "  FROM rp CROSS JOIN unnest ($7::text[]) AS c (ch)), "
      /* opt-out stops every channel but the inbox */
      "rs AS ("
      "  SELECT party_id, channel, CASE channel WHEN 'sms' THEN phone WHEN 'email' THEN email END AS address, "
      "    CASE WHEN channel = 'inbox' THEN NULL WHEN opt_out THEN 'opted out' "
      "         WHEN channel = 'sms' AND phone IS NULL THEN 'no phone number' "
      "         WHEN channel = 'email' AND email IS NULL THEN 'no email address' END AS why "
      "  FROM rc), "
      "n AS ("
      "  INSERT INTO notifications (property_id, source_kind, source_id, event_type, recipient_kind, "
      "    recipient, channel, address, locale, title, body, link, status, next_attempt_at, last_error, sent_at) "
      "  SELECT a.property_id, 'announcement', a.id, 'announcement', 'party', rs.party_id::text, rs.channel, "
      "    rs.address, 'zh-CN', a.title, a.body, jsonb_build_object ('announcement_id', a.id), "
      "    CASE WHEN rs.channel = 'inbox' THEN 'delivered' WHEN rs.why IS NOT NULL THEN 'not_sent' "
      "         ELSE 'queued' END, "
      "    CASE WHEN rs.channel <> 'inbox' AND rs.why IS NULL THEN a.created_at END, rs.why, "
      "    CASE WHEN rs.channel = 'inbox' THEN a.created_at END "
      /* no ON CONFLICT: the announcement is new and (party, channel) distinct,
       * so the unique key cannot clash, and speculative insertion cost every
       * row another probe of it (10-20% of the fan-out, bench/notify.sh) */
      "  FROM a CROSS JOIN rs "
      "  RETURNING channel, status) "
      "SELECT (" ANN_JSON ("a") "::jsonb || jsonb_build_object ('counts', " ANN_COUNTS ("n") "))::text, "
      "  (SELECT count (*) FROM n WHERE status = 'queued') "
      "FROM a", false },
    /* $1 pid, $2 cursor created_at, $3 cursor id, $4 limit + 1; newest first */
    { ST_ANN_LIST,
      "SELECT " ANN_JSON ("a") "::text, " DB_UTC_TS_US ("a.created_at") ", a.id "
      "FROM announcements a WHERE a.property_id = $1::uuid "
      "  AND ($2::timestamptz IS NULL OR a.created_at < $2::timestamptz "
      "       OR (a.created_at = $2::timestamptz AND a.id > $3::uuid)) "
      "ORDER BY a.created_at DESC, a.id LIMIT $4::int", true },
    { ST_ANN_GET,
      "SELECT (" ANN_JSON ("a") "::jsonb || jsonb_build_object ('counts', "
      ANN_COUNTS ("notifications WHERE source_id = a.id") "))::text "
      "FROM announcements a WHERE a.property_id = $1::uuid AND a.id = $2::uuid", true },
    /* notifications knows a property from tenants' events about its units */
    { ST_ANN_KNOWN, "SELECT 1 FROM units WHERE property_id = $1::uuid LIMIT 1", true },
};

int
nt_announcements_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

int
nt_property_known (nt_app_t *app, const env_request_t *req, const char *pid, env_reply_t *rep)
{
    PGresult *res = db_exec (app->db, ST_ANN_KNOWN, 1, (const char *[]) { pid });
    int rc = db_ok (res) && PQntuples (res) == 1 ? 0 : -1;
    if (rc != 0 && db_ok (res))
        env_reply_error (rep, 404, "not_found", NULL, "no such property (no unit of it is known yet)");
    else if (rc != 0)
        db_reply_error (res, rep, req->id);
    PQclear (res);
    return rc;
}

void
nt_announcements_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    PGresult *res = NULL;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    nt_announcement_input_t in;
    if (!nt_announcement_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid announcement");
        return;
    }
    if (nt_property_known (app, req, pid, rep) != 0)
        return;
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    res = db_query (app->db, "SET LOCAL statement_timeout = '" NT_ANN_STATEMENT_TIMEOUT "'; SET LOCAL jit = off");
    if (!db_ok (res)) {
        db_fail (app->db, req->id, rep, "announcement");
        goto out;
    }
    PQclear (res);
    const char *who = req->caller.user_id ? req->caller.user_id : "";
    const char *p[] = { pid, in.title, in.body, in.audience, in.aud.building, in.aud.use, in.channels, who };
    res = db_exec (app->db, ST_ANN_CREATE, 8, p);
    if (!db_one_row (app->db, res, rep, req->id, "announcement"))
        goto out;
    if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "announcement");
        goto out;
    }
    long queued = strtol (PQgetvalue (res, 0, 1), NULL, 10);
    if (queued > 0)
        nt_sender_kick (app->sender);
    log_info (req->id, "announcement to %s of %s: %ld queued for sms/email", in.aud.kind, pid, queued);
    db_reply_json (res, rep, req->id, 201, "announcement vanished");
    res = NULL;
out:
    PQclear (res);
}

void
nt_announcements_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_staff, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    page_time_id_t page;
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    const char *p[] = { pid, page.at, page.id, page.limit_plus_one };
    page_reply (db_exec (app->db, ST_ANN_LIST, 4, p), page.limit, 1, 2, rep, req->id);
}

void
nt_announcements_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_staff, rep);
    if (!pid)
        return;
    const char *id = env_param (req, "id");
    if (!id || !jv_is_uuid (id)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such announcement");
        return;
    }
    const char *p[] = { pid, id };
    db_reply_json (db_exec (app->db, ST_ANN_GET, 2, p), rep, req->id, 200, "no such announcement");
}
