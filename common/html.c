/* html: escaping for the pages the services print (see html.h). */
#include "html.h"

#include "jv.h"

#include <stdlib.h>
#include <string.h>

#define HTML_REPLACEMENT "\xEF\xBF\xBD"   /* U+FFFD */

/* The length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t
s_utf8_len (const unsigned char *p)
{
    size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if (!p[i])
            return 0;
    return n && jv_is_utf8 ((const char *) p, n) ? n : 0;
}

void
html_escape (env_text_t *t, const char *s)
{
    if (!s)
        return;
    const char *run = s;
    const unsigned char *p = (const unsigned char *) s;
    while (*p) {
        const char *entity = NULL;
        size_t n = s_utf8_len (p);
        switch (*p) {
        case '&':  entity = "&amp;"; break;
        case '<':  entity = "&lt;"; break;
        case '>':  entity = "&gt;"; break;
        case '"':  entity = "&quot;"; break;
        case '\'': entity = "&#39;"; break;
        default:
            if (n == 0 || (*p < 32 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 127)
                entity = HTML_REPLACEMENT;
        }
        if (!entity) {
            p += n;
            continue;
        }
        env_text_append (t, run, (size_t) ((const char *) p - run));
        env_text_put (t, entity);
        p += n ? n : 1;
        run = (const char *) p;
    }
    env_text_put (t, run);
}

void
html_row (env_text_t *t, const char *label, const char *value)
{
    env_text_put (t, "<tr><th>");
    env_text_put (t, label);
    env_text_put (t, "</th><td>");
    html_escape (t, value);
    env_text_put (t, "</td></tr>");
}

void
html_reply_page (env_reply_t *rep, env_text_t *t, const char *filename)
{
    char *page = env_text_take (t);
    if (!page) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        return;
    }
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "content_type", "text/html; charset=utf-8");
    cJSON_AddStringToObject (body, "filename", filename);
    cJSON_AddStringToObject (body, "text", page);
    free (page);
    env_reply_ok (rep, 200, body);
}
