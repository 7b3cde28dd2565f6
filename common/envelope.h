/* envelope: the JSON messages services exchange (DESIGN.md, "Messages"),
 * built and parsed here and nowhere else.
 *
 *   request {"v":1,"id","method","caller":{"user_id","role","property_ids"},
 *            "deadline":<epoch ms>,"body":{"params":{...},"data":...}
 *            [,"idempotency":{"key","fingerprint"}]}
 *   reply   {"v":1,"id","status":201,"body":{...}}
 *        or {"v":1,"id","status":409,"error":{"code","message","details"}}
 *   event   {"v":1,"id":<uuid>,"type","occurred_at","property_id","producer","seq","data"}
 *
 * A request body is always an object with "params" (path and query values,
 * all strings) and "data" (the client's JSON body, a CSV string, or null).
 * Schemas: proto/request.schema.json, reply.schema.json, event.schema.json. */
#ifndef PM_ENVELOPE_H
#define PM_ENVELOPE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define ENVELOPE_VERSION 1
#define ENVELOPE_ID_MAX  64          /* request ids: [A-Za-z0-9._-], 1..64 chars */
#define ENV_IDEM_KEY_MAX 255         /* an Idempotency-Key (API.md, Conventions) */
#define ENV_IDEM_FINGERPRINT_LEN 64  /* a SHA-256 in hex */

/* Who asks. property_ids is an array of strings; admin sees every property. */
typedef struct {
    const char *user_id;
    const char *role;                /* admin manager agent technician integration service */
    const cJSON *property_ids;
    const char *name;                /* the user's username or the key's name (shown on paper:
                                      * a receipt's cashier), or NULL */
    /* role "resident" (issue K) only: the parties (tenants' ids) the person
     * signed in as, an array of strings; NULL for everyone else. Who the
     * person is, never what they may reach: a service checks each unit
     * against its own current occupancies (DESIGN.md, "Residents' scope"). */
    const cJSON *party_ids;
} env_caller_t;

/* A parsed request; every pointer borrows from the parsed document. */
typedef struct {
    cJSON *root;                     /* owned: freed by env_request_destroy */
    const char *id;
    const char *method;
    int64_t deadline_ms;             /* epoch ms; 0 = none */
    env_caller_t caller;
    const cJSON *body;               /* object, never NULL */
    const cJSON *params;             /* object, never NULL */
    const cJSON *data;               /* may be NULL */
    /* the request's binary frame (mdp.h: a file's bytes, as they are), borrowed
     * from the message for the handler's run; NULL when it has none */
    const void *blob;
    size_t blob_len;
    /* the client's Idempotency-Key, passed on by the gateway once it claimed
     * it (common/idem.h), and the SHA-256 (hex) of the request it names: both
     * NULL, or both set */
    const char *idem_key;
    const char *idem_fingerprint;
} env_request_t;

/* What a handler answers: a success body or an error. */
typedef struct {
    int status;                      /* HTTP meaning */
    cJSON *body;                     /* success body (owned), may be NULL */
    const char *code;                /* error code of API.md, NULL on success */
    char message[256];
    cJSON *details;                  /* array of {"field","problem"} (owned), may be NULL */
    char *body_json;                 /* the body as JSON text (owned, may be NULL): set by
                                      * env_reply_text (then sent as is by env_reply_build)
                                      * or by env_reply_parse beside body; spares a re-print */
    /* a file answered as bytes (env_reply_blob): sent as the reply's binary
     * frame (mdp.h), body then {"content_type","filename","size"} */
    void *blob;                      /* owned (malloc), NULL when none */
    size_t blob_len;
} env_reply_t;

/* A growing JSON text, written directly (no cJSON tree) by a hot path that
 * knows its document's shape. Strings are escaped byte for byte as cJSON
 * prints them. Out of memory makes env_text_take answer NULL.
 *   env_text_t t = ENV_TEXT_INIT;
 *   env_text_put (&t, "{\"id\":"); env_text_string (&t, id); env_text_put (&t, "}");
 *   env_reply_text (rep, 200, env_text_take (&t)); */
