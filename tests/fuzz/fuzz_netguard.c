/* fuzz_netguard: the webhook URL guard (services/notifications/netguard.c).
 * The input is a URL as a client sends it in a webhook's "url"; it is checked
 * as at creation, with and without private addresses allowed, and its bytes
 * are also classified as raw IPv4/IPv6 addresses. A URL accepted with
 * private addresses off must not name a literal address the classifier
 * refuses: that is the guard's promise, checked here against curl's own
 * reading of the URL. */
#include "../../services/notifications/netguard.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The literal address curl sees in an accepted URL must be allowed. */
static void
s_check_accepted (const char *url)
{
    CURLU *u = curl_url ();
    char *host = NULL;
    if (u && curl_url_set (u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK
        && curl_url_get (u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) {
        char buf[256];
        size_t n = strlen (host);
        if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof buf) {
            memcpy (buf, host + 1, n - 2);
            buf[n - 2] = 0;
        }
        else
            snprintf (buf, sizeof buf, "%s", host);
        char *pct = strchr (buf, '%');
        if (pct)
            *pct = 0;
        size_t len = strlen (buf);
        if (len && buf[len - 1] == '.')
            buf[len - 1] = 0;        /* "127.0.0.1." is the same host */
        struct in_addr a4;
        struct in6_addr a6;
        if (inet_pton (AF_INET, buf, &a4) == 1 && !ng_allowed (ng_classify_ip4 (a4.s_addr), false)) {
            fprintf (stderr, "accepted %s: host %s is not public\n", url, host);
            abort ();
        }
        if (inet_pton (AF_INET6, buf, &a6) == 1 && !ng_allowed (ng_classify_ip6 (a6.s6_addr), false)) {
            fprintf (stderr, "accepted %s: host %s is not public\n", url, host);
            abort ();
        }
    }
    curl_free (host);
    curl_url_cleanup (u);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *url = malloc (size + 1);
    memcpy (url, data, size);
    url[size] = 0;
    char problem[160];
    if (ng_url_check (url, false, problem) == 0)
        s_check_accepted (url);
    (void) ng_url_check (url, true, problem);
    (void) ng_class_name (ng_classify_host (url));

    if (size >= 16) {
        struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
        memcpy (&s6.sin6_addr, data, 16);
        (void) ng_classify ((struct sockaddr *) &s6, sizeof s6);
    }
    if (size >= 4) {
        struct sockaddr_in s4 = { .sin_family = AF_INET };
        memcpy (&s4.sin_addr, data, 4);
        (void) ng_classify ((struct sockaddr *) &s4, sizeof s4);
    }
    free (url);
    return 0;
}
