/* attachments: tenants.unit_attachments.* and tenants.party_attachments.*;
 * see attachments.h. The two kinds differ only in their parent column and
 * their rules (s_kind_t); one set of handlers serves both. */
#include "attachments.h"

#include "filetype.h"
#include "log.h"
#include "party_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An attachment as the API shows it (never its bytes). */
#define TN_ATT_JSON                                                                                  \
    "json_build_object ('id', a.id, 'content_type', a.content_type, 'filename', a.filename, "        \
    "'size', a.size, 'sha256', a.sha256, 'uploaded_by', a.uploaded_by, "                             \
    "'created_at', " DB_UTC_TS ("a.created_at") ")::text"

/* size and digest of the bytes as stored, not as a client says; a parent
 * that is not in the property breaks the foreign key (23503: 404) */
#define TN_ATT_INSERT(col)                                                                           \
    "WITH f AS (SELECT $5::bytea AS c) "                                                             \
    "INSERT INTO attachments AS a (property_id, " col ", content_type, filename, size, sha256, "    \
    "  content, uploaded_by) "                                                                       \
    "SELECT $1::uuid, $2::uuid, $3::text, $4::text, octet_length (f.c), "                            \
    "  encode (sha256 (f.c), 'hex'), f.c, $6::text FROM f RETURNING " TN_ATT_JSON
#define TN_ATT_PARENT(table) "SELECT 1 FROM " table " WHERE property_id = $1::uuid AND id = $2::uuid"
#define TN_ATT_LIST(col)                                                                             \
    "SELECT " TN_ATT_JSON ", " DB_UTC_TS_US ("a.created_at") ", a.id::text FROM attachments a "      \
    "WHERE a.property_id = $1::uuid AND a." col " = $2::uuid "                                       \
    "  AND ($3::timestamptz IS NULL OR (a.created_at, a.id) < ($3::timestamptz, $4::uuid)) "         \
    "ORDER BY a.created_at DESC, a.id DESC LIMIT $5::int"
#define TN_ATT_GET(col)                                                                              \
    "SELECT a.content_type, a.filename, a.content FROM attachments a "                               \
    "WHERE a.property_id = $1::uuid AND a." col " = $2::uuid AND a.id = $3::uuid"

static const db_statement_t s_statements[] = {
    { "tn_att_unit_insert", TN_ATT_INSERT ("unit_id"), false },
    { "tn_att_unit_parent", TN_ATT_PARENT ("units"), true },
    { "tn_att_unit_list", TN_ATT_LIST ("unit_id"), true },
    { "tn_att_unit_get", TN_ATT_GET ("unit_id"), true },
    { "tn_att_party_insert", TN_ATT_INSERT ("party_id"), false },
    { "tn_att_party_parent", TN_ATT_PARENT ("parties"), true },
    { "tn_att_party_list", TN_ATT_LIST ("party_id"), true },
    { "tn_att_party_get", TN_ATT_GET ("party_id"), true },
};

int
tn_attachments_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* What tells a unit's files from a party's. */
typedef struct {
    const char *param, *what;        /* the path's parent id, and its name in a 404 */
    const char *const *writers, *const *readers;
    bool audited;                    /* a read of the bytes writes pii_reads */
    const char *insert, *parent, *list, *get;
} s_kind_t;

static const s_kind_t s_unit = { "uid", "unit", env_roles_staff, env_roles_staff, false,
                                 "tn_att_unit_insert", "tn_att_unit_parent", "tn_att_unit_list",
                                 "tn_att_unit_get" };
static const s_kind_t s_party = { "party_id", "party", env_roles_desk, env_roles_managers, true,
                                  "tn_att_party_insert", "tn_att_party_parent", "tn_att_party_list",
                                  "tn_att_party_get" };

