/* channels: webhook, sms and email adapters over libcurl (channels.h). */
#include "channels.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_CONNECT_TIMEOUT_MAX_MS 5000
#define S_USER_AGENT             "pm-notifications/1"

void
nt_message_clear (nt_message_t *msg)
{
    if (!msg)
        return;
    free (msg->url);
    free (msg->secret);
    free (msg->event_type);
    free (msg->body);
    free (msg->address);
    free (msg->title);
    free (msg->text);
    memset (msg, 0, sizeof *msg);
}

void
nt_request_clear (nt_request_t *req)
{
    if (!req)
        return;
    if (req->easy)
        curl_easy_cleanup (req->easy);
    curl_slist_free_all (req->headers);
    curl_slist_free_all (req->rcpt);
    free (req->payload);
    memset (req, 0, sizeof *req);
}

/* ------------------------------------------------------------------ pure parts */

/* HMAC-SHA256 keyed with secret of prefix (may be NULL) then body, as "sha256=<hex>". */
static int
s_sign (const char *secret, const char *prefix, const void *body, size_t len, char out[NT_SIGNATURE_MAX])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    if (!secret || (!body && len))
        return -1;
    /* the _init form takes a key of any length, as HMAC does */
    if (crypto_auth_hmacsha256_init (&st, (const unsigned char *) secret, strlen (secret))
        || (prefix && crypto_auth_hmacsha256_update (&st, (const unsigned char *) prefix, strlen (prefix)))
        || crypto_auth_hmacsha256_update (&st, body, len) || crypto_auth_hmacsha256_final (&st, mac))
        return -1;
    memcpy (out, "sha256=", 7);
    sodium_bin2hex (out + 7, NT_SIGNATURE_MAX - 7, mac, sizeof mac);
    sodium_memzero (&st, sizeof st);
    return 0;
}

int
nt_webhook_sign (const char *secret, const void *body, size_t len, char out[NT_SIGNATURE_MAX])
{
    return s_sign (secret, NULL, body, len, out);
}

int
nt_webhook_sign_v2 (const char *secret, int64_t timestamp, const void *body, size_t len,
                    char out[NT_SIGNATURE_MAX])
{
    char prefix[32];
    snprintf (prefix, sizeof prefix, "%lld.", (long long) timestamp);
    return s_sign (secret, prefix, body, len, out);
}

int64_t
nt_backoff_ms (int attempt, int64_t base_ms, int64_t cap_ms, uint32_t rnd)
{
    if (base_ms < 1)
        base_ms = 1;
    if (cap_ms < base_ms)
        cap_ms = base_ms;
    if (attempt < 1)
        attempt = 1;
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < cap_ms; i++)
        d *= 2;                      /* stops before it can overflow: d < cap before doubling */
    if (d > cap_ms)
        d = cap_ms;
    int64_t half = d / 2;
    return half + (int64_t) (rnd % (uint64_t) (d - half + 1));
}

/* length of the UTF-8 sequence starting with byte c (1 for a stray byte) */
static size_t
s_utf8_len (unsigned char c)
{
    if (c >= 0xF0 && c < 0xF8)
        return 4;
    if (c >= 0xE0)
        return c < 0xF0 ? 3 : 1;
    if (c >= 0xC0)
        return 2;
    return 1;
}

