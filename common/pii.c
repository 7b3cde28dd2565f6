/* pii: normalisation and masks of personal data; see pii.h. */
#include "pii.h"

#include "jv.h"

#include <stdio.h>
#include <string.h>

static bool
s_digit (char c)
{
    return c >= '0' && c <= '9';
}

static bool
s_all_digits (const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s_digit (s[i]))
            return false;
    return n > 0;
}

/* --- phones --------------------------------------------------------------- */

static bool
s_mobile (const char *d, size_t n)
{
    return n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9' && s_all_digits (d, n);
}

/* The length of the area code (with its 0) that begins d: 010 and 02x are
 * three digits, every other (0311, 0755, ...) four. 0 when d is no area code. */
static size_t
s_area_len (const char *d, size_t n)
{
    if (n < 3 || d[0] != '0' || !s_digit (d[1]) || d[1] == '0')
        return 0;
    if (d[1] == '1')
        return d[2] == '0' ? 3 : 0;
    if (d[1] == '2')
        return 3;
    return n >= 4 && s_digit (d[2]) && s_digit (d[3]) ? 4 : 0;
}

/* A subscriber number: 7 or 8 digits, not starting with 0 or 1. */
static bool
s_subscriber (const char *d, size_t n)
{
    return (n == 7 || n == 8) && d[0] >= '2' && s_all_digits (d, n);
}

/* Where an explicit extension marker starts in s, and its length; NULL if none. */
static const char *
s_ext_marker (const char *s, size_t *mlen)
{
    static const char *const markers[] = { "\xe8\xbd\xac", "ext.", "ext", "EXT.", "EXT", "Ext.", "Ext",
                                           "x", "X", "#", NULL };
    const char *best = NULL;
    for (int i = 0; markers[i]; i++) {
        const char *p = strstr (s, markers[i]);
        if (p && (!best || p < best)) {
            best = p;
            *mlen = strlen (markers[i]);
        }
    }
    return best;
}

/* A number as typed, taken apart: its digits (spaces dropped) in groups
 * split by dashes, a leading +, and an extension introduced by a word or
 * sign. */
typedef struct {
    char digits[PII_PHONE_INPUT_MAX + 1];
    size_t n;
    bool plus;
    size_t groups;
    size_t group_len[PII_PHONE_INPUT_MAX + 1];
    char ext[PII_PHONE_INPUT_MAX + 1];
} s_phone_t;

/* The extension after a marker ("转", ext, x, #): 1..PII_PHONE_EXT_MAX digits,
 * spaces ignored. *body_len: where the number before it ends (all of in
 * when there is no marker). False for a marker without digits, or with
 * anything else after it. */
static bool
s_phone_ext (const char *in, s_phone_t *ph, size_t *body_len)
{
    size_t mlen = 0, e = 0;
    const char *mark = s_ext_marker (in, &mlen);
    *body_len = mark ? (size_t) (mark - in) : strlen (in);
    ph->ext[0] = 0;
    if (!mark)
        return true;
    for (const char *p = mark + mlen; *p; p++) {
        if (*p == ' ')
            continue;
        if (!s_digit (*p))
            return false;
        ph->ext[e++] = *p;
    }
    ph->ext[e] = 0;
    return e > 0 && e <= PII_PHONE_EXT_MAX;
}

/* The len bytes of body as digits in dash-separated groups: an optional
 * leading +, then digits, a dash only between two digits, spaces anywhere.
 * False for anything else, or for no digits. */
static bool
s_phone_groups (const char *body, size_t len, s_phone_t *ph)
{
    bool in_group = false;
    ph->n = 0;
    ph->plus = false;
    ph->groups = 1;
    memset (ph->group_len, 0, sizeof ph->group_len);
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (c == ' ')
            continue;
        if (c == '+' && ph->n == 0 && !ph->plus && ph->groups == 1) {
            ph->plus = true;
            continue;
        }
        if (c == '-') {
            if (!in_group)
                return false;           /* a leading or doubled dash */
            ph->groups++;
            in_group = false;
            continue;
        }
        if (!s_digit (c))
            return false;
        ph->digits[ph->n++] = c;
        ph->group_len[ph->groups - 1]++;
        in_group = true;
    }
    ph->digits[ph->n] = 0;
    return ph->n > 0 && in_group;       /* not nothing, nor a trailing dash */
}

/* The 11 digits of a mobile number in any of its forms (13800138000,
 * +8613800138000, 008613800138000, 8613800138000), or NULL. */
static const char *
s_phone_mobile (const s_phone_t *ph)
{
    const char *d = ph->digits;
    size_t n = ph->n;
    if (ph->plus)
        return n > 2 && d[0] == '8' && d[1] == '6' && s_mobile (d + 2, n - 2) ? d + 2 : NULL;
    if (n == 15 && memcmp (d, "0086", 4) == 0 && s_mobile (d + 4, 11))
        return d + 4;
    if (n == 13 && d[0] == '8' && d[1] == '6' && s_mobile (d + 2, 11))
        return d + 2;
    return s_mobile (d, n) ? d : NULL;
}

/* A landline: AREA NUMBER, AREA-NUMBER, or AREA-NUMBER-EXT (a third group
 * after a whole subscriber number is its extension; otherwise the number
 * itself was split, as in 0755-8888-1234). Written "AREA-NUMBER[-EXT]":
 * at most 4 + 1 + 8 + 1 + PII_PHONE_EXT_MAX, within PII_PHONE_MAX. */
