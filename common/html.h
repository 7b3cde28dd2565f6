/* html: text made safe to put into an HTML page the services print (a
 * receipt, an item release pass), written into a growing env_text_t
 * (envelope.h). One escape for element text and quoted attribute values
 * alike: & < > " ' become entities, so no input can open a tag, close an
 * attribute or start an entity of its own. */
#ifndef PM_HTML_H
#define PM_HTML_H

#include "envelope.h"

/* Appends s escaped (NULL appends nothing). Bytes that are not UTF-8 and
 * control characters other than tab, newline and carriage return are
 * replaced by U+FFFD, so the page stays valid UTF-8 whatever was stored. */
void html_escape (env_text_t *t, const char *s);

/* Appends a table row "<tr><th>label</th><td>value</td></tr>": label is
 * the caller's own markup (a literal), value is escaped. */
void html_row (env_text_t *t, const char *label, const char *value);

/* The answer of a printable page's method (a GW_ROUTE_FILE route, which
 * the gateway serves inline): 200 {"content_type":"text/html;
 * charset=utf-8","filename","text"} with the page t holds (t is empty
 * after), or 500 when memory ran out while it was written. */
void html_reply_page (env_reply_t *rep, env_text_t *t, const char *filename);

#endif