char *
nt_rfc2047 (const char *utf8)
{
    /* 75 = 10 ("=?UTF-8?B?") + 60 (45 bytes in base64) + 2 ("?="): 45 raw bytes a word */
    enum { RAW_MAX = 45 };
    size_t n = strlen (utf8 ? utf8 : "");
    /* a word carries at least RAW_MAX - 3 bytes (a sequence is never split) */
    size_t cap = (n / (RAW_MAX - 3) + 2) * (75 + 3) + 1;
    char *out = malloc (cap);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    if (n == 0) {
        out[0] = '\0';
        return out;
    }
    while (i < n) {
        size_t take = 0;
        while (i + take < n) {
            size_t l = s_utf8_len ((unsigned char) utf8[i + take]);
            if (i + take + l > n)
                l = n - i - take;
            if (take + l > RAW_MAX)
                break;
            take += l;
        }
        if (take == 0)
            take = 1;                /* unreachable with RAW_MAX >= 4; keeps the loop finite */
        if (o)
            o += (size_t) snprintf (out + o, cap - o, "\r\n ");
        o += (size_t) snprintf (out + o, cap - o, "=?UTF-8?B?");
        sodium_bin2base64 (out + o, cap - o, (const unsigned char *) utf8 + i, take,
                           sodium_base64_VARIANT_ORIGINAL);
        o += strlen (out + o);
        o += (size_t) snprintf (out + o, cap - o, "?=");
        i += take;
    }
    return out;
}

bool
nt_email_valid (const char *addr)
{
    if (!addr)
        return false;
    size_t n = strlen (addr);
    if (n < 3 || n > 254)
        return false;
    const char *at = strrchr (addr, '@');
    if (!at || at == addr || !at[1])
        return false;
    for (const char *p = addr; *p; p++) {
        unsigned char c = (unsigned char) *p;
        /* nothing that could end an SMTP command or a header, or quote */
        if (c <= 0x20 || c == 0x7F || strchr ("<>()[]\\,;:\"", c))
            return false;
    }
    return strchr (at + 1, '.') != NULL || strcmp (at + 1, "localhost") == 0;
}

bool
nt_phone_valid (const char *phone)
{
    if (!phone)
        return false;
    size_t digits = 0, n = strlen (phone);
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = phone[i];
        if (c >= '0' && c <= '9')
            digits++;
        else if (!(c == '+' || c == '-' || c == ' ' || c == '(' || c == ')'))
            return false;
    }
    return digits >= 5;
}

