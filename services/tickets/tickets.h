/* tickets: the service desk (工单): tickets of every type, their workflows,
 * timeline, comments and follow-up calls; SLA, roster, FAQ and reports live
 * in sla.h, roster.h, faq.h. One worker process: one libuv loop, one broker
 * link, one PostgreSQL connection to schema "tickets". */
#ifndef TK_TICKETS_H
#define TK_TICKETS_H

#include "db.h"
#include "envelope.h"
#include "jv.h"
#include "outbox.h"
#include "sla.h"
#include "ticket_rules.h"
#include "workflow.h"

#include <stdbool.h>
#include <stdint.h>

#define TK_TITLE_MAX          500    /* bytes; the CHECKs of migrations/001_init.sql */
#define TK_TEXT_MAX           65536  /* description, note, comment body, answer */
#define TK_CATEGORY_MAX       64
#define TK_USER_ID_MAX        128    /* assignee ids are the gateway's user ids */
#define TK_UNIT_CODE_MAX      64     /* tenants' TN_UNIT_CODE_MAX */
#define TK_FEEDBACK_COMMENT_MAX 4000
#define TK_QUERY_MAX          100    /* ?q= */
#define TK_FEE_MAX            100000000000LL   /* fen: a billion yuan is a typo */
#define TK_NUMBER_TIMEZONE    "Asia/Shanghai"  /* the year of a ticket number */
#define TK_CALLBACK_AFTER_MIN_DEFAULT 60       /* PM_CALLBACK_AFTER_MINUTES */

/* What every handler gets as its app pointer. */
typedef struct {
    db_t *db;
    outbox_t *outbox;
    int64_t callback_after_s;        /* a resolved ticket waits this long for its follow-up call */
} tickets_t;

/* ticket_handlers.c */
void tk_tickets_create (void *app, const env_request_t *req, env_reply_t *rep);
void tk_tickets_list (void *app, const env_request_t *req, env_reply_t *rep);
void tk_tickets_get (void *app, const env_request_t *req, env_reply_t *rep);
void tk_callbacks_list (void *app, const env_request_t *req, env_reply_t *rep);
void tk_events_read (void *app, const env_request_t *req, env_reply_t *rep);
void tk_ping (void *app, const env_request_t *req, env_reply_t *rep);

/* ticket_actions.c */
void tk_actions_create (void *app, const env_request_t *req, env_reply_t *rep);
void tk_comments_create (void *app, const env_request_t *req, env_reply_t *rep);
void tk_feedback_create (void *app, const env_request_t *req, env_reply_t *rep);

/* --- shared by the handlers (ticket_handlers.c) --- */

/* The caller's role as the workflow knows it: admin and manager are
 * WF_MANAGER, technician WF_TECHNICIAN, anyone else at the desk WF_DESK. */
wf_role_t tk_role (const env_request_t *req);

/* The caller as the workflow sees them on a ticket assigned to assignee_id
 * (NULL: nobody); workflow.c decides what they may see and do. */
wf_actor_t tk_actor (const env_request_t *req, const char *assignee_id);

/* The end of a handler that writes: the events (an array of {"type","data"},
 * consumed) into the outbox, COMMIT, then the reply `status` with *body.
 * *body is consumed either way and NULLed. 0, or -1 after rolling back and
 * answering the error instead. */
int tk_commit_reply (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                     cJSON *events, int status, cJSON **body);

/* Appends {"type","data"} to events. data consumed. */
void tk_event (cJSON *events, const char *type, cJSON *data);

/* The ticket summary events carry, from a ticket's JSON (borrowed); its SQL
 * twin, for statements that write their own events, is TK_EVENT_SUMMARY. */
cJSON *tk_event_data (const cJSON *ticket);

/* RFC 3339 text with microseconds of a tk_clock_now_us () time
 * ("2026-11-27T03:14:00.123456Z"), as ticket_store takes times. */
const char *tk_time_param (int64_t us, char out[40]);

/* The path's ticket (one row of ticket_store's TK_C_* columns) for this
 * caller: a technician finds only the tickets assigned to them. NULL after
 * answering (404, or the database's error). now: tk_time_param text. */
PGresult *tk_load (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char **pid,
                   const char *now, bool for_update);

/* The ticket of a tk_load row with its "timeline" and "feedback", as GET
 * answers it; NULL on a database error. */
cJSON *tk_ticket_full (tickets_t *app, const char *pid, const PGresult *res);

/* --- the desk's paths a resident's handler reuses (me_tickets.h), after the
 * caller's role and input are checked: the create (the SLA terms, the insert
 * with its number, timeline and ticket.created; in->data borrowed; 0, or -1
 * after answering), an action (only_from: the status the ticket must be in,
 * else 409 invalid_transition; NULL: any the workflow allows) and the
 * follow-up feedback. The ticket is found by tk_load. --- */
int tk_ticket_create_in (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                         const tk_ticket_input_t *in);
/* The create's work in two steps, for a handler whose own transaction
 * opens a ticket (a patrol's failed check, an inspection's rectification):
 * tk_ticket_prepare before the transaction (the unit, party, timezone and
 * SLA terms, which may ask tenants: never inside a transaction; in is
 * borrowed until the insert), then tk_ticket_open inside it (the ticket with
 * its number, timeline and ticket.created in the outbox): its row (TK_C_*
 * columns). Each answers the error itself (-1 / NULL). The caller commits,
 * wakes the outbox and answers. */
typedef struct {
    const tk_ticket_input_t *in;
    const char *pid;
    int64_t now_us;
    char now[40], tz[64], unit_code[TK_UNIT_CODE_MAX + 1];
    sla_terms_t terms;
    char respond_min[16], resolve_min[16], warn_min[16], respond_by[40], resolve_by[40];
} tk_new_ticket_t;
int tk_ticket_prepare (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                       const tk_ticket_input_t *in, tk_new_ticket_t *nt);
PGresult *tk_ticket_open (tickets_t *app, const env_request_t *req, env_reply_t *rep, const tk_new_ticket_t *nt);
void tk_action_apply (tickets_t *app, const env_request_t *req, env_reply_t *rep,
                      const tk_action_input_t *in, const char *only_from);
void tk_feedback_record (tickets_t *app, const env_request_t *req, env_reply_t *rep,
                         const tk_feedback_input_t *in);

/* ticket_actions.c: the actions this caller may take on the ticket of row 0
 * of a tk_load/tk_ticket_get result now, as a JSON array of names. */
cJSON *tk_allowed_actions (const env_request_t *req, const PGresult *res);

#endif
