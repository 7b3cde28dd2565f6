/* attachments: tickets.attachments.* and tickets.me.tickets.attachments.*;
 * see attachments.h. Each handler: the route's gate (s_gate), the request's
 * own checks, the ticket as its caller may see it (tk_load), then one
 * statement. */
#include "attachments.h"

#include "filetype.h"
#include "log.h"
#include "page.h"
#include "ticket_store.h"
#include "tk_clock.h"

#include <stdio.h>
#include <stdlib.h>

/* An attachment as the API shows it (never its bytes). */
#define TK_ATT_JSON                                                                                  \
    "json_build_object ('id', a.id, 'ticket_id', a.ticket_id, 'content_type', a.content_type, "      \
    "'filename', a.filename, 'size', a.size, 'sha256', a.sha256, 'uploaded_by', a.uploaded_by, "     \
    "'created_at', " DB_UTC_TS ("a.created_at") ")::text"

static const db_statement_t s_statements[] = {
    /* size and digest of the bytes as stored, not as a client says */
    { "tk_att_insert",
      "WITH f AS (SELECT $5::bytea AS c) "
      "INSERT INTO attachments AS a (property_id, ticket_id, content_type, filename, size, sha256, "
      "  content, uploaded_by) "
      "SELECT $1::uuid, $2::uuid, $3::text, $4::text, octet_length (f.c), encode (sha256 (f.c), 'hex'), "
      "  f.c, $6::text FROM f "
      "RETURNING " TK_ATT_JSON, false },
    { "tk_att_list",
      "SELECT " TK_ATT_JSON ", " DB_UTC_TS_US ("a.created_at") ", a.id::text FROM attachments a "
      "WHERE a.property_id = $1::uuid AND a.ticket_id = $2::uuid "
      "  AND ($3::timestamptz IS NULL OR (a.created_at, a.id) < ($3::timestamptz, $4::uuid)) "
      "ORDER BY a.created_at DESC, a.id DESC LIMIT $5::int", true },
    { "tk_att_get",
      "SELECT a.content_type, a.filename, a.content FROM attachments a "
      "WHERE a.property_id = $1::uuid AND a.ticket_id = $2::uuid AND a.id = $3::uuid", true },
};

int
tk_attachments_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* The route a request came by: the staff's or a resident's. */
typedef enum { S_STAFF, S_RESIDENT } s_route_t;

/* The route's gate, before anything of the request is read (a caller who
 * may not is 403 whatever the body): the staff of the route's property, or
 * the resident role (tk_load, through tk_me_load, scopes their ticket).
 * False after answering. */
static bool
s_gate (s_route_t route, const env_request_t *req, env_reply_t *rep)
{
    if (route == S_RESIDENT)
        return env_require_role (req, env_roles_resident, rep);
    return env_property_scope (req, env_roles_staff, rep) != NULL;
}

/* The path's ticket for this caller (tk_load's rules: staff, or a resident
 * of its unit), its property into pid and its id into tid (copies: the row
 * is freed here); false after answering. */
static bool
s_ticket (tickets_t *app, const env_request_t *req, env_reply_t *rep, char pid[37], char tid[37])
{
    char now[40];
    const char *p;
    tk_time_param (tk_clock_now_us (), now);
    PGresult *cur = tk_load (app, req, rep, &p, now, false);
    if (!cur)
        return false;
    snprintf (pid, 37, "%s", p);
    snprintf (tid, 37, "%s", PQgetvalue (cur, 0, TK_C_ID));
    PQclear (cur);
    return true;
}

static void
s_create (tickets_t *app, const env_request_t *req, env_reply_t *rep)
{
    char pid[37], tid[37];
    filetype_upload_t up;
    /* the file first: a refused one costs no query */
    if (!filetype_upload (req, &up, rep))
        return;
    if (s_ticket (app, req, rep, pid, tid)) {
        const char *p[] = { pid, tid, up.type, up.name, up.hex, req->caller.user_id };
        PGresult *res = db_exec (app->db, "tk_att_insert", 6, p);
        if (db_ok (res))
            log_info (req->id, "attachment of %zu bytes added to ticket %s", req->blob_len, tid);
        db_reply_json (res, rep, req->id, 201, "no such ticket");
    }
    free (up.hex);
}

static void
s_list (tickets_t *app, const env_request_t *req, env_reply_t *rep)
{
    char pid[37], tid[37];
    page_time_id_t page;
    jv_t v = JV_INIT;
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    if (!s_ticket (app, req, rep, pid, tid))
        return;
    const char *p[] = { pid, tid, page.at, page.id, page.limit_plus_one };
    page_reply (db_exec (app->db, "tk_att_list", 5, p), page.limit, 1, 2, rep, req->id);
}

static void
s_get (tickets_t *app, const env_request_t *req, env_reply_t *rep)
{
    char pid[37], tid[37];
    const char *aid = env_param (req, "attachment_id");
    if (!aid || !jv_is_uuid (aid)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such attachment");
        return;
    }
    if (!s_ticket (app, req, rep, pid, tid))
        return;
    PGresult *res = db_exec (app->db, "tk_att_get", 3, (const char *[]) { pid, tid, aid });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such attachment");
    else
        filetype_reply_stored (rep, PQgetvalue (res, 0, 0), PQgetvalue (res, 0, 1),
                               PQgetvalue (res, 0, 2));
    PQclear (res);
}

/* The method table's handlers: a route's gate, then the path both share. */
#define S_HANDLER(name, route, path)                                                                 \
    void name (void *app, const env_request_t *req, env_reply_t *rep)                               \
    {                                                                                                \
        if (s_gate (route, req, rep))                                                                \
            path (app, req, rep);                                                                    \
    }

S_HANDLER (tk_attachments_create, S_STAFF, s_create)
S_HANDLER (tk_attachments_list, S_STAFF, s_list)
S_HANDLER (tk_attachments_get, S_STAFF, s_get)
S_HANDLER (tk_me_attachments_create, S_RESIDENT, s_create)
S_HANDLER (tk_me_attachments_list, S_RESIDENT, s_list)
S_HANDLER (tk_me_attachments_get, S_RESIDENT, s_get)