char *
nt_email_message (const char *from, const char *to, const char *subject, const char *body,
                  const char *message_id, int64_t now_s)
{
    char date[64];
    time_t t = (time_t) now_s;
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    char *subj = nt_rfc2047 (subject ? subject : "");
    if (!subj)
        return NULL;
    size_t blen = strlen (body ? body : "");
    size_t b64len = sodium_base64_ENCODED_LEN (blen, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc (b64len);
    char *out = NULL;
    if (!b64)
        goto out;
    sodium_bin2base64 (b64, b64len, (const unsigned char *) (body ? body : ""), blen,
                       sodium_base64_VARIANT_ORIGINAL);
    size_t enc = strlen (b64);
    size_t cap = 1024 + strlen (from) + strlen (to) + strlen (subj) + strlen (message_id)
                 + enc + (enc / 76 + 1) * 2;
    out = malloc (cap);
    if (!out)
        goto out;
    int o = snprintf (out, cap,
                      "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s>\r\n"
                      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                      "Content-Transfer-Encoding: base64\r\n\r\n",
                      date, from, to, subj, message_id);
    size_t off = (size_t) o;
    for (size_t i = 0; i < enc; i += 76) {
        size_t l = enc - i < 76 ? enc - i : 76;
        memcpy (out + off, b64 + i, l);
        off += l;
        out[off++] = '\r';
        out[off++] = '\n';
    }
    out[off] = '\0';
out:
    free (subj);
    free (b64);
    return out;
}

/* ------------------------------------------------------------------ curl glue */

static size_t
s_on_body (char *ptr, size_t size, size_t nmemb, void *arg)
{
    nt_request_t *req = arg;
    size_t len = size * nmemb;
    size_t have = strlen (req->snippet);
    if (have < NT_SNIPPET_MAX) {
        size_t take = len < NT_SNIPPET_MAX - have ? len : NT_SNIPPET_MAX - have;
        memcpy (req->snippet + have, ptr, take);
        req->snippet[have + take] = '\0';
    }
    if (req->received + len > NT_RESPONSE_MAX) {
        req->truncated = true;
        return 0;                    /* aborts the transfer: a huge answer is never buffered */
    }
    req->received += len;
    return len;
}

static size_t
s_on_read (char *buf, size_t size, size_t nitems, void *arg)
{
    nt_request_t *req = arg;
    size_t room = size * nitems, left = req->payload_len - req->payload_off;
    size_t n = left < room ? left : room;
    memcpy (buf, req->payload + req->payload_off, n);
    req->payload_off += n;
    return n;
}

/* The guard, where the address is known: the one curl is about to connect
 * to, after DNS, so a name that resolves to 127.0.0.1 is refused too. */
static curl_socket_t
s_on_open_socket (void *arg, curlsocktype purpose, struct curl_sockaddr *address)
{
    nt_request_t *req = arg;
    (void) purpose;
    if (req->guard) {
        ng_class_t c = ng_classify (&address->addr, address->addrlen);
        if (!ng_allowed (c, req->allow_private) || (req->loopback_only && c != NG_LOOPBACK)) {
            req->refused = true;
            req->refused_class = c;
            return CURL_SOCKET_BAD;
        }
    }
    return socket (address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* What every transfer gets: limits, no signals, the error buffer. */
static int
s_common (const nt_channel_config_t *cfg, nt_request_t *req, const char *protocols)
{
    CURL *e = req->easy;
    int64_t connect = cfg->timeout_ms < S_CONNECT_TIMEOUT_MAX_MS ? cfg->timeout_ms : S_CONNECT_TIMEOUT_MAX_MS;
    CURLcode rc = CURLE_OK;
    req->timeout_ms = cfg->timeout_ms;
    rc |= curl_easy_setopt (e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt (e, CURLOPT_ERRORBUFFER, req->errbuf);
    rc |= curl_easy_setopt (e, CURLOPT_PROTOCOLS_STR, protocols);
    rc |= curl_easy_setopt (e, CURLOPT_FOLLOWLOCATION, 0L);
    rc |= curl_easy_setopt (e, CURLOPT_TIMEOUT_MS, (long) cfg->timeout_ms);
    rc |= curl_easy_setopt (e, CURLOPT_CONNECTTIMEOUT_MS, (long) connect);
    rc |= curl_easy_setopt (e, CURLOPT_OPENSOCKETFUNCTION, s_on_open_socket);
    rc |= curl_easy_setopt (e, CURLOPT_OPENSOCKETDATA, req);
    rc |= curl_easy_setopt (e, CURLOPT_WRITEFUNCTION, s_on_body);
    rc |= curl_easy_setopt (e, CURLOPT_WRITEDATA, req);
    /* The multi handle pools connections by host and port. A connection the
     * guard never saw (SMS, email: the operator's own providers, maybe on a
     * private address) must not be left there for a webhook to the same
     * name to reuse: so only guarded connections are kept. */
    if (!req->guard)
        rc |= curl_easy_setopt (e, CURLOPT_FORBID_REUSE, 1L);
    return rc == CURLE_OK ? 0 : -1;
}

static int
s_setup_failed (nt_outcome_t *out)
{
    out->verdict = NT_RETRY;
    snprintf (out->error, sizeof out->error, "cannot set up the request");
    return -1;
}

/* libcurl's words for a failed transfer, cut to fit */
static void
s_curl_error (nt_outcome_t *out, CURLcode rc, const nt_request_t *req)
{
    if (snprintf (out->error, sizeof out->error, "%s%s%s", curl_easy_strerror (rc), req->errbuf[0] ? ": " : "",
                  req->errbuf) >= (int) sizeof out->error)
        out->error[sizeof out->error - 1] = '\0';
}

/* printable ASCII of a response, for last_error (never more than NT_SNIPPET_MAX) */
static void
s_clean_snippet (char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7E)
            *s = ' ';
}

/* The verdict of an HTTP transfer: 2xx sent; anything else retried. */
static void
s_http_interpret (nt_request_t *req, CURLcode rc, nt_outcome_t *out, int64_t timeout_ms)
{
    long status = 0;
    curl_easy_getinfo (req->easy, CURLINFO_RESPONSE_CODE, &status);
    out->status = status;
    out->error[0] = '\0';
    if (status >= 200 && status < 300 && (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && req->truncated))) {
        out->verdict = NT_SENT;
        return;
    }
    out->verdict = NT_RETRY;
    if (req->refused && req->loopback_only && ng_allowed (req->refused_class, req->allow_private))
        snprintf (out->error, sizeof out->error,
                  "refused to connect to a %s address over plain http (only loopback)",
                  ng_class_name (req->refused_class));
    else if (req->refused)
        snprintf (out->error, sizeof out->error,
                  "refused to connect to a %s address (PM_WEBHOOK_ALLOW_PRIVATE is off)",
                  ng_class_name (req->refused_class));
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        snprintf (out->error, sizeof out->error, "no answer within %lld ms", (long long) timeout_ms);
    else if (rc == CURLE_WRITE_ERROR && req->truncated)
        snprintf (out->error, sizeof out->error, "HTTP %ld with a response over %d bytes (not read)", status,
                  NT_RESPONSE_MAX);
    else if (rc != CURLE_OK)
        s_curl_error (out, rc, req);
    else {
        s_clean_snippet (req->snippet);
        snprintf (out->error, sizeof out->error, "HTTP %ld%s%s%s", status,
                  status >= 300 && status < 400 ? " (redirects are not followed)" : "",
                  req->snippet[0] ? ": " : "", req->snippet);
    }
}

/* ------------------------------------------------------------------ webhook */

static int
s_webhook_prepare (const nt_channel_config_t *cfg, const nt_message_t *msg, nt_request_t *req,
                   nt_outcome_t *out)
{
    char sig[NT_SIGNATURE_MAX], sig2[NT_SIGNATURE_MAX], h[256];
    size_t len = strlen (msg->body ? msg->body : "");
    /* the time of this attempt: a retry is signed anew, so a receiver's
     * "not older than 5 minutes" holds for every attempt */
    int64_t now = (int64_t) time (NULL);
    if (!msg->url || !msg->secret || !msg->body || nt_webhook_sign (msg->secret, msg->body, len, sig)
        || nt_webhook_sign_v2 (msg->secret, now, msg->body, len, sig2))
        return s_setup_failed (out);
    bool https = ng_url_is_https (msg->url);
    if (!https && !cfg->allow_http) {
        /* a webhook made while PM_WEBHOOK_ALLOW_HTTP was on, sent after it was turned off */
        out->verdict = NT_RETRY;
        snprintf (out->error, sizeof out->error, "plain http refused (PM_WEBHOOK_ALLOW_HTTP is off): "
                  "change the url to https");
        return -1;
    }
    req->guard = true;
    req->allow_private = cfg->allow_private;
    req->loopback_only = !https;
    req->payload = strdup (msg->body);
    if (!req->payload)
        return s_setup_failed (out);
    req->payload_len = len;
    struct curl_slist *l = NULL, *t;
#define S_ADD(...)                                                     \
    do {                                                               \
        snprintf (h, sizeof h, __VA_ARGS__);                           \
        if (!(t = curl_slist_append (l, h)))                           \
            goto fail;                                                 \
        l = t;                                                         \
    } while (0)
    S_ADD ("Content-Type: application/json");
    S_ADD ("User-Agent: %s", S_USER_AGENT);
    S_ADD ("X-PM-Event: %s", msg->event_type ? msg->event_type : "");
    S_ADD ("X-PM-Delivery: %s", msg->id);
    S_ADD ("X-PM-Attempt: %d", msg->attempt);
    S_ADD ("X-PM-Signature: %s", sig);
    S_ADD ("X-PM-Timestamp: %lld", (long long) now);
    S_ADD ("X-PM-Signature-V2: %s", sig2);
    S_ADD ("Expect:");               /* no 100-continue round trip */
#undef S_ADD
    req->headers = l;
    CURL *e = req->easy;
    CURLcode rc = CURLE_OK;
    if (s_common (cfg, req, https ? "https" : "http"))
        return s_setup_failed (out);
    rc |= curl_easy_setopt (e, CURLOPT_URL, msg->url);
    /* the guard must see the receiver's address, not a proxy's */
    rc |= curl_easy_setopt (e, CURLOPT_PROXY, "");
    rc |= curl_easy_setopt (e, CURLOPT_HTTPHEADER, req->headers);
    rc |= curl_easy_setopt (e, CURLOPT_POSTFIELDS, req->payload);
    rc |= curl_easy_setopt (e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->payload_len);
    return rc == CURLE_OK ? 0 : s_setup_failed (out);
fail:
    curl_slist_free_all (l);
    return s_setup_failed (out);
}

static void
s_webhook_interpret (const nt_message_t *msg, nt_request_t *req, CURLcode rc, nt_outcome_t *out)
{
    (void) msg;
    s_http_interpret (req, rc, out, req->timeout_ms);
}

/* ------------------------------------------------------------------ sms */

const char *
nt_channel_unconfigured (const nt_channel_config_t *cfg, nt_channel_kind_t kind)
{
    if (kind == NT_CH_SMS && (!cfg->sms_url || !*cfg->sms_url) && !nt_sms_file_used (cfg))
        return "no SMS provider: neither PM_SMS_URL nor PM_SMS_FILE is set";
    if (kind == NT_CH_EMAIL && (!cfg->smtp_url || !*cfg->smtp_url))
        return "no mail server: PM_SMTP_URL is not set";
    if (kind == NT_CH_EMAIL && (!cfg->smtp_from || !nt_email_valid (cfg->smtp_from)))
        return "no sender address: PM_SMTP_FROM is not set or not an address";
    return NULL;
}

bool
nt_sms_file_used (const nt_channel_config_t *cfg)
{
    return cfg && (!cfg->sms_url || !*cfg->sms_url) && cfg->sms_file && *cfg->sms_file;
}

char *
nt_sms_file_line (const char *to, const char *text, const char *id, int64_t now_s)
{
    char at[32];
    time_t t = (time_t) now_s;
    struct tm tm;
    if (!gmtime_r (&t, &tm) || !strftime (at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf (at, sizeof at, "1970-01-01T00:00:00Z");
    cJSON *doc = cJSON_CreateObject ();
    if (!doc || !cJSON_AddStringToObject (doc, "to", to ? to : "")
        || !cJSON_AddStringToObject (doc, "text", text ? text : "") || !cJSON_AddStringToObject (doc, "at", at)
        || !cJSON_AddStringToObject (doc, "id", id ? id : "")) {
        cJSON_Delete (doc);
        return NULL;
    }
    /* cJSON escapes control characters: a text's newline stays inside its line */
    char *json = cJSON_PrintUnformatted (doc);
    cJSON_Delete (doc);
    if (!json)
        return NULL;
    size_t n = strlen (json);
    char *line = realloc (json, n + 2);
    if (!line) {
        free (json);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = 0;
    return line;
}

void
nt_sms_file_append (const char *path, const nt_message_t *msg, nt_outcome_t *out)
{
    memset (out, 0, sizeof *out);
    if (!msg->address || !*msg->address || !nt_phone_valid (msg->address)) {
        out->verdict = NT_NOT_SENT;
        snprintf (out->error, sizeof out->error, "not a phone number");
        return;
    }
    char text[4400];
    if (msg->title && *msg->title)
        snprintf (text, sizeof text, "%s\n%s", msg->title, msg->text ? msg->text : "");
    else
        snprintf (text, sizeof text, "%s", msg->text ? msg->text : "");
    char *line = nt_sms_file_line (msg->address, text, msg->id, (int64_t) time (NULL));
    if (!line) {
        out->verdict = NT_RETRY;
        snprintf (out->error, sizeof out->error, "out of memory");
        return;
    }
    size_t len = strlen (line);
    int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    ssize_t w = fd >= 0 ? write (fd, line, len) : -1;
    int err = errno;
    if (fd >= 0)
        close (fd);
    free (line);
    if (w == (ssize_t) len) {
        out->verdict = NT_SENT;
        return;
    }
    /* the path is the operator's, not personal: it may be said */
    out->verdict = NT_RETRY;
    snprintf (out->error, sizeof out->error, "cannot append to PM_SMS_FILE: %s",
              w < 0 ? strerror (err) : "short write");
}

static int
s_sms_prepare (const nt_channel_config_t *cfg, const nt_message_t *msg, nt_request_t *req, nt_outcome_t *out)
{
    out->verdict = NT_NOT_SENT;
    const char *why = nt_channel_unconfigured (cfg, NT_CH_SMS);
    if (why) {
        snprintf (out->error, sizeof out->error, "%s", why);
        return -1;
    }
    if (!msg->address || !*msg->address) {
        snprintf (out->error, sizeof out->error, "no phone number");
        return -1;
    }
    if (!nt_phone_valid (msg->address)) {
        snprintf (out->error, sizeof out->error, "not a phone number");
        return -1;
    }
    cJSON *doc = cJSON_CreateObject ();
    char text[4400];
    if (msg->title && *msg->title)
        snprintf (text, sizeof text, "%s\n%s", msg->title, msg->text ? msg->text : "");
    else
        snprintf (text, sizeof text, "%s", msg->text ? msg->text : "");
    if (!doc || !cJSON_AddStringToObject (doc, "to", msg->address) || !cJSON_AddStringToObject (doc, "text", text)) {
        cJSON_Delete (doc);
        return s_setup_failed (out);
    }
    req->payload = cJSON_PrintUnformatted (doc);
    cJSON_Delete (doc);
    if (!req->payload)
        return s_setup_failed (out);
    req->payload_len = strlen (req->payload);
    struct curl_slist *l = curl_slist_append (NULL, "Content-Type: application/json"), *t;
    if (!l)
        return s_setup_failed (out);
    req->headers = l;
    if (cfg->sms_token && *cfg->sms_token) {
        size_t n = strlen (cfg->sms_token) + 32;
        char *h = malloc (n);
        if (!h)
            return s_setup_failed (out);
        snprintf (h, n, "Authorization: Bearer %s", cfg->sms_token);
        t = curl_slist_append (l, h);
        sodium_memzero (h, n);
        free (h);
        if (!t)
            return s_setup_failed (out);
    }
    if (!(t = curl_slist_append (l, "Expect:")))
        return s_setup_failed (out);
    CURL *e = req->easy;
    CURLcode rc = CURLE_OK;
    if (s_common (cfg, req, "http,https"))
        return s_setup_failed (out);
    rc |= curl_easy_setopt (e, CURLOPT_URL, cfg->sms_url);
    rc |= curl_easy_setopt (e, CURLOPT_USERAGENT, S_USER_AGENT);
    rc |= curl_easy_setopt (e, CURLOPT_HTTPHEADER, req->headers);
    rc |= curl_easy_setopt (e, CURLOPT_POSTFIELDS, req->payload);
    rc |= curl_easy_setopt (e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->payload_len);
    return rc == CURLE_OK ? 0 : s_setup_failed (out);
}

static void
s_sms_interpret (const nt_message_t *msg, nt_request_t *req, CURLcode rc, nt_outcome_t *out)
{
    (void) msg;
    s_http_interpret (req, rc, out, req->timeout_ms);
    /* the provider refused this message itself: trying again will not help */
    if (out->verdict == NT_RETRY && out->status >= 400 && out->status < 500 && out->status != 408
        && out->status != 429)
        out->verdict = NT_FAILED;
}

/* ------------------------------------------------------------------ email */

static int
s_email_prepare (const nt_channel_config_t *cfg, const nt_message_t *msg, nt_request_t *req,
                 nt_outcome_t *out)
{
    out->verdict = NT_NOT_SENT;
    const char *why = nt_channel_unconfigured (cfg, NT_CH_EMAIL);
    if (why) {
        snprintf (out->error, sizeof out->error, "%s", why);
        return -1;
    }
    if (!msg->address || !*msg->address) {
        snprintf (out->error, sizeof out->error, "no email address");
        return -1;
    }
    if (!nt_email_valid (msg->address)) {
        snprintf (out->error, sizeof out->error, "not an email address");
        return -1;
    }
    char mid[96], box[300];
    const char *dom = strrchr (cfg->smtp_from, '@') + 1;
    snprintf (mid, sizeof mid, "%s@%s", msg->id, dom);
    req->payload = nt_email_message (cfg->smtp_from, msg->address, msg->title, msg->text, mid,
                                     (int64_t) time (NULL));
    if (!req->payload)
        return s_setup_failed (out);
    req->payload_len = strlen (req->payload);
    snprintf (box, sizeof box, "<%s>", msg->address);
    if (!(req->rcpt = curl_slist_append (NULL, box)))
        return s_setup_failed (out);
    CURL *e = req->easy;
    CURLcode rc = CURLE_OK;
    if (s_common (cfg, req, "smtp,smtps"))
        return s_setup_failed (out);
    snprintf (box, sizeof box, "<%s>", cfg->smtp_from);
    rc |= curl_easy_setopt (e, CURLOPT_URL, cfg->smtp_url);
    rc |= curl_easy_setopt (e, CURLOPT_MAIL_FROM, box);
    rc |= curl_easy_setopt (e, CURLOPT_MAIL_RCPT, req->rcpt);
    rc |= curl_easy_setopt (e, CURLOPT_UPLOAD, 1L);
    rc |= curl_easy_setopt (e, CURLOPT_READFUNCTION, s_on_read);
    rc |= curl_easy_setopt (e, CURLOPT_READDATA, req);
    /* smtps:// is TLS from the start; on smtp:// STARTTLS when the server offers
     * it, and required when there is a password to send */
    bool login = cfg->smtp_user && *cfg->smtp_user;
    rc |= curl_easy_setopt (e, CURLOPT_USE_SSL, (long) (login ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    if (login) {
        rc |= curl_easy_setopt (e, CURLOPT_USERNAME, cfg->smtp_user);
        rc |= curl_easy_setopt (e, CURLOPT_PASSWORD, cfg->smtp_password ? cfg->smtp_password : "");
    }
    return rc == CURLE_OK ? 0 : s_setup_failed (out);
}

static void
s_email_interpret (const nt_message_t *msg, nt_request_t *req, CURLcode rc, nt_outcome_t *out)
{
    (void) msg;
    long status = 0;
    curl_easy_getinfo (req->easy, CURLINFO_RESPONSE_CODE, &status);
    out->status = status;
    out->error[0] = '\0';
    if (rc == CURLE_OK) {
        out->verdict = NT_SENT;
        return;
    }
    out->verdict = NT_RETRY;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        snprintf (out->error, sizeof out->error, "no answer from the mail server within %lld ms",
                  (long long) req->timeout_ms);
    else
        s_curl_error (out, rc, req);
    /* a 5xx reply to RCPT or DATA: the server refuses this message for good */
    if ((rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_WEIRD_SERVER_REPLY)
        && status >= 500 && status < 600)
        out->verdict = NT_FAILED;
}

/* ------------------------------------------------------------------ table */

static const nt_channel_t s_channels[] = {
    [NT_CH_WEBHOOK] = { "webhook", s_webhook_prepare, s_webhook_interpret },
    [NT_CH_SMS] = { "sms", s_sms_prepare, s_sms_interpret },
    [NT_CH_EMAIL] = { "email", s_email_prepare, s_email_interpret },
};

const nt_channel_t *
nt_channel (nt_channel_kind_t kind)
{
    if ((unsigned) kind >= sizeof s_channels / sizeof s_channels[0])
        return NULL;
    return &s_channels[kind];
}