typedef struct {
    char *buf;
    size_t len, cap;
    bool failed;
} env_text_t;
#define ENV_TEXT_INIT { NULL, 0, 0, false }

void env_text_append (env_text_t *t, const char *s, size_t n);
void env_text_put (env_text_t *t, const char *s);            /* raw text */
void env_text_string (env_text_t *t, const char *s);         /* a JSON string; NULL -> null */
/* The text (caller frees), or NULL when memory ran out; t is empty after. */
char *env_text_take (env_text_t *t);

/* Parses a request. Returns 0, or -1 with a reason in err (the message is
 * then answered with 400 by the caller). */
int env_request_parse (const char *json, size_t len, env_request_t *req, char err[128]);
void env_request_destroy (env_request_t *req);

/* Builds a request document; body is consumed (NULL means {}). Returns the
 * serialized JSON (caller frees). */
char *env_request_build (const char *id, const char *method, const env_caller_t *caller,
                         int64_t deadline_ms, cJSON *body);

/* The same with an Idempotency-Key and its request's fingerprint (both, or
 * both NULL: then exactly env_request_build). */
char *env_request_build_keyed (const char *id, const char *method, const env_caller_t *caller,
                               int64_t deadline_ms, const char *idem_key,
                               const char *idem_fingerprint, cJSON *body);

/* An Idempotency-Key as the contract allows it: 1..ENV_IDEM_KEY_MAX visible
 * ASCII characters; a fingerprint: ENV_IDEM_FINGERPRINT_LEN lowercase hex. */
bool env_idem_key_valid (const char *key);
bool env_idem_fingerprint_valid (const char *fingerprint);

/* A param as a string, or NULL. */
const char *env_param (const env_request_t *req, const char *name);

/* An optional query value (?status=): NULL when absent or empty, since an
 * empty filter is no filter. */
const char *env_query (const env_request_t *req, const char *name);

/* True when the caller may see this property (admin, "service", or listed).
 * Never for a resident: their property_ids say where their units were at
 * sign-in, a hint for pages, not a grant (env_caller_party_ids is). */
bool env_caller_has_property (const env_caller_t *caller, const char *property_id);

/* The path's {pid} when it is a UUID the caller may see, else NULL: answer
 * 404, since another's property does not exist for them. */
const char *env_visible_property (const env_request_t *req);

/* True when the caller's role is one of the NULL-terminated roles. */
bool env_role_in (const env_request_t *req, const char *const *roles);

/* Role sets the services name in their own checks (the gateway's route table
 * says the same per route; tests/blackbox/test_roles_matrix.py holds both to
 * proto/openapi.yaml's x-roles). */
extern const char *const env_roles_managers[];   /* admin manager */
extern const char *const env_roles_desk[];       /* admin manager agent */
extern const char *const env_roles_staff[];      /* admin manager agent technician */
extern const char *const env_roles_resident[];   /* resident */

/* Residents (issue K). True when the caller is a resident signed in by SMS
 * code (role "resident" with a party_ids array). */
bool env_caller_is_resident (const env_caller_t *caller);
/* A resident's party ids (an array of UUID strings, borrowed), or NULL for
 * anyone else. What a /v1/me handler matches against its own copy of the
 * current occupancies (unit_id, party_id, role, end_date IS NULL). */
const cJSON *env_caller_party_ids (const env_caller_t *caller);
/* The same as a JSON text ("[\"uuid\",...]", caller frees) for a
 * $1::jsonb / $1::uuid[] parameter, or NULL when not a resident (or out of
 * memory). */
char *env_caller_party_ids_json (const env_caller_t *caller);
/* True when party_id is one of a resident's parties. */
bool env_caller_has_party (const env_caller_t *caller, const char *party_id);
/* A /v1/me handler's first line: the resident's parties as
 * env_caller_party_ids_json gives them (caller frees), or NULL after
 * answering 403 (not a resident, or a resident without parties). */
