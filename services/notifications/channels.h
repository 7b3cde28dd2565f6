/* channels: the adapter of each outgoing channel. An adapter turns one queued
 * message into a prepared libcurl easy handle (URL, headers, body, limits)
 * and, when the transfer ends, turns libcurl's result into a verdict the
 * sender records. The sender (sender.c) owns the queue, the multi handle and
 * the retries; adapters know only their protocol:
 *   webhook  POST of the signed event body to the subscriber's URL
 *   sms      POST {"to","text"} to the provider's HTTP API (PM_SMS_URL), or,
 *            without one, a JSON line appended to PM_SMS_FILE (the file
 *            provider: `make run` and the tests read the codes there)
 *   email    SMTP through libcurl (PM_SMTP_URL)
 * Also the pure pieces unit-tested without a network: the signature, the
 * backoff schedule and the RFC 2047 subject. */
#ifndef NT_CHANNELS_H
#define NT_CHANNELS_H

#include "netguard.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#define NT_RESPONSE_MAX      (64 * 1024)     /* response bytes read before giving up on the rest */
#define NT_SNIPPET_MAX       160             /* response bytes kept for last_error */
#define NT_SIGNATURE_MAX     72              /* "sha256=" + 64 hex + NUL */
#define NT_ERROR_MAX         256

typedef enum { NT_CH_WEBHOOK = 0, NT_CH_SMS, NT_CH_EMAIL } nt_channel_kind_t;

/* One queued message, copied out of its row (owned strings). */
typedef struct {
    nt_channel_kind_t kind;
    char id[40];                     /* delivery or notification id */
    int attempt;                     /* 1 for the first try */
    char *url, *secret, *event_type, *body;      /* webhook: body = the exact bytes signed */
    char *address, *title, *text;                /* sms, email */
} nt_message_t;

void nt_message_clear (nt_message_t *msg);

/* What the adapters read from the environment (sender.c fills it once). */
typedef struct {
    int64_t timeout_ms;              /* PM_WEBHOOK_TIMEOUT_MS: the whole transfer */
    bool allow_private;              /* PM_WEBHOOK_ALLOW_PRIVATE */
    bool allow_http;                 /* PM_WEBHOOK_ALLOW_HTTP: plain http to loopback */
    const char *sms_url, *sms_token; /* PM_SMS_URL, PM_SMS_TOKEN */
    const char *sms_file;            /* PM_SMS_FILE: used only when PM_SMS_URL is unset */
    const char *smtp_url, *smtp_from, *smtp_user, *smtp_password;
} nt_channel_config_t;

/* Why nothing of this kind can be sent with this configuration (no provider,
 * no sender address), or NULL when it can. The sender marks such messages
 * not_sent in bulk instead of taking them one by one. */
const char *nt_channel_unconfigured (const nt_channel_config_t *cfg, nt_channel_kind_t kind);

/* What a transfer needs while it runs; the adapter fills it, the sender
 * keeps it beside the easy handle and clears it at the end. */
typedef struct {
    CURL *easy;
    struct curl_slist *headers, *rcpt;
    char *payload;                   /* request body / mail message */
    size_t payload_len, payload_off;
    size_t received;                 /* response body bytes seen */
    bool truncated;                  /* the response passed NT_RESPONSE_MAX */
    char snippet[NT_SNIPPET_MAX + 1];
    bool guard, allow_private;       /* check the address connected to */
    bool loopback_only;              /* plain http: only to a loopback address */
    bool refused;                    /* the guard refused an address */
    ng_class_t refused_class;
    int64_t timeout_ms;
    char errbuf[CURL_ERROR_SIZE];
} nt_request_t;

typedef enum {
    NT_SENT = 0,                     /* delivered / sent */
    NT_RETRY,                        /* failed this time: the sender schedules another try */
    NT_FAILED,                       /* failed for good (a provider's 4xx) */
    NT_NOT_SENT                      /* cannot be sent at all: no provider, no address */
} nt_verdict_t;

typedef struct {
    nt_verdict_t verdict;
    long status;                     /* HTTP or SMTP status, 0 when none */
    char error[NT_ERROR_MAX];        /* why, without personal data; "" when sent */
} nt_outcome_t;

typedef struct {
    const char *name;
    /* Prepares req->easy (made by the caller) for msg. 0, or -1 with out
     * filled when the message cannot be sent (NT_NOT_SENT) or the handle
     * cannot be set up (NT_RETRY). */
    int (*prepare) (const nt_channel_config_t *cfg, const nt_message_t *msg, nt_request_t *req,
                    nt_outcome_t *out);
    /* The verdict for a finished transfer (rc from CURLMSG_DONE). */
    void (*interpret) (const nt_message_t *msg, nt_request_t *req, CURLcode rc, nt_outcome_t *out);
} nt_channel_t;

const nt_channel_t *nt_channel (nt_channel_kind_t kind);

/* Frees what prepare attached and the easy handle; req is zeroed. */
void nt_request_clear (nt_request_t *req);

/* "sha256=<hex HMAC-SHA256 of body keyed with secret>" into out. 0 or -1. */
int nt_webhook_sign (const char *secret, const void *body, size_t len, char out[NT_SIGNATURE_MAX]);

/* X-PM-Signature-V2: "sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">", the
 * timestamp being X-PM-Timestamp (unix seconds of this attempt), so that a
 * receiver that rejects old timestamps cannot be fed a captured delivery
 * again later. 0 or -1. */
int nt_webhook_sign_v2 (const char *secret, int64_t timestamp, const void *body, size_t len,
                        char out[NT_SIGNATURE_MAX]);

/* The wait before try attempt + 1 after attempt failed: base * 2^(attempt-1)
 * capped at cap, then "equal jitter": a value in [d/2, d] chosen by rnd. */
int64_t nt_backoff_ms (int attempt, int64_t base_ms, int64_t cap_ms, uint32_t rnd);

/* A header value as RFC 2047 encoded words (=?UTF-8?B?...?=), each at most
 * 75 characters, folded with CRLF SP, never splitting a UTF-8 sequence.
 * Caller frees; NULL on allocation failure. */
char *nt_rfc2047 (const char *utf8);

/* True for an address we may put in an SMTP envelope and a To: header. */
bool nt_email_valid (const char *addr);

/* The file provider (PM_SMS_FILE, when PM_SMS_URL is unset). True when it
 * is the one SMS goes to. */
bool nt_sms_file_used (const nt_channel_config_t *cfg);

/* One SMS as the file's line: {"to","text","at","id"} and a newline, "at"
 * RFC 3339 UTC of now_s. Caller frees; NULL when out of memory. */
char *nt_sms_file_line (const char *to, const char *text, const char *id, int64_t now_s);

/* Appends msg (an SMS) to path as one line: O_APPEND and one write(2), so
 * that lines of several writers (processes) never interleave. out: NT_SENT,
 * NT_NOT_SENT (no number), or NT_RETRY (the file cannot be written). */
void nt_sms_file_append (const char *path, const nt_message_t *msg, nt_outcome_t *out);

/* True for a phone number as an SMS API takes it: digits, '+', '-', spaces. */
bool nt_phone_valid (const char *phone);

/* The whole mail (headers, base64 body) with CRLF line ends. Caller frees. */
char *nt_email_message (const char *from, const char *to, const char *subject, const char *body,
                        const char *message_id, int64_t now_s);

#endif
