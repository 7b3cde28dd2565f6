/* import_rules: CSV cells to the API's data; see import_rules.h. */
#include "import_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cJSON *
tn_import_number (const char *cell)
{
    size_t i = 0, digits = 0;
    while (cell[i] >= '0' && cell[i] <= '9')
        i++, digits++;
    if (cell[i] == '.') {
        i++;
        while (cell[i] >= '0' && cell[i] <= '9')
            i++, digits++;
    }
    if (cell[i] || !digits || cell[0] == '.')
        return cJSON_CreateString (cell);
    return cJSON_CreateNumber (strtod (cell, NULL));
}

static const char *const s_separators[] = { ";", "；", ",", "，", "/", "、", NULL };

/* The length of the first number of p, and of the separator after it (0
 * when it is the last). */
static size_t
s_next_phone (const char *p, size_t *sep)
{
    size_t best = strlen (p);
    *sep = 0;
    for (int i = 0; s_separators[i]; i++) {
        const char *at = strstr (p, s_separators[i]);
        if (at && (size_t) (at - p) < best) {
            best = (size_t) (at - p);
            *sep = strlen (s_separators[i]);
        }
    }
    return best;
}

void
tn_import_phones (cJSON *obj, const char *cell)
{
    cJSON *list = cJSON_CreateArray ();
    for (const char *p = cell; *p;) {
        size_t sep, len = s_next_phone (p, &sep);
        const char *s = p;
        size_t n = len;
        while (n && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n) {
            char *one = strndup (s, n);
            if (one)
                cJSON_AddItemToArray (list, cJSON_CreateString (one));
            free (one);
        }
        if (!sep)
            break;
        p += len + sep;
    }
    int count = cJSON_GetArraySize (list);
    if (count == 1)
        cJSON_AddStringToObject (obj, "phone", cJSON_GetArrayItem (list, 0)->valuestring);
    if (count > 1)
        cJSON_AddItemToObject (obj, "phones", list);
    else
        cJSON_Delete (list);
}

char *
tn_import_party_key (const tn_party_input_t *in)
{
    /* \x1f (unit separator) cannot appear in a valid field */
    char *key = NULL;
    int n;
    if (in->id_number[0])
        n = asprintf (&key, "I\x1f%s\x1f%s", in->id_type, in->id_number);
    else
        n = asprintf (&key, "N\x1f%s\x1f%s\x1f%s\x1f%s", in->kind, in->name,
                      in->nphones ? in->phones[0] : "", in->email ? in->email : "");
    return n < 0 ? NULL : key;
}
