/* netguard: the address classifier and the webhook URL check (netguard.h). */
#include "netguard.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *
ng_class_name (ng_class_t c)
{
    switch (c) {
    case NG_PUBLIC:      return "public";
    case NG_LOOPBACK:    return "loopback";
    case NG_PRIVATE:     return "private";
    case NG_LINK_LOCAL:  return "link-local";
    case NG_UNSPECIFIED: return "unspecified";
    case NG_MULTICAST:   return "multicast";
    case NG_RESERVED:    return "reserved";
    }
    return "reserved";
}

/* true when the top `bits` bits of ip (host order) equal those of net */
static bool
s_in4 (uint32_t ip, uint32_t net, int bits)
{
    uint32_t mask = bits == 0 ? 0 : 0xFFFFFFFFu << (32 - bits);
    return (ip & mask) == (net & mask);
}

ng_class_t
ng_classify_ip4 (uint32_t ip_net)
{
    uint32_t ip = ntohl (ip_net);
    if (s_in4 (ip, 0x00000000u, 8))      return NG_UNSPECIFIED;  /* 0/8 "this network" */
    if (s_in4 (ip, 0x7F000000u, 8))      return NG_LOOPBACK;     /* 127/8 */
    if (s_in4 (ip, 0x0A000000u, 8))      return NG_PRIVATE;      /* 10/8 */
    if (s_in4 (ip, 0xAC100000u, 12))     return NG_PRIVATE;      /* 172.16/12 */
    if (s_in4 (ip, 0xC0A80000u, 16))     return NG_PRIVATE;      /* 192.168/16 */
    if (s_in4 (ip, 0x64400000u, 10))     return NG_PRIVATE;      /* 100.64/10 carrier-grade NAT */
    if (s_in4 (ip, 0xA9FE0000u, 16))     return NG_LINK_LOCAL;   /* 169.254/16, cloud metadata */
    if (s_in4 (ip, 0xE0000000u, 4))      return NG_MULTICAST;    /* 224/4 */
    if (s_in4 (ip, 0xF0000000u, 4))      return NG_RESERVED;     /* 240/4 and broadcast */
    if (s_in4 (ip, 0xC0000000u, 24))     return NG_RESERVED;     /* 192.0.0/24 IETF */
    if (s_in4 (ip, 0xC0000200u, 24))     return NG_RESERVED;     /* 192.0.2/24 TEST-NET-1 */
    if (s_in4 (ip, 0xC6336400u, 24))     return NG_RESERVED;     /* 198.51.100/24 TEST-NET-2 */
    if (s_in4 (ip, 0xCB007100u, 24))     return NG_RESERVED;     /* 203.0.113/24 TEST-NET-3 */
    if (s_in4 (ip, 0xC6120000u, 15))     return NG_RESERVED;     /* 198.18/15 benchmarking */
    return NG_PUBLIC;
}

static ng_class_t
s_embedded4 (const uint8_t *p)
{
    uint32_t ip;
    memcpy (&ip, p, 4);              /* already network order */
    return ng_classify_ip4 (ip);
}

ng_class_t
ng_classify_ip6 (const uint8_t a[16])
{
    static const uint8_t zero[16] = { 0 };
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
    static const uint8_t nat64[12] = { 0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0 };
    if (memcmp (a, zero, 16) == 0)
        return NG_UNSPECIFIED;
    if (memcmp (a, zero, 15) == 0 && a[15] == 1)
        return NG_LOOPBACK;
    if (memcmp (a, mapped, 12) == 0 || memcmp (a, nat64, 12) == 0)
        return s_embedded4 (a + 12);
    if (memcmp (a, zero, 12) == 0)
        return NG_RESERVED;          /* ::a.b.c.d, the deprecated IPv4-compatible form */
    if (a[0] == 0x20 && a[1] == 0x02)
        return s_embedded4 (a + 2);  /* 6to4 2002:a.b.c.d::/48 */
    if ((a[0] & 0xFE) == 0xFC)
        return NG_PRIVATE;           /* fc00::/7 unique local */
    if (a[0] == 0xFE && (a[1] & 0xC0) == 0x80)
        return NG_LINK_LOCAL;        /* fe80::/10 */
    if (a[0] == 0xFE && (a[1] & 0xC0) == 0xC0)
        return NG_PRIVATE;           /* fec0::/10 site-local (deprecated) */
    if (a[0] == 0xFF)
        return NG_MULTICAST;
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0D && a[3] == 0xB8)
        return NG_RESERVED;          /* 2001:db8::/32 documentation */
    if (a[0] == 0x01 && memcmp (a + 1, zero, 7) == 0)
        return NG_RESERVED;          /* 100::/64 discard */
    return NG_PUBLIC;
}

