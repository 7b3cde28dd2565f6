/* inbox: a staff member's in-app notifications (GET /v1/notifications):
 * the rows addressed to them (recipient_kind 'user') and to their role in
 * their properties (recipient_kind 'role'; an admin sees the managers' rows
 * of every property), channel 'inbox', newest first, with read marks per
 * user (notification_reads): a role's row read by one manager stays unread
 * for the others. */
#ifndef NT_INBOX_H
#define NT_INBOX_H

#include "notifications.h"

/* The statements of an inbox, the staff's (inbox.c) and a resident's
 * (me.c, GET /v1/me/notifications) alike: notifications n that `visible`
 * (SQL of n) lets the caller see, with the read marks of `reader` (SQL: the
 * notification_reads.user_id of the caller) as r. `note` is a macro of one
 * argument, the read_at expression, giving one row's JSON text: see
 * NT_INBOX_NOTE. */

/* A notification's JSON: id, property_id, then `extra` ("" or more
 * "'key', value, " pairs), event_type, title, body, link, created_at, read
 * and read_at (read_at: the SQL of when it was read, NULL when not). */
#define NT_INBOX_NOTE(extra, read_at)                                                               \
    "json_build_object ('id', n.id, 'property_id', n.property_id, " extra                           \
    "  'event_type', n.event_type, 'title', n.title, 'body', n.body, 'link', n.link, "              \
    "  'created_at', " DB_UTC_TS ("n.created_at") ", 'read', (" read_at ") IS NOT NULL, "           \
    "  'read_at', " DB_UTC_TS (read_at) ")::text"

/* A page newest first, keyset on (created_at, id) (page_time_id): the
 * note, then the cursor's two columns; `where` adds filters to visible; at,
 * id, limit: the parameters of the cursor and of the limit + 1. */
#define NT_INBOX_PAGE(note, visible, reader, where, at, id, limit)                                  \
    "SELECT " note ("r.read_at") ", " DB_UTC_TS_US ("n.created_at") ", n.id "                       \
    "FROM notifications n "                                                                         \
    "LEFT JOIN notification_reads r ON r.notification_id = n.id AND r.user_id = " reader " "        \
    "WHERE " visible " " where " "                                                                  \
    "  AND (" at "::timestamptz IS NULL OR (n.created_at, n.id) < (" at "::timestamptz, " id "::uuid)) " \
    "ORDER BY n.created_at DESC, n.id DESC LIMIT " limit "::int"

/* SQL true when the reader has not read n yet. */
#define NT_INBOX_UNREAD(reader)                                                                     \
    "NOT EXISTS (SELECT 1 FROM notification_reads r "                                               \
    "            WHERE r.notification_id = n.id AND r.user_id = " reader ")"

/* Marks notification `nid` (a parameter) read, once, and answers its note
 * with its first read_at; no row when the caller does not see it. */
#define NT_INBOX_READ(note, visible, reader, nid)                                                   \
    "WITH m AS (INSERT INTO notification_reads (notification_id, user_id) "                         \
    "           SELECT n.id, " reader " FROM notifications n WHERE n.id = " nid "::uuid AND " visible " " \
    "           ON CONFLICT DO NOTHING RETURNING read_at) "                                         \
    "SELECT " note ("coalesce ((SELECT read_at FROM m), r.read_at)") " "                            \
    "FROM notifications n "                                                                         \
    "LEFT JOIN notification_reads r ON r.notification_id = n.id AND r.user_id = " reader " "        \
    "WHERE n.id = " nid "::uuid AND " visible

int nt_inbox_prepare (db_t *db);

void nt_inbox_list (void *app, const env_request_t *req, env_reply_t *rep);
void nt_inbox_count (void *app, const env_request_t *req, env_reply_t *rep);
void nt_inbox_read (void *app, const env_request_t *req, env_reply_t *rep);
void nt_inbox_read_all (void *app, const env_request_t *req, env_reply_t *rep);

#endif
