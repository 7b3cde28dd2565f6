/* cases: typical cases (典型案例), the resolved or closed tickets a manager
 * keeps for training with a summary and the lesson learnt; searched in
 * Chinese by trigram similarity as the FAQ is (faq.h), and turned into an
 * FAQ entry through the FAQ's own create (faq_create). All their SQL lives
 * in cases.c.
 *
 * One case per ticket: a second POST .../tickets/{tid}/case is 409
 * conflict (a case is corrected by a manager in the database, not yet
 * through the API). A case becomes an FAQ entry at most once (409 after). */
#ifndef TK_CASES_H
#define TK_CASES_H

#include "db.h"
#include "envelope.h"
#include "faq.h"
#include "jv.h"

#define CASE_SUMMARY_MAX FAQ_QUESTION_MAX     /* bytes: an FAQ question is made of it */
#define CASE_LESSON_MAX  FAQ_ANSWER_MAX       /* bytes: the FAQ answer */
#define CASE_TAGS_MAX    FAQ_TAGS_MAX
#define CASE_TAG_MAX     FAQ_TAG_MAX
#define CASE_QUERY_MAX   FAQ_QUERY_MAX        /* ?q= */

/* POST .../tickets/{tid}/case data: {"summary","lesson","tags"?}. */
typedef struct {
    const char *summary, *lesson;    /* borrowed from data */
    char *tags_text;                 /* JSON array text, the caller's to free (also after false) */
} case_input_t;

/* Pure: fills in or adds the problems to v; jv_ok (v). */
bool case_input (jv_t *v, const cJSON *data, case_input_t *in);

/* Registers cases.c's statements; 0 or -1. */
int cases_prepare (db_t *db);

/* Handlers (app is the tickets service's tickets_t): tickets.cases.create
 * (admin, manager), .list and .get (admin, manager, agent), .faq (admin,
 * manager: 201 {"case_id","faq_id","faq"}). */
void cases_create (void *app, const env_request_t *req, env_reply_t *rep);
void cases_list (void *app, const env_request_t *req, env_reply_t *rep);
void cases_get (void *app, const env_request_t *req, env_reply_t *rep);
void cases_to_faq (void *app, const env_request_t *req, env_reply_t *rep);

#endif