ng_class_t
ng_classify (const struct sockaddr *sa, size_t len)
{
    if (!sa)
        return NG_RESERVED;
    if (sa->sa_family == AF_INET && len >= sizeof (struct sockaddr_in))
        return ng_classify_ip4 (((const struct sockaddr_in *) sa)->sin_addr.s_addr);
    if (sa->sa_family == AF_INET6 && len >= sizeof (struct sockaddr_in6))
        return ng_classify_ip6 (((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr);
    return NG_RESERVED;
}

ng_class_t
ng_classify_host (const char *host)
{
    if (!host || !*host)
        return NG_RESERVED;
    char buf[256];
    size_t n = strlen (host);
    if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n >= sizeof buf)
        return NG_PUBLIC;            /* a long name: judged when connecting */
    memcpy (buf, host, n);
    buf[n] = '\0';
    char *pct = strchr (buf, '%');   /* zone id of a link-local address */
    if (pct)
        *pct = '\0';
    n = strlen (buf);
    /* a trailing dot names the same host: "127.0.0.1." is loopback too */
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton (AF_INET, buf, &a4) == 1)
        return ng_classify_ip4 (a4.s_addr);
    if (inet_pton (AF_INET6, buf, &a6) == 1)
        return ng_classify_ip6 (a6.s6_addr);
    if (strcasecmp (buf, "localhost") == 0
        || (n > 10 && strcasecmp (buf + n - 10, ".localhost") == 0))
        return NG_LOOPBACK;
    return NG_PUBLIC;
}

bool
ng_allowed (ng_class_t c, bool allow_private)
{
    switch (c) {
    case NG_PUBLIC:
        return true;
    case NG_LOOPBACK:
    case NG_PRIVATE:
    case NG_LINK_LOCAL:
    case NG_UNSPECIFIED:             /* 0.0.0.0 reaches the local host on Linux */
        return allow_private;
    case NG_MULTICAST:
    case NG_RESERVED:
        break;                       /* never a web server, whatever the operator says */
    }
    return false;
}

int
ng_url_check (const char *url, bool allow_private, char problem[160])
{
    int rc = -1;
    char *scheme = NULL, *host = NULL;
    CURLU *u = NULL;
    if (!url || !*url) {
        snprintf (problem, 160, "is required");
        return -1;
    }
    if (strlen (url) > NG_URL_MAX) {
        snprintf (problem, 160, "is longer than %d bytes", NG_URL_MAX);
        return -1;
    }
    for (const char *p = url; *p; p++)
        if ((unsigned char) *p <= 0x20 || *p == 0x7F) {
            snprintf (problem, 160, "must not contain spaces or control characters");
            return -1;
        }
    u = curl_url ();
    if (!u) {
        snprintf (problem, 160, "cannot be checked now");
        return -1;
    }
    if (curl_url_set (u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
        snprintf (problem, 160, "is not a URL");
        goto out;
    }
    if (curl_url_get (u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
        || (strcasecmp (scheme, "http") != 0 && strcasecmp (scheme, "https") != 0)) {
        snprintf (problem, 160, "must be an http or https URL");
        goto out;
    }
    if (curl_url_get (u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
        snprintf (problem, 160, "must name a host");
        goto out;
    }
    ng_class_t c = ng_classify_host (host);
    if (!ng_allowed (c, allow_private)) {
        snprintf (problem, 160, "must not point to a %s address (PM_WEBHOOK_ALLOW_PRIVATE is off)",
                  ng_class_name (c));
        goto out;
    }
    rc = 0;
out:
    curl_free (scheme);
    curl_free (host);
    curl_url_cleanup (u);
    return rc;
}

/* The scheme and host of a URL curl_url accepts (caller curl_frees both), or -1. */
static int
s_scheme_host (const char *url, char **scheme, char **host)
{
    *scheme = *host = NULL;
    CURLU *u = url ? curl_url () : NULL;
    int rc = -1;
    if (u && curl_url_set (u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK
        && curl_url_get (u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK
        && curl_url_get (u, CURLUPART_HOST, host, 0) == CURLUE_OK && *host)
        rc = 0;
    curl_url_cleanup (u);
    return rc;
}

int
ng_webhook_url_check (const char *url, bool allow_private, bool allow_http, char problem[160])
{
    if (ng_url_check (url, allow_private, problem))
        return -1;
    char *scheme, *host;
    int rc = -1;
    if (s_scheme_host (url, &scheme, &host))
        snprintf (problem, 160, "is not a URL");
    else if (strcasecmp (scheme, "https") == 0)
        rc = 0;
    else if (!allow_http)
        snprintf (problem, 160, "must be an https URL");
    else if (ng_classify_host (host) != NG_LOOPBACK)
        snprintf (problem, 160, "must be an https URL (plain http only to a loopback host)");
    else
        rc = 0;
    curl_free (scheme);
    curl_free (host);
    return rc;
}

bool
ng_url_is_https (const char *url)
{
    char *scheme, *host;
    bool https = s_scheme_host (url, &scheme, &host) == 0 && strcasecmp (scheme, "https") == 0;
    curl_free (scheme);
    curl_free (host);
    return https;
}