char *env_resident_parties (const env_request_t *req, env_reply_t *rep);

/* A handler's role check, made by the service itself: a request on the bus
 * is not trusted to have passed the gateway's. True when the caller's role
 * is one of roles, else false after answering 403 forbidden. */
bool env_require_role (const env_request_t *req, const char *const *roles, env_reply_t *rep);

/* The first lines of a handler on a property's route: env_require_role, then
 * env_visible_property. The path's {pid}, or NULL after answering 403 (the
 * role) or 404 (a property the caller may not see), in the gateway's order. */
const char *env_property_scope (const env_request_t *req, const char *const *roles,
                                env_reply_t *rep);

/* The first lines of a handler on one resource's route (/properties/{pid}/
 * units/{uid}): env_require_role, then the visible {pid} and the path's
 * param as a UUID. The resource's id with *pid set, or NULL after answering
 * 403 (the role) or 404 "no such <what>" (another's property, or not a UUID). */
const char *env_resource_scope (const env_request_t *req, const char *const *roles,
                                const char *param, const char *what, env_reply_t *rep,
                                const char **pid);

/* Reply helpers. env_reply_ok consumes body. */
void env_reply_ok (env_reply_t *rep, int status, cJSON *body);
/* A success whose body is already JSON text (consumed; NULL answers 500:
 * the text could not be built). */
void env_reply_text (env_reply_t *rep, int status, char *json);
void env_reply_error (env_reply_t *rep, int status, const char *code, cJSON *details,
                      const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));
void env_reply_reset (env_reply_t *rep);     /* frees body, details and blob */
/* A success that is a file: len bytes (copied) of content_type, named
 * filename (UTF-8, may be NULL), go as the reply's binary frame; the body
 * says {"content_type","filename","size"}. 500 when out of memory. */
void env_reply_blob (env_reply_t *rep, int status, const char *content_type, const char *filename,
                     const void *bytes, size_t len);
/* A blob reply's media type and filename (borrowed from rep's body; NULL
 * when absent). The type is NULL too when rep carries no blob. */
const char *env_reply_blob_type (env_reply_t *rep);
const char *env_reply_blob_name (env_reply_t *rep);

/* Serializes a reply to JSON (caller frees). */
char *env_reply_build (const char *id, const env_reply_t *rep);

/* Parses a reply document into rep (rep->body / details become owned copies;
 * rep->body_json holds the body's text when it could be cut out as is). */
int env_reply_parse (const char *json, size_t len, char id[ENVELOPE_ID_MAX + 1], env_reply_t *rep);

/* As env_reply_parse, without a cJSON tree when json is a success printed
 * the way env_reply_build prints it ({"v":1,"id":"..","status":N,"body":..}
 * with a body a strict scan accepts): then rep->body_json holds the body's
 * text and rep->body is NULL (env_reply_body builds it). Anything else
 * (errors included) goes to env_reply_parse. For a caller that forwards the
 * body as text (the gateway). */
int env_reply_read (const char *json, size_t len, char id[ENVELOPE_ID_MAX + 1], env_reply_t *rep);

/* A success's body as a tree (owned by rep), parsed from rep->body_json on
 * first use; NULL when there is none or it does not parse. */
cJSON *env_reply_body (env_reply_t *rep);

/* The error body of API.md: {"error":{"code","message","details"},"request_id"}.
 * Returns serialized JSON (caller frees). */
char *env_error_body (const char *code, const char *message, const cJSON *details,
                      const char *request_id);

/* Default code for a status (404 -> "not_found", 503 -> "service_unavailable", ...). */
const char *env_status_code (int status);

/* True for a usable request id: 1..64 of [A-Za-z0-9._-]. */
bool env_id_valid (const char *id);

/* Epoch milliseconds now (CLOCK_REALTIME). */
int64_t env_now_ms (void);

/* Milliseconds of CLOCK_MONOTONIC: for intervals and timeouts, never for dates. */
int64_t env_mono_ms (void);

#endif
