/* test_nt_webhooks: the pure parts of webhook delivery: the signature
 * against RFC 4231 HMAC-SHA256 vectors, the backoff schedule, the address
 * classifier (IPv4, IPv6, IPv4-mapped IPv6, NAT64, 6to4), the URL check,
 * the RFC 2047 subject and the mail message, and what each adapter prepares
 * (services/notifications/netguard.c and channels.c, included; no network).
 *
 * With PM_TEST_DISABLE_KEY=<api key id> (tests/blackbox/test_webhooks.py sets
 * it, with the Stack's PM_BROKER_ENDPOINT and keys), also calls the live
 * notifications.webhooks.disable_for_key through the broker, as the gateway: who may call it,
 * bad input, and that it disables PM_TEST_DISABLE_EXPECT webhooks once and
 * none the second time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/notifications/netguard.c"
#include "../../services/notifications/channels.c"

#include "client.h"
#include "curve.h"

/* ------------------------------------------------------------------ signature */

static void
test_signature_rfc4231 (void **state)
{
    (void) state;
    char sig[NT_SIGNATURE_MAX];
    /* RFC 4231 test case 2: a short key */
    const char *data = "what do ya want for nothing?";
    assert_int_equal (nt_webhook_sign ("Jefe", data, strlen (data), sig), 0);
    assert_string_equal (sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* test case 6: a key longer than the block (131 bytes of 0xaa) is hashed first */
    char key[132];
    memset (key, 0xaa, 131);
    key[131] = '\0';
    data = "Test Using Larger Than Block-Size Key - Hash Key First";
    assert_int_equal (nt_webhook_sign (key, data, strlen (data), sig), 0);
    assert_string_equal (sig, "sha256=60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* the body is signed as bytes: one byte more, another signature */
    char other[NT_SIGNATURE_MAX];
    assert_int_equal (nt_webhook_sign ("0123456789abcdef", "{\"a\":1}", 7, sig), 0);
    assert_int_equal (nt_webhook_sign ("0123456789abcdef", "{\"a\":1} ", 8, other), 0);
    assert_string_not_equal (sig, other);
    assert_int_equal (strlen (sig), 7 + 64);
    assert_int_equal (nt_webhook_sign (NULL, "x", 1, sig), -1);
}

/* V2: the timestamp, a dot, then the body (the vector computed with Python's hmac) */
static void
test_signature_v2 (void **state)
{
    (void) state;
    char sig[NT_SIGNATURE_MAX], v1[NT_SIGNATURE_MAX], later[NT_SIGNATURE_MAX];
    const char *key = "0123456789abcdef0123456789abcdef", *body = "{\"a\":1}";
    assert_int_equal (nt_webhook_sign_v2 (key, 1767225600, body, strlen (body), sig), 0);
    assert_string_equal (sig, "sha256=5a178d9c0a752b5853bf52551646d72a3506620c785b7cfaf493f8b2adddfbdd");
    /* the same as V1 over the string "<ts>.<body>" */
    assert_int_equal (nt_webhook_sign (key, "1767225600.{\"a\":1}", 18, v1), 0);
    assert_string_equal (sig, v1);
    /* another second, another signature: a replayed delivery keeps its old timestamp */
    assert_int_equal (nt_webhook_sign_v2 (key, 1767225601, body, strlen (body), later), 0);
    assert_string_not_equal (sig, later);
    assert_int_equal (nt_webhook_sign_v2 (NULL, 1, body, 1, sig), -1);
}

/* ------------------------------------------------------------------ backoff */

static void
test_backoff_schedule (void **state)
{
    (void) state;
    /* rnd 0 gives the low end d/2, a huge rnd at most d */
    assert_int_equal (nt_backoff_ms (1, 10000, 900000, 0), 5000);
    assert_int_equal (nt_backoff_ms (2, 10000, 900000, 0), 10000);
    assert_int_equal (nt_backoff_ms (3, 10000, 900000, 0), 20000);
    assert_int_equal (nt_backoff_ms (4, 10000, 900000, 0), 40000);
    assert_int_equal (nt_backoff_ms (1, 10000, 900000, 5000), 10000);
    /* capped: 10 s * 2^9 > 900 s */
    assert_int_equal (nt_backoff_ms (10, 10000, 900000, 0), 450000);
    assert_int_equal (nt_backoff_ms (10, 10000, 900000, 450000), 900000);
    /* no overflow however many attempts */
    assert_true (nt_backoff_ms (1000000, 10000, 900000, UINT32_MAX) <= 900000);
    assert_true (nt_backoff_ms (1000000, 10000, 900000, UINT32_MAX) >= 450000);
    /* always within [d/2, d] and growing on average */
    for (int a = 1; a < 20; a++)
        for (uint32_t r = 0; r < 2000000000u; r += 99999989u) {
            int64_t d = 10000;
            for (int i = 1; i < a && d < 900000; i++)
                d *= 2;
            if (d > 900000)
                d = 900000;
            int64_t v = nt_backoff_ms (a, 10000, 900000, r);
            assert_true (v >= d / 2 && v <= d);
        }
    /* nonsense in, sane out */
    assert_true (nt_backoff_ms (0, 0, 0, 7) >= 0);
    assert_true (nt_backoff_ms (-5, 200, 100, 7) <= 200);
    /* the default schedule reaches the 15 min cap well inside the 3 h window:
     * total wait of the first 12 tries at the low end */
    int64_t total = 0;
    for (int a = 1; a <= 12; a++)
        total += nt_backoff_ms (a, 10000, 900000, 0);
    assert_true (total > 3600000 / 2 && total < 10800000);
}

/* ------------------------------------------------------------------ classifier */

static ng_class_t
s_v4 (const char *s)
{
    struct in_addr a;
    assert_int_equal (inet_pton (AF_INET, s, &a), 1);
    return ng_classify_ip4 (a.s_addr);
}

static ng_class_t
s_v6 (const char *s)
{
    struct in6_addr a;
    assert_int_equal (inet_pton (AF_INET6, s, &a), 1);
    return ng_classify_ip6 (a.s6_addr);
}

static void
test_classify_ipv4 (void **state)
{
    (void) state;
    assert_int_equal (s_v4 ("127.0.0.1"), NG_LOOPBACK);
    assert_int_equal (s_v4 ("127.255.1.2"), NG_LOOPBACK);
    assert_int_equal (s_v4 ("10.1.2.3"), NG_PRIVATE);
    assert_int_equal (s_v4 ("172.16.0.1"), NG_PRIVATE);
    assert_int_equal (s_v4 ("172.31.255.255"), NG_PRIVATE);
    assert_int_equal (s_v4 ("172.32.0.1"), NG_PUBLIC);
    assert_int_equal (s_v4 ("172.15.255.255"), NG_PUBLIC);
    assert_int_equal (s_v4 ("192.168.1.1"), NG_PRIVATE);
    assert_int_equal (s_v4 ("100.64.0.1"), NG_PRIVATE);
    assert_int_equal (s_v4 ("100.128.0.1"), NG_PUBLIC);
    assert_int_equal (s_v4 ("169.254.169.254"), NG_LINK_LOCAL);
    assert_int_equal (s_v4 ("0.0.0.0"), NG_UNSPECIFIED);
    assert_int_equal (s_v4 ("224.0.0.1"), NG_MULTICAST);
    assert_int_equal (s_v4 ("255.255.255.255"), NG_RESERVED);
    assert_int_equal (s_v4 ("192.0.2.10"), NG_RESERVED);
    assert_int_equal (s_v4 ("8.8.8.8"), NG_PUBLIC);
    assert_int_equal (s_v4 ("114.114.114.114"), NG_PUBLIC);
    assert_int_equal (s_v4 ("11.0.0.1"), NG_PUBLIC);
}

static void
test_classify_ipv6 (void **state)
{
    (void) state;
    assert_int_equal (s_v6 ("::1"), NG_LOOPBACK);
    assert_int_equal (s_v6 ("::"), NG_UNSPECIFIED);
    assert_int_equal (s_v6 ("fe80::1"), NG_LINK_LOCAL);
    assert_int_equal (s_v6 ("fc00::1"), NG_PRIVATE);
    assert_int_equal (s_v6 ("fd12:3456::1"), NG_PRIVATE);
    assert_int_equal (s_v6 ("fec0::1"), NG_PRIVATE);
    assert_int_equal (s_v6 ("ff02::1"), NG_MULTICAST);
    assert_int_equal (s_v6 ("2001:db8::1"), NG_RESERVED);
    assert_int_equal (s_v6 ("2606:4700:4700::1111"), NG_PUBLIC);
    assert_int_equal (s_v6 ("2400:3200::1"), NG_PUBLIC);
    /* IPv4-mapped: judged by the IPv4 address inside */
    assert_int_equal (s_v6 ("::ffff:127.0.0.1"), NG_LOOPBACK);
    assert_int_equal (s_v6 ("::ffff:7f00:1"), NG_LOOPBACK);
    assert_int_equal (s_v6 ("::ffff:10.0.0.1"), NG_PRIVATE);
    assert_int_equal (s_v6 ("::ffff:169.254.169.254"), NG_LINK_LOCAL);
    assert_int_equal (s_v6 ("::ffff:8.8.8.8"), NG_PUBLIC);
    /* NAT64 and 6to4 carry an IPv4 address too */
    assert_int_equal (s_v6 ("64:ff9b::7f00:1"), NG_LOOPBACK);
    assert_int_equal (s_v6 ("64:ff9b::808:808"), NG_PUBLIC);
    assert_int_equal (s_v6 ("2002:c0a8:0101::1"), NG_PRIVATE);
    /* the deprecated IPv4-compatible form */
    assert_int_equal (s_v6 ("::127.0.0.1"), NG_RESERVED);
}

static void
test_classify_sockaddr_and_policy (void **state)
{
    (void) state;
    struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
    inet_pton (AF_INET6, "::ffff:192.168.0.5", &s6.sin6_addr);
    assert_int_equal (ng_classify ((struct sockaddr *) &s6, sizeof s6), NG_PRIVATE);
    struct sockaddr_in s4 = { .sin_family = AF_INET };
    inet_pton (AF_INET, "127.0.0.1", &s4.sin_addr);
    assert_int_equal (ng_classify ((struct sockaddr *) &s4, sizeof s4), NG_LOOPBACK);
    assert_int_equal (ng_classify ((struct sockaddr *) &s4, 2), NG_RESERVED);   /* short */
    assert_int_equal (ng_classify (NULL, 0), NG_RESERVED);
    struct sockaddr un = { .sa_family = AF_UNIX };
    assert_int_equal (ng_classify (&un, sizeof un), NG_RESERVED);

    assert_true (ng_allowed (NG_PUBLIC, false));
    assert_false (ng_allowed (NG_LOOPBACK, false));
    assert_false (ng_allowed (NG_PRIVATE, false));
    assert_false (ng_allowed (NG_LINK_LOCAL, false));
    assert_false (ng_allowed (NG_UNSPECIFIED, false));
    assert_true (ng_allowed (NG_LOOPBACK, true));
    assert_true (ng_allowed (NG_PRIVATE, true));
    assert_false (ng_allowed (NG_MULTICAST, true));
    assert_false (ng_allowed (NG_RESERVED, true));

    assert_int_equal (ng_classify_host ("localhost"), NG_LOOPBACK);
    assert_int_equal (ng_classify_host ("LocalHost."), NG_LOOPBACK);
    assert_int_equal (ng_classify_host ("api.localhost"), NG_LOOPBACK);
    assert_int_equal (ng_classify_host ("127.0.0.1."), NG_LOOPBACK);   /* found by the fuzzer */
    assert_int_equal (ng_classify_host ("[::1]"), NG_LOOPBACK);
    assert_int_equal (ng_classify_host ("[fe80::1%25eth0]"), NG_LINK_LOCAL);
    assert_int_equal (ng_classify_host ("[::ffff:127.0.0.1]"), NG_LOOPBACK);
    assert_int_equal (ng_classify_host ("erp.example.com"), NG_PUBLIC);
    assert_int_equal (ng_classify_host ("notlocalhost.com"), NG_PUBLIC);
    assert_int_equal (ng_classify_host (""), NG_RESERVED);
}

/* ------------------------------------------------------------------ URLs */

static void
test_url_check (void **state)
{
    (void) state;
    char p[160];
    assert_int_equal (ng_url_check ("https://erp.example.com/hooks/pm?x=1", false, p), 0);
    assert_int_equal (ng_url_check ("http://erp.example.com:8443/", false, p), 0);
    assert_int_equal (ng_url_check ("HTTPS://ERP.EXAMPLE.COM/", false, p), 0);
    assert_int_equal (ng_url_check ("not a url", false, p), -1);
    assert_int_equal (ng_url_check ("erp.example.com/hook", false, p), -1);
    assert_int_equal (ng_url_check ("ftp://erp.example.com/", false, p), -1);
    assert_non_null (strstr (p, "http"));
    assert_int_equal (ng_url_check ("file:///etc/passwd", false, p), -1);
    assert_int_equal (ng_url_check ("gopher://x.example.com/", false, p), -1);
    assert_int_equal (ng_url_check ("http://", false, p), -1);
    assert_int_equal (ng_url_check ("", false, p), -1);
    assert_int_equal (ng_url_check (NULL, false, p), -1);
    assert_int_equal (ng_url_check ("http://exa mple.com/", false, p), -1);
    assert_int_equal (ng_url_check ("http://example.com/\r\nX: y", false, p), -1);
    /* private and loopback literals: refused unless allowed */
    assert_int_equal (ng_url_check ("http://127.0.0.1:8080/hook", false, p), -1);
    assert_non_null (strstr (p, "loopback"));
    assert_int_equal (ng_url_check ("http://127.0.0.1:8080/hook", true, p), 0);
    assert_int_equal (ng_url_check ("http://localhost/hook", false, p), -1);
    assert_int_equal (ng_url_check ("http://[::1]/hook", false, p), -1);
    assert_int_equal (ng_url_check ("http://[::ffff:10.0.0.1]/hook", false, p), -1);
    assert_int_equal (ng_url_check ("http://169.254.169.254/latest/meta-data", false, p), -1);
    assert_int_equal (ng_url_check ("http://169.254.169.254/latest/meta-data", true, p), 0);
    assert_int_equal (ng_url_check ("http://192.168.1.10/", false, p), -1);
    assert_int_equal (ng_url_check ("http://224.0.0.1/", true, p), -1);   /* never */
    char longurl[NG_URL_MAX + 32] = "https://example.com/";
    memset (longurl + strlen (longurl), 'a', NG_URL_MAX);
    longurl[NG_URL_MAX + 10] = '\0';
    assert_int_equal (ng_url_check (longurl, false, p), -1);
}

/* https everywhere; plain http only to loopback, only when allowed */
static void
test_webhook_url_scheme (void **state)
{
    (void) state;
    char p[160];
    assert_int_equal (ng_webhook_url_check ("https://erp.example.com/hook", false, false, p), 0);
    assert_int_equal (ng_webhook_url_check ("HTTPS://ERP.EXAMPLE.COM/", false, false, p), 0);
    assert_int_equal (ng_webhook_url_check ("http://erp.example.com/hook", false, false, p), -1);
    assert_non_null (strstr (p, "https"));
    assert_int_equal (ng_webhook_url_check ("http://erp.example.com/hook", false, true, p), -1);
    assert_non_null (strstr (p, "loopback"));
    assert_int_equal (ng_webhook_url_check ("http://127.0.0.1:8080/hook", true, false, p), -1);
    assert_int_equal (ng_webhook_url_check ("http://127.0.0.1:8080/hook", true, true, p), 0);
    assert_int_equal (ng_webhook_url_check ("http://localhost:8080/hook", true, true, p), 0);
    assert_int_equal (ng_webhook_url_check ("http://[::1]:8080/hook", true, true, p), 0);
    /* private but not loopback: https only, whatever PM_WEBHOOK_ALLOW_HTTP says */
    assert_int_equal (ng_webhook_url_check ("http://10.1.2.3/hook", true, true, p), -1);
    assert_int_equal (ng_webhook_url_check ("https://10.1.2.3/hook", true, true, p), 0);
    /* loopback over http still needs PM_WEBHOOK_ALLOW_PRIVATE (the host rule comes first) */
    assert_int_equal (ng_webhook_url_check ("http://127.0.0.1/hook", false, true, p), -1);
    assert_non_null (strstr (p, "PM_WEBHOOK_ALLOW_PRIVATE"));
    assert_int_equal (ng_webhook_url_check ("ftp://erp.example.com/", true, true, p), -1);
    assert_int_equal (ng_webhook_url_check (NULL, true, true, p), -1);
    assert_true (ng_url_is_https ("https://x.example.com/"));
    assert_true (ng_url_is_https ("HTTPS://x.example.com/"));
    assert_false (ng_url_is_https ("http://x.example.com/"));
    assert_false (ng_url_is_https ("not a url"));
    assert_false (ng_url_is_https (NULL));
}

/* ------------------------------------------------------------------ mail */

static void
test_rfc2047_subject (void **state)
{
    (void) state;
    char *s = nt_rfc2047 ("Hi");
    assert_string_equal (s, "=?UTF-8?B?SGk=?=");
    free (s);
    s = nt_rfc2047 ("账单");          /* e8 b4 a6 e5 8d 95 */
    assert_string_equal (s, "=?UTF-8?B?6LSm5Y2V?=");
    free (s);
    s = nt_rfc2047 ("");
    assert_string_equal (s, "");
    free (s);
    /* long: several words, each <= 75 chars, folded, never splitting a character */
    char subj[400] = "";
    for (int i = 0; i < 40; i++)
        strcat (subj, "物业");
    s = nt_rfc2047 (subj);
    assert_non_null (s);
    int words = 0;
    for (char *w = s; (w = strstr (w, "=?UTF-8?B?")); w++) {
        char *end = strstr (w, "?=");
        assert_non_null (end);
        assert_true (end + 2 - w <= 75);
        /* each word decodes to whole characters: its raw length is a multiple of 3 here */
        size_t b64 = (size_t) (end - (w + 10));
        unsigned char raw[64];
        size_t rawlen = 0;
        assert_int_equal (sodium_base642bin (raw, sizeof raw, w + 10, b64, NULL, &rawlen, NULL,
                                             sodium_base64_VARIANT_ORIGINAL), 0);
        assert_int_equal (rawlen % 3, 0);
        words++;
    }
    assert_true (words >= 6);
    assert_non_null (strstr (s, "?=\r\n =?UTF-8?B?"));
    free (s);
}

static void
test_addresses_and_message (void **state)
{
    (void) state;
    assert_true (nt_email_valid ("zhang.san@example.com"));
    assert_false (nt_email_valid ("zhang san@example.com"));
    assert_false (nt_email_valid ("a@b.com>\r\nRCPT TO:<x@y.com"));
    assert_false (nt_email_valid ("@example.com"));
    assert_false (nt_email_valid ("nobody"));
    assert_false (nt_email_valid (NULL));
    assert_true (nt_phone_valid ("+86 138-0013-8000"));
    assert_true (nt_phone_valid ("13800138000"));
    assert_false (nt_phone_valid ("1380013800a"));
    assert_false (nt_phone_valid ("12"));
    assert_false (nt_phone_valid (""));

    char *m = nt_email_message ("noreply@pm.example.com", "owner@example.com", "账单 bill", "您好\n本月物业费",
                                "abc@pm.example.com", 0);
    assert_non_null (m);
    assert_non_null (strstr (m, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
    assert_non_null (strstr (m, "From: <noreply@pm.example.com>\r\n"));
    assert_non_null (strstr (m, "To: <owner@example.com>\r\n"));
    assert_non_null (strstr (m, "Subject: =?UTF-8?B?"));
    assert_non_null (strstr (m, "Content-Type: text/plain; charset=UTF-8\r\n"));
    assert_non_null (strstr (m, "Content-Transfer-Encoding: base64\r\n\r\n"));
    assert_null (strstr (m, "您好"));           /* the body travels as base64 */
    free (m);
}

/* ------------------------------------------------------------------ adapters */

static bool
s_has_header (const struct curl_slist *l, const char *want)
{
    for (; l; l = l->next)
        if (strcmp (l->data, want) == 0)
            return true;
    return false;
}

static void
test_adapters_prepare (void **state)
{
    (void) state;
    nt_channel_config_t cfg = { .timeout_ms = 1000 };
    nt_message_t msg = { .kind = NT_CH_WEBHOOK, .id = "0b8e6a52-3f0e-4d8e-9a51-6c1f2f0d7c11", .attempt = 2 };
    msg.url = strdup ("https://erp.example.com/hook");
    msg.secret = strdup ("Jefe");
    msg.event_type = strdup ("ticket.created");
    msg.body = strdup ("what do ya want for nothing?");
    nt_request_t req = { 0 };
    nt_outcome_t out = { 0 };
    req.easy = curl_easy_init ();
    assert_non_null (req.easy);
    assert_int_equal (nt_channel (NT_CH_WEBHOOK)->prepare (&cfg, &msg, &req, &out), 0);
    assert_true (req.guard);
    assert_false (req.allow_private);
    assert_true (s_has_header (req.headers, "X-PM-Event: ticket.created"));
    assert_true (s_has_header (req.headers, "X-PM-Delivery: 0b8e6a52-3f0e-4d8e-9a51-6c1f2f0d7c11"));
    assert_true (s_has_header (req.headers, "X-PM-Attempt: 2"));
    assert_true (s_has_header (req.headers, "Content-Type: application/json"));
    assert_true (s_has_header (
        req.headers, "X-PM-Signature: sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
    assert_int_equal (req.payload_len, strlen (msg.body));
    assert_false (req.loopback_only);
    /* X-PM-Timestamp is now, and V2 signs "<it>.<body>" */
    const char *ts = NULL, *v2 = NULL;
    for (const struct curl_slist *h = req.headers; h; h = h->next) {
        if (strncmp (h->data, "X-PM-Timestamp: ", 16) == 0)
            ts = h->data + 16;
        if (strncmp (h->data, "X-PM-Signature-V2: ", 19) == 0)
            v2 = h->data + 19;
    }
    assert_non_null (ts);
    assert_non_null (v2);
    long long when = strtoll (ts, NULL, 10);
    assert_true (llabs (when - (long long) time (NULL)) <= 2);
    char want[NT_SIGNATURE_MAX];
    assert_int_equal (nt_webhook_sign_v2 ("Jefe", when, msg.body, strlen (msg.body), want), 0);
    assert_string_equal (v2, want);
    nt_request_clear (&req);

    /* plain http: refused unless allowed, and then to loopback only */
    free (msg.url);
    msg.url = strdup ("http://127.0.0.1:9/hook");
    req.easy = curl_easy_init ();
    assert_int_equal (nt_channel (NT_CH_WEBHOOK)->prepare (&cfg, &msg, &req, &out), -1);
    assert_int_equal (out.verdict, NT_RETRY);
    assert_non_null (strstr (out.error, "PM_WEBHOOK_ALLOW_HTTP"));
    nt_request_clear (&req);
    cfg.allow_http = true;
    req.easy = curl_easy_init ();
    assert_int_equal (nt_channel (NT_CH_WEBHOOK)->prepare (&cfg, &msg, &req, &out), 0);
    assert_true (req.loopback_only);
    nt_request_clear (&req);
    cfg.allow_http = false;
    nt_message_clear (&msg);

    /* no provider: not_sent, naming the variable; never a request */
    nt_message_t sms = { .kind = NT_CH_SMS, .id = "x", .attempt = 1 };
    sms.address = strdup ("13800138000");
    sms.text = strdup ("hi");
    req.easy = curl_easy_init ();
    assert_int_equal (nt_channel (NT_CH_SMS)->prepare (&cfg, &sms, &req, &out), -1);
    assert_int_equal (out.verdict, NT_NOT_SENT);
    assert_non_null (strstr (out.error, "PM_SMS_URL"));
    cfg.sms_url = "https://sms.example.com/send";
    cfg.sms_token = "t0k";
    nt_request_clear (&req);
    req.easy = curl_easy_init ();
    assert_int_equal (nt_channel (NT_CH_SMS)->prepare (&cfg, &sms, &req, &out), 0);
    assert_false (req.guard);
    assert_true (s_has_header (req.headers, "Authorization: Bearer t0k"));
    assert_string_equal (req.payload, "{\"to\":\"13800138000\",\"text\":\"hi\"}");
    nt_request_clear (&req);
    nt_message_clear (&sms);

    nt_message_t mail = { .kind = NT_CH_EMAIL, .id = "y", .attempt = 1 };
    mail.address = strdup ("owner@example.com");
    mail.title = strdup ("账单");
    mail.text = strdup ("body");
    req.easy = curl_easy_init ();
    assert_int_equal (nt_channel (NT_CH_EMAIL)->prepare (&cfg, &mail, &req, &out), -1);
    assert_int_equal (out.verdict, NT_NOT_SENT);
    assert_non_null (strstr (out.error, "PM_SMTP_URL"));
    nt_request_clear (&req);
    cfg.smtp_url = "smtp://127.0.0.1:2525";
    req.easy = curl_easy_init ();
    assert_int_equal (nt_channel (NT_CH_EMAIL)->prepare (&cfg, &mail, &req, &out), -1);
    assert_non_null (strstr (out.error, "PM_SMTP_FROM"));
    nt_request_clear (&req);
    cfg.smtp_from = "noreply@pm.example.com";
    req.easy = curl_easy_init ();
    assert_int_equal (nt_channel (NT_CH_EMAIL)->prepare (&cfg, &mail, &req, &out), 0);
    assert_true (s_has_header (req.rcpt, "<owner@example.com>"));
    assert_non_null (strstr (req.payload, "Message-ID: <y@pm.example.com>"));
    nt_request_clear (&req);
    free (mail.address);
    mail.address = strdup ("a@b.com>\r\nRCPT TO:<c@d.com");
    req.easy = curl_easy_init ();
    assert_int_equal (nt_channel (NT_CH_EMAIL)->prepare (&cfg, &mail, &req, &out), -1);
    assert_int_equal (out.verdict, NT_NOT_SENT);
    nt_request_clear (&req);
    nt_message_clear (&mail);
    assert_null (nt_channel ((nt_channel_kind_t) 7));
}

/* ------------------------------------------------------------------ disable_for_key, live */

/* One call of notifications.webhooks.disable_for_key as (role, user) with
 * params {"key_id": key}; returns the status, and "disabled" in *n. */
static int
s_disable_call (const char *role, const char *user, const char *key, long *n)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON *params = cJSON_AddObjectToObject (body, "params");
    if (key)
        cJSON_AddStringToObject (params, "key_id", key);
    cJSON_AddNullToObject (body, "data");
    env_caller_t caller = { .user_id = user, .role = role, .property_ids = NULL };
    env_reply_t rep = { 0 };
    assert_int_equal (client_call ("notifications.webhooks.disable_for_key", &caller, "t-disable",
                                   env_now_ms () + 5000, body, &rep), 0);
    int status = rep.status;
    const cJSON *d = rep.body ? cJSON_GetObjectItem (rep.body, "disabled") : NULL;
    *n = cJSON_IsNumber (d) ? (long) d->valuedouble : -1;
    env_reply_reset (&rep);
    return status;
}

static void
test_disable_for_key_live (void **state)
{
    (void) state;
    const char *key = getenv ("PM_TEST_DISABLE_KEY"), *expect = getenv ("PM_TEST_DISABLE_EXPECT");
    if (!key || !*key)
        skip ();
    long n;
    /* on the CURVE bus as the gateway (the Stack's keys): the broker tells
     * notifications who sent each request, and "service" must name its sender */
    assert_int_equal (curve_init ("gateway"), 0);
    /* only the gateway, as a service: a user's request (which the gateway
     * also sends) is refused by the handler */
    assert_int_equal (s_disable_call ("admin", "gateway", key, &n), 403);
    assert_int_equal (s_disable_call ("integration", key, key, &n), 403);
    assert_int_equal (s_disable_call ("manager", "gateway", key, &n), 403);
    assert_int_equal (s_disable_call ("service", "gateway", "not-a-uuid", &n), 422);
    assert_int_equal (s_disable_call ("service", "gateway", NULL, &n), 422);
    /* the first call disables them, a second finds nothing left to do */
    assert_int_equal (s_disable_call ("service", "gateway", key, &n), 200);
    assert_int_equal (n, expect ? strtol (expect, NULL, 10) : 1);
    assert_int_equal (s_disable_call ("service", "gateway", key, &n), 200);
    assert_int_equal (n, 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_signature_rfc4231),
        cmocka_unit_test (test_signature_v2),
        cmocka_unit_test (test_backoff_schedule),
        cmocka_unit_test (test_classify_ipv4),
        cmocka_unit_test (test_classify_ipv6),
        cmocka_unit_test (test_classify_sockaddr_and_policy),
        cmocka_unit_test (test_url_check),
        cmocka_unit_test (test_webhook_url_scheme),
        cmocka_unit_test (test_rfc2047_subject),
        cmocka_unit_test (test_addresses_and_message),
        cmocka_unit_test (test_adapters_prepare),
        cmocka_unit_test (test_disable_for_key_live),
    };
    if (sodium_init () < 0 || curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    return cmocka_run_group_tests (tests, NULL, NULL);
}
