/* faq: the standard answers of a property (答客问), searched by trigram
 * similarity (pg_trgm) with a substring fallback for short Chinese queries,
 * and their hit counts. All its SQL lives in faq.c. */
#ifndef TK_FAQ_H
#define TK_FAQ_H

#include "db.h"
#include "envelope.h"

#define FAQ_QUESTION_MAX 2000
#define FAQ_ANSWER_MAX   20000
#define FAQ_QUERY_MAX    200
#define FAQ_TAGS_MAX     20
#define FAQ_TAG_MAX      64
/* A search is one ranked page (proto/openapi.yaml, searchFaq): its own
 * ?limit= default and maximum, not the lists' 50 and 500. */
#define FAQ_LIMIT_DEFAULT 20
#define FAQ_LIMIT_MAX     100

/* Registers faq.c's statements; 0 or -1. */
int faq_prepare (db_t *db);

/* An inquiry was answered with entry faq_id: counts a hit. Inside the
 * caller's transaction. 1 counted, 0 no such entry in this property (answer
 * 422 on the faq_id field), -1 database error. */
int faq_record_hit (db_t *db, const char *property_id, const char *faq_id);

/* Handlers (app is the tickets service's tickets_t). */
void faq_create (void *app, const env_request_t *req, env_reply_t *rep);
void faq_search (void *app, const env_request_t *req, env_reply_t *rep);
void faq_get (void *app, const env_request_t *req, env_reply_t *rep);
void faq_update (void *app, const env_request_t *req, env_reply_t *rep);

#endif