static void
s_create (tenants_t *app, const s_kind_t *k, const env_request_t *req, env_reply_t *rep)
{
    const char *pid;
    const char *parent = env_resource_scope (req, k->writers, k->param, k->what, rep, &pid);
    filetype_upload_t up;
    if (!parent || !filetype_upload (req, &up, rep))
        return;
    const char *p[] = { pid, parent, up.type, up.name, up.hex, req->caller.user_id };
    PGresult *res = db_exec (app->db, k->insert, 6, p);
    free (up.hex);
    if (!db_ok (res) && strcmp (db_sqlstate (res), "23503") == 0) {
        env_reply_error (rep, 404, "not_found", NULL, "no such %s", k->what);
        PQclear (res);
        return;
    }
    if (db_ok (res))
        log_info (req->id, "attachment of %zu bytes added to %s %s", req->blob_len, k->what, parent);
    db_reply_json (res, rep, req->id, 201, "no such attachment");
}

/* Whether the path's parent is in the property; false after answering 404
 * or the database's error. */
static bool
s_parent_exists (tenants_t *app, const s_kind_t *k, const env_request_t *req, const char *pid,
                 const char *parent, env_reply_t *rep)
{
    PGresult *res = db_exec (app->db, k->parent, 2, (const char *[]) { pid, parent });
    bool found = db_ok (res) && PQntuples (res) == 1;
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (!found)
        env_reply_error (rep, 404, "not_found", NULL, "no such %s", k->what);
    PQclear (res);
    return found;
}

static void
s_list (tenants_t *app, const s_kind_t *k, const env_request_t *req, env_reply_t *rep)
{
    const char *pid;
    const char *parent = env_resource_scope (req, k->readers, k->param, k->what, rep, &pid);
    if (!parent)
        return;
    page_time_id_t page;
    jv_t v = JV_INIT;
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    if (!s_parent_exists (app, k, req, pid, parent, rep))
        return;
    const char *p[] = { pid, parent, page.at, page.id, page.limit_plus_one };
    page_reply (db_exec (app->db, k->list, 5, p), page.limit, 1, 2, rep, req->id);
}

/* The audit of a document read: one pii_reads row for the party, in the
 * open transaction. 0 or -1. */
static int
s_audit (tenants_t *app, const env_request_t *req, const char *pid, const char *party)
{
    char ids[40];
    snprintf (ids, sizeof ids, "{%s}", party);
    const char *user = req->caller.user_id && *req->caller.user_id ? req->caller.user_id : "unknown";
    PGresult *r = tn_pii_reads_insert (app->db, pid, ids, user, req->caller.role, req->id, req->method);
    int rc = db_ok (r) ? 0 : -1;
    PQclear (r);
    return rc;
}

static void
s_get (tenants_t *app, const s_kind_t *k, const env_request_t *req, env_reply_t *rep)
{
    const char *pid;
    const char *parent = env_resource_scope (req, k->readers, k->param, k->what, rep, &pid);
    if (!parent)
        return;
    const char *aid = env_param (req, "attachment_id");
    if (!aid || !jv_is_uuid (aid)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such attachment");
        return;
    }
    if (k->audited && db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    PGresult *res = db_exec (app->db, k->get, 3, (const char *[]) { pid, parent, aid });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such attachment");
    else if (k->audited && (s_audit (app, req, pid, parent) || db_commit (app->db)))
        db_fail (app->db, req->id, rep, "audit the read");
    else
        filetype_reply_stored (rep, PQgetvalue (res, 0, 0), PQgetvalue (res, 0, 1),
                               PQgetvalue (res, 0, 2));
    db_rollback (app->db);           /* whatever is still open; a no-op after the commit */
    PQclear (res);
}

void
tn_unit_attachments_create (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_create (app, &s_unit, req, rep);
}

void
tn_unit_attachments_list (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_list (app, &s_unit, req, rep);
}

void
tn_unit_attachments_get (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_get (app, &s_unit, req, rep);
}

void
tn_party_attachments_create (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_create (app, &s_party, req, rep);
}

void
tn_party_attachments_list (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_list (app, &s_party, req, rep);
}

void
tn_party_attachments_get (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_get (app, &s_party, req, rep);
}
