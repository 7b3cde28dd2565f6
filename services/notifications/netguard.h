/* netguard: which network addresses a webhook may reach. Outgoing webhook
 * requests go to URLs that outsiders chose; without this guard an
 * integration key could make the service probe or call the operator's own
 * network (loopback, RFC 1918, link-local cloud metadata at 169.254.169.254).
 * Pure functions: the address classifier and the URL check at creation.
 * The sender enforces the classifier on the address actually connected to
 * (CURLOPT_OPENSOCKETFUNCTION), which also defeats DNS rebinding. */
#ifndef NT_NETGUARD_H
#define NT_NETGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NG_URL_MAX 2048

typedef enum {
    NG_PUBLIC = 0,
    NG_LOOPBACK,                     /* 127/8, ::1, "localhost" */
    NG_PRIVATE,                      /* 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, fec0::/10 */
    NG_LINK_LOCAL,                   /* 169.254/16, fe80::/10 */
    NG_UNSPECIFIED,                  /* 0/8, :: */
    NG_MULTICAST,                    /* 224/4, ff00::/8 */
    NG_RESERVED                      /* 240/4, documentation and benchmark ranges, ... */
} ng_class_t;

/* A word for logs and error messages ("loopback", "private", ...). */
const char *ng_class_name (ng_class_t c);

/* ip: IPv4 address in network byte order (as in struct in_addr). */
ng_class_t ng_classify_ip4 (uint32_t ip);

/* addr: 16 bytes of an IPv6 address. IPv4-mapped (::ffff:a.b.c.d), NAT64
 * (64:ff9b::/96) and 6to4 (2002::/16) addresses are judged by the IPv4
 * address they carry. */
ng_class_t ng_classify_ip6 (const uint8_t addr[16]);

/* AF_INET or AF_INET6; anything else is NG_RESERVED. */
ng_class_t ng_classify (const struct sockaddr *sa, size_t len);

/* A literal host as a URL holds it ("10.0.0.1", "[::1]", "::1") or a name:
 * names are NG_PUBLIC except "localhost" and "*.localhost". */
ng_class_t ng_classify_host (const char *host);

/* True when a request may go to this class of address. */
bool ng_allowed (ng_class_t c, bool allow_private);

/* Checks a webhook URL: parses with curl_url, scheme http or https, a host,
 * no more than NG_URL_MAX bytes, and a literal host that is not refused
 * (allow_private off). 0, or -1 with a problem for the client in problem. */
int ng_url_check (const char *url, bool allow_private, char problem[160]);

/* The webhook rule on top of ng_url_check: https, or plain http only to a
 * loopback host (127/8, ::1, localhost) and only when allow_http
 * (PM_WEBHOOK_ALLOW_HTTP=1, for development and tests): an event body and
 * its signature never cross a network in clear. 0, or -1 with a problem. */
int ng_webhook_url_check (const char *url, bool allow_private, bool allow_http, char problem[160]);

/* True when url parses and its scheme is https (case-insensitive). The
 * sender sends anything else only with allow_http, and then connects only
 * to a loopback address. */
bool ng_url_is_https (const char *url);

#endif