static bool
s_phone_landline (const s_phone_t *ph, char out[PII_PHONE_MAX + 1])
{
    const char *d = ph->digits, *ext = ph->ext;
    size_t area = s_area_len (d, ph->n), elen = strlen (ext);
    if (!area || ph->groups > 3)
        return false;
    if (ph->groups > 1 && ph->group_len[0] != area)
        return false;                   /* a dash elsewhere than after the area code */
    size_t sub = ph->n - area;
    if (ph->groups == 3 && s_subscriber (d + area, ph->group_len[1])) {
        if (ph->group_len[2] > PII_PHONE_EXT_MAX || elen)
            return false;               /* too long, or a second extension */
        elen = ph->group_len[2];
        sub -= elen;
        ext = d + area + sub;
    }
    if (!s_subscriber (d + area, sub))
        return false;
    snprintf (out, PII_PHONE_MAX + 1, "%.*s-%.*s%s%.*s", (int) area, d, (int) sub, d + area,
              elen ? "-" : "", (int) elen, ext);
    return true;
}

bool
pii_phone_normalize (const char *in, char out[PII_PHONE_MAX + 1])
{
    out[0] = 0;
    s_phone_t ph;
    size_t body_len;
    if (!in || !*in || strlen (in) > PII_PHONE_INPUT_MAX || !s_phone_ext (in, &ph, &body_len)
        || !s_phone_groups (in, body_len, &ph))
        return false;
    const char *mobile = s_phone_mobile (&ph);
    if (mobile) {
        if (ph.ext[0])
            return false;               /* a mobile has no extension */
        snprintf (out, PII_PHONE_MAX + 1, "%.11s", mobile);
        return true;
    }
    if (ph.plus) {
        /* another country: + and 8..15 digits, no extension */
        if (ph.ext[0] || ph.n < 8 || ph.n > 15)
            return false;
        snprintf (out, PII_PHONE_MAX + 1, "+%.15s", ph.digits);
        return true;
    }
    return s_phone_landline (&ph, out);
}

/* The length of a normalised number without its extension. */
static size_t
s_main_len (const char *phone)
{
    if (phone[0] != '0')
        return strlen (phone);
    const char *dash = strchr (phone, '-');
    const char *ext = dash ? strchr (dash + 1, '-') : NULL;
    return ext ? (size_t) (ext - phone) : strlen (phone);
}

void
pii_phone_tail (const char *phone, char out[5])
{
    size_t n = s_main_len (phone);
    size_t k = 0;
    char rev[4];
    for (size_t i = n; i > 0 && k < 4; i--)
        if (s_digit (phone[i - 1]))
            rev[k++] = phone[i - 1];
    for (size_t i = 0; i < k; i++)
        out[i] = rev[k - 1 - i];
    out[k] = 0;
}

void
pii_phone_mask (const char *phone, char out[PII_PHONE_MAX + 8])
{
    size_t n = s_main_len (phone);
    char tail[5];
    pii_phone_tail (phone, tail);
    if (n < 8) {
        /* never stored (numbers are normalised); mask it all rather than show it */
        snprintf (out, PII_PHONE_MAX + 8, "****");
        return;
    }
    snprintf (out, PII_PHONE_MAX + 8, "%.3s****%s%s", phone, tail, phone + n);
}

/* --- identity documents ------------------------------------------------------ */

void
pii_id_mask (const char *id, char out[PII_ID_NUMBER_MAX + 1])
{
    size_t n = strlen (id);
    if (n > PII_ID_NUMBER_MAX)
        n = PII_ID_NUMBER_MAX;
    /* the head of a resident ID is the birthplace, and a short number's last
     * four are most of it: only the tail of a long one is shown */
    for (size_t i = 0; i < n; i++)
        out[i] = (n >= PII_ID_MASK_MIN && i >= n - PII_ID_MASK_TAIL) ? id[i] : '*';
    out[n] = 0;
}

static bool
s_date_ok (const char *d)
{
    char iso[11];
    snprintf (iso, sizeof iso, "%.4s-%.2s-%.2s", d, d + 4, d + 6);
    return jv_is_date (iso);
}

bool
pii_resident_id_ok (const char *id)
{
    static const int weights[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
    static const char checks[] = "10X98765432";
    if (!id || strlen (id) != 18 || !s_all_digits (id, 17) || id[0] == '0')
        return false;
    if (!s_date_ok (id + 6))
        return false;
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (id[i] - '0') * weights[i];
    return id[17] == checks[sum % 11];
}

const char *
pii_id_clean (const char *id, char out[PII_ID_NUMBER_MAX + 1])
{
    out[0] = 0;
    while (*id == ' ')
        id++;
    size_t n = strlen (id);
    while (n > 0 && id[n - 1] == ' ')
        n--;
    if (n < PII_ID_NUMBER_MIN || n > PII_ID_NUMBER_MAX)
        return "must be 3 to 32 characters";
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (c >= 'a' && c <= 'z')
            c = (char) (c - 'a' + 'A');
        if (!((c >= 'A' && c <= 'Z') || s_digit (c) || c == '-')) {
            out[0] = 0;
            return "may hold only letters, digits and -";
        }
        out[i] = c;
    }
    out[n] = 0;
    return NULL;
}

bool
pii_role_sees_pii (const char *role)
{
    return role && (strcmp (role, "admin") == 0 || strcmp (role, "manager") == 0
                    || strcmp (role, "service") == 0);
}
