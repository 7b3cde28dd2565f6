/* sla_clock: business-time arithmetic; see sla_clock.h.
 *
 * Times are walked local day by local day and open range by open range,
 * never minute by minute. A local day d (days since 1970-01-01 on the
 * calendar's wall clock) has its open ranges in wall-clock minutes; their
 * UTC instants come from the UTC offset at the day's local midnight, looked
 * up through the C library's tz database (mktime under TZ=:zone) and
 * cached per calendar, so a deadline costs a few mktime calls the first
 * time a day is seen and none after. On the rare day whose offset changes
 * (a DST switch) each boundary is converted on its own.
 *
 * TZ is process-global: it is switched only on a cache miss and put back
 * before each public function returns. The tickets worker computes on its
 * loop thread only. Errors are "field: problem" in err. */
#include "sla_clock.h"

#include "civil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define S_DAY            86400
#define S_CACHE_SIZE     512           /* offsets of local days, direct-mapped */
#define S_MAX_SPAN       (INT64_C (200) * 366 * S_DAY)   /* longest interval computed */
#define S_MIN_TIME       (INT64_C (-2208988800))         /* 1900-01-01 */
#define S_MAX_TIME       (INT64_C (253402300799))        /* 9999-12-31T23:59:59Z */
#define S_TZ_MAX         64
#define S_NAME_MAX       100

static const char *const s_wday_names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

typedef struct {
    int32_t day;                       /* local day number */
    bool holiday;                      /* else a workday */
    int8_t as;                         /* workday: the weekday whose hours it keeps */
    char *name;                        /* may be NULL */
} s_exception_t;

typedef struct {
    int64_t day[S_CACHE_SIZE];
    int32_t off[S_CACHE_SIZE];         /* seconds east of UTC at local midnight */
} s_cache_t;

struct sla_calendar {
    char tz[S_TZ_MAX];
    bool utc;                          /* offset always 0: no tz lookups */
    int nranges[7];
    int16_t ranges[7][SLA_MAX_RANGES_PER_DAY][2];   /* minutes, sorted, disjoint */
    int64_t week_open;                 /* open seconds of a plain week */
    int ndays;
    s_exception_t *days;               /* sorted by day */
    s_cache_t *cache;                  /* written through a const calendar */
};

/* --- civil dates (common/civil.h) ----------------------------------------- */

static int64_t
s_floor_div (int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Monday 0 .. Sunday 6; 1970-01-01 was a Thursday. */
static int
s_weekday (int64_t day)
{
    return (int) (((day % 7) + 7 + 3) % 7);
}

static void
s_format_date (int64_t day, char out[32])
{
    int64_t y;
    int m, d;
    civil_date_from_days (day, &y, &m, &d);
    snprintf (out, 32, "%04d-%02d-%02d", (int) (y % 10000), m, d);
}

/* "HH:MM" in 00:00..24:00 -> minutes; -1 otherwise. */
static int
s_parse_hhmm (const char *s)
{
    if (!s || strlen (s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

static int
s_weekday_index (const char *name)
{
    for (int i = 0; i < 7; i++)
        if (name && strcmp (name, s_wday_names[i]) == 0)
            return i;
    return -1;
}

/* --- the tz database ---------------------------------------------------- */

/* A zone name the tz database has: a plain relative path to a TZif file. */
static bool
s_zone_exists (const char *name)
{
    size_t len = strlen (name);
    if (len == 0 || len >= S_TZ_MAX || name[0] == '/' || strstr (name, ".."))
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '/' || *p == '_' || *p == '-' || *p == '+'))
            return false;
    const char *dir = getenv ("TZDIR");
    char path[512];
    snprintf (path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    struct stat st;
    if (stat (path, &st) || !S_ISREG (st.st_mode))
        return false;
    FILE *f = fopen (path, "rb");
    if (!f)
        return false;
    char magic[4] = { 0 };
    bool ok = fread (magic, 1, 4, f) == 4 && memcmp (magic, "TZif", 4) == 0;
    fclose (f);
    return ok;
}

/* The process's TZ while a public function runs: switched lazily, restored
 * by s_tz_restore. */
static struct {
    bool switched;
    bool had;
    char saved[256];
    char current[S_TZ_MAX + 1];
} s_tz;

static void
s_tz_use (const sla_calendar_t *cal)
{
    if (!s_tz.switched) {
        const char *old = getenv ("TZ");
        s_tz.had = old != NULL && strlen (old) < sizeof s_tz.saved;
        if (s_tz.had)
            strcpy (s_tz.saved, old);
        s_tz.current[0] = 0;
        s_tz.switched = true;
    }
    char want[S_TZ_MAX + 1];
    snprintf (want, sizeof want, ":%s", cal->tz);
    if (strcmp (want, s_tz.current) != 0) {
        setenv ("TZ", want, 1);
        tzset ();
        strcpy (s_tz.current, want);
    }
}

static void
s_tz_restore (void)
{
    if (!s_tz.switched)
        return;
    if (s_tz.had)
        setenv ("TZ", s_tz.saved, 1);
    else
        unsetenv ("TZ");
    tzset ();
    s_tz.switched = false;
    s_tz.current[0] = 0;
}

/* The UTC instant of local wall time (day, sec) by mktime. */
static int64_t
s_mktime (const sla_calendar_t *cal, int64_t day, int sec)
{
    s_tz_use (cal);
    int64_t y;
    int m, d;
    civil_date_from_days (day, &y, &m, &d);
    struct tm tm = { 0 };
    tm.tm_year = (int) (y - 1900);
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = sec / 3600;
    tm.tm_min = (sec / 60) % 60;
    tm.tm_sec = sec % 60;
    tm.tm_isdst = -1;
    time_t t = mktime (&tm);
    return (int64_t) t;
}

/* Seconds east of UTC at the local midnight starting day. */
static int32_t
s_offset (const sla_calendar_t *cal, int64_t day)
{
    if (cal->utc)
        return 0;
    size_t slot = (size_t) (((day % S_CACHE_SIZE) + S_CACHE_SIZE) % S_CACHE_SIZE);
    if (cal->cache->day[slot] == day)
        return cal->cache->off[slot];
    int64_t off = day * S_DAY - s_mktime (cal, day, 0);
    if (off < -S_DAY || off > S_DAY)
        off = 0;                       /* mktime failed: a year beyond the C library */
    cal->cache->day[slot] = day;
    cal->cache->off[slot] = (int32_t) off;
    return (int32_t) off;
}

/* The UTC instant of local wall time sec (0..86400) of day. */
static int64_t
s_utc_of (const sla_calendar_t *cal, int64_t day, int sec)
{
    if (sec >= S_DAY)
        return s_utc_of (cal, day + 1, sec - S_DAY);
    int32_t o0 = s_offset (cal, day);
    if (sec == 0 || o0 == s_offset (cal, day + 1))
        return day * S_DAY + sec - o0;
    return s_mktime (cal, day, sec);   /* the offset changes during this day */
}

/* The local day holding instant t. */
static int64_t
s_local_day (const sla_calendar_t *cal, int64_t t)
{
    int64_t d0 = s_floor_div (t, S_DAY);
    int64_t d = s_floor_div (t + s_offset (cal, d0), S_DAY);
    for (int i = 0; i < 3 && t < s_utc_of (cal, d, 0); i++)
        d--;
    for (int i = 0; i < 3 && t >= s_utc_of (cal, d + 1, 0); i++)
        d++;
    return d;
}

/* --- the calendar ------------------------------------------------------- */

static const s_exception_t *
s_exception (const sla_calendar_t *cal, int64_t day)
{
    int lo = 0, hi = cal->ndays - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cal->days[mid].day == day)
            return &cal->days[mid];
        if (cal->days[mid].day < day)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* The open ranges (minutes) of local day; their count. */
static int
s_day_ranges (const sla_calendar_t *cal, int64_t day, const int16_t (**ranges)[2])
{
    const s_exception_t *ex = cal->ndays ? s_exception (cal, day) : NULL;
    int wd = s_weekday (day);
    if (ex) {
        if (ex->holiday)
            return 0;
        wd = ex->as;
    }
    *ranges = cal->ranges[wd];
    return cal->nranges[wd];
}

static int
s_range_cmp (const void *a, const void *b)
{
    const int16_t *x = a, *y = b;
    return x[0] - y[0];
}

static int
s_exception_cmp (const void *a, const void *b)
{
    const s_exception_t *x = a, *y = b;
    return x->day < y->day ? -1 : x->day > y->day;
}

static int
s_parse_weekly (sla_calendar_t *cal, const cJSON *weekly, char err[256])
{
    if (!cJSON_IsObject (weekly)) {
        snprintf (err, 256, "weekly: must be an object of weekday -> [[\"HH:MM\",\"HH:MM\"], ...]");
        return -1;
    }
    const cJSON *day;
    cJSON_ArrayForEach (day, weekly) {
        int wd = s_weekday_index (day->string);
        if (wd < 0) {
            snprintf (err, 256, "weekly: unknown day \"%.20s\" (mon tue wed thu fri sat sun)",
                      day->string ? day->string : "");
            return -1;
        }
        if (!cJSON_IsArray (day)) {
            snprintf (err, 256, "weekly.%s: must be an array of [\"HH:MM\",\"HH:MM\"]", s_wday_names[wd]);
            return -1;
        }
        if (cJSON_GetArraySize (day) > SLA_MAX_RANGES_PER_DAY) {
            snprintf (err, 256, "weekly.%s: at most %d ranges", s_wday_names[wd], SLA_MAX_RANGES_PER_DAY);
            return -1;
        }
        int n = 0;
        const cJSON *r;
        cJSON_ArrayForEach (r, day) {
            const char *a = cJSON_GetStringValue (cJSON_GetArrayItem (r, 0));
            const char *b = cJSON_GetStringValue (cJSON_GetArrayItem (r, 1));
            if (!cJSON_IsArray (r) || cJSON_GetArraySize (r) != 2 || !a || !b) {
                snprintf (err, 256, "weekly.%s[%d]: must be [\"HH:MM\",\"HH:MM\"]", s_wday_names[wd], n);
                return -1;
            }
            int ma = s_parse_hhmm (a), mb = s_parse_hhmm (b);
            if (ma < 0 || mb < 0) {
                snprintf (err, 256, "weekly.%s[%d]: \"%.8s\" is not a time HH:MM from 00:00 to 24:00",
                          s_wday_names[wd], n, ma < 0 ? a : b);
                return -1;
            }
            if (mb <= ma) {
                snprintf (err, 256, "weekly.%s[%d]: ends at %s, not after it starts at %s",
                          s_wday_names[wd], n, b, a);
                return -1;
            }
            cal->ranges[wd][n][0] = (int16_t) ma;
            cal->ranges[wd][n][1] = (int16_t) mb;
            n++;
        }
        if (cal->nranges[wd]) {
            snprintf (err, 256, "weekly.%s: listed twice", s_wday_names[wd]);
            return -1;
        }
        cal->nranges[wd] = n;
        qsort (cal->ranges[wd], (size_t) n, sizeof cal->ranges[wd][0], s_range_cmp);
        for (int i = 1; i < n; i++)
            if (cal->ranges[wd][i][0] < cal->ranges[wd][i - 1][1]) {
                snprintf (err, 256, "weekly.%s: ranges overlap (a day has at most 24 hours)",
                          s_wday_names[wd]);
                return -1;
            }
        for (int i = 0; i < n; i++)
            cal->week_open += (cal->ranges[wd][i][1] - cal->ranges[wd][i][0]) * 60;
    }
    if (cal->week_open == 0) {
        snprintf (err, 256, "weekly: the week has no open hours");
        return -1;
    }
    return 0;
}

static int
s_add_exception (sla_calendar_t *cal, int64_t day, bool holiday, int as, const char *name,
                 char err[256])
{
    if (cal->ndays >= SLA_MAX_DAYS) {
        snprintf (err, 256, "days: at most %d days", SLA_MAX_DAYS);
        return -1;
    }
    s_exception_t *ex = &cal->days[cal->ndays++];
    ex->day = (int32_t) day;
    ex->holiday = holiday;
    ex->as = (int8_t) as;
    ex->name = name ? strdup (name) : NULL;
    return 0;
}

/* What days[i] (e) is: a holiday, or a workday with the hours of weekday
 * *as; its name (NULL when none). 0, or -1 with err. */
static int
s_parse_day_kind (const sla_calendar_t *cal, const cJSON *e, int i, bool *holiday, int *as,
                  const char **name, char err[256])
{
    const char *kind = cJSON_GetStringValue (cJSON_GetObjectItem (e, "kind"));
    if (!kind || (strcmp (kind, "holiday") != 0 && strcmp (kind, "workday") != 0)) {
        snprintf (err, 256, "days[%d].kind: must be holiday or workday", i);
        return -1;
    }
    *holiday = strcmp (kind, "holiday") == 0;
    const cJSON *name_j = cJSON_GetObjectItem (e, "name");
    *name = cJSON_GetStringValue (name_j);
    if ((name_j && !cJSON_IsNull (name_j) && !*name) || (*name && strlen (*name) > S_NAME_MAX)) {
        snprintf (err, 256, "days[%d].name: must be a text of at most %d bytes", i, S_NAME_MAX);
        return -1;
    }
    *as = 0;
    const cJSON *as_j = cJSON_GetObjectItem (e, "as");
    if (as_j && !cJSON_IsNull (as_j)) {
        *as = s_weekday_index (cJSON_GetStringValue (as_j));
        if (*holiday || *as < 0) {
            snprintf (err, 256, "days[%d].as: %s", i,
                      *holiday ? "only a workday takes \"as\"" : "must be mon tue wed thu fri sat or sun");
            return -1;
        }
    }
    if (!*holiday && cal->nranges[*as] == 0) {
        snprintf (err, 256, "days[%d].as: %s has no hours to work by", i, s_wday_names[*as]);
        return -1;
    }
    return 0;
}

/* The days days[i] (e) stands for: its "day", or "from" to "to"
 * inclusive, as day numbers [*d0, *d1]. 0, or -1 with err. */
static int
s_parse_day_span (const cJSON *e, int i, int64_t *d0, int64_t *d1, char err[256])
{
    const char *one = cJSON_GetStringValue (cJSON_GetObjectItem (e, "day"));
    const char *from = cJSON_GetStringValue (cJSON_GetObjectItem (e, "from"));
    const char *to = cJSON_GetStringValue (cJSON_GetObjectItem (e, "to"));
    if (one && !from && !to) {
        if (!civil_parse_date (one, d0)) {
            snprintf (err, 256, "days[%d].day: must be a date YYYY-MM-DD", i);
            return -1;
        }
        *d1 = *d0;
    }
    else if (!one && from && to) {
        if (!civil_parse_date (from, d0) || !civil_parse_date (to, d1)) {
            snprintf (err, 256, "days[%d].%s: must be a date YYYY-MM-DD", i,
                      civil_parse_date (from, d0) ? "to" : "from");
            return -1;
        }
        if (*d1 < *d0) {
            snprintf (err, 256, "days[%d].to: before from", i);
            return -1;
        }
    }
    else {
        snprintf (err, 256, "days[%d].day: give \"day\", or \"from\" and \"to\"", i);
        return -1;
    }
    if (*d1 - *d0 >= SLA_MAX_DAYS) {
        snprintf (err, 256, "days[%d]: at most %d days", i, SLA_MAX_DAYS);
        return -1;
    }
    return 0;
}

/* Sorts the exceptions by day; a day listed twice is an error (-1). */
static int
s_sort_days (sla_calendar_t *cal, char err[256])
{
    if (cal->ndays)
        qsort (cal->days, (size_t) cal->ndays, sizeof *cal->days, s_exception_cmp);
    for (int k = 1; k < cal->ndays; k++)
        if (cal->days[k].day == cal->days[k - 1].day) {
            char date[32];
            s_format_date (cal->days[k].day, date);
            snprintf (err, 256, "days: %s is listed more than once (overlapping days)", date);
            return -1;
        }
    return 0;
}

static int
s_parse_days (sla_calendar_t *cal, const cJSON *days, char err[256])
{
    if (!days || cJSON_IsNull (days))
        return 0;
    if (!cJSON_IsArray (days)) {
        snprintf (err, 256, "days: must be an array of {\"day\",\"kind\",\"name\"?,\"as\"?}");
        return -1;
    }
    cal->days = calloc (SLA_MAX_DAYS, sizeof *cal->days);
    if (!cal->days) {
        snprintf (err, 256, "days: out of memory");
        return -1;
    }
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach (e, days) {
        if (!cJSON_IsObject (e)) {
            snprintf (err, 256, "days[%d]: must be an object", i);
            return -1;
        }
        bool holiday;
        int as;
        const char *name;
        int64_t d0, d1;
        if (s_parse_day_kind (cal, e, i, &holiday, &as, &name, err) || s_parse_day_span (e, i, &d0, &d1, err))
            return -1;
        for (int64_t d = d0; d <= d1; d++)
            if (s_add_exception (cal, d, holiday, as, name, err))
                return -1;
        i++;
    }
    return s_sort_days (cal, err);
}

sla_calendar_t *
sla_calendar_from_json (const cJSON *json, char err[256])
{
    err[0] = 0;
    if (!cJSON_IsObject (json)) {
        snprintf (err, 256, "calendar: must be an object");
        return NULL;
    }
    sla_calendar_t *cal = calloc (1, sizeof *cal);
    if (!cal || !(cal->cache = malloc (sizeof *cal->cache))) {
        free (cal);
        snprintf (err, 256, "calendar: out of memory");
        return NULL;
    }
    for (int i = 0; i < S_CACHE_SIZE; i++)
        cal->cache->day[i] = INT64_MIN;
    const char *tz = cJSON_GetStringValue (cJSON_GetObjectItem (json, "timezone"));
    if (!tz || !s_zone_exists (tz)) {
        snprintf (err, 256, "timezone: %s", tz ? "not a time zone of the tz database (e.g. Asia/Shanghai)"
                                               : "is required (e.g. Asia/Shanghai)");
        goto fail;
    }
    snprintf (cal->tz, sizeof cal->tz, "%s", tz);
    cal->utc = strcmp (tz, "UTC") == 0 || strcmp (tz, "Etc/UTC") == 0;
    if (s_parse_weekly (cal, cJSON_GetObjectItem (json, "weekly"), err)
        || s_parse_days (cal, cJSON_GetObjectItem (json, "days"), err))
        goto fail;
    return cal;
fail:
    sla_calendar_destroy (&cal);
    return NULL;
}

void
sla_calendar_destroy (sla_calendar_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sla_calendar_t *self = *self_p;
    for (int i = 0; i < self->ndays; i++)
        free (self->days[i].name);
    free (self->days);
    free (self->cache);
    free (self);
    *self_p = NULL;
}

const char *
sla_calendar_timezone (const sla_calendar_t *cal)
{
    return cal ? cal->tz : NULL;
}

cJSON *
sla_calendar_weekly_json (const sla_calendar_t *cal)
{
    cJSON *weekly = cJSON_CreateObject ();
    for (int wd = 0; cal && wd < 7; wd++) {
        if (!cal->nranges[wd])
            continue;
        cJSON *day = cJSON_AddArrayToObject (weekly, s_wday_names[wd]);
        for (int i = 0; i < cal->nranges[wd]; i++) {
            char a[16], b[16];
            snprintf (a, sizeof a, "%02d:%02d", cal->ranges[wd][i][0] / 60, cal->ranges[wd][i][0] % 60);
            snprintf (b, sizeof b, "%02d:%02d", cal->ranges[wd][i][1] / 60, cal->ranges[wd][i][1] % 60);
            const char *pair[] = { a, b };
            cJSON_AddItemToArray (day, cJSON_CreateStringArray (pair, 2));
        }
    }
    return weekly;
}

cJSON *
sla_calendar_days_json (const sla_calendar_t *cal)
{
    cJSON *days = cJSON_CreateArray ();
    for (int i = 0; cal && i < cal->ndays; i++) {
        const s_exception_t *ex = &cal->days[i];
        char date[32];
        s_format_date (ex->day, date);
        cJSON *d = cJSON_CreateObject ();
        cJSON_AddStringToObject (d, "day", date);
        cJSON_AddStringToObject (d, "kind", ex->holiday ? "holiday" : "workday");
        if (ex->name)
            cJSON_AddStringToObject (d, "name", ex->name);
        if (!ex->holiday)
            cJSON_AddStringToObject (d, "as", s_wday_names[ex->as]);
        cJSON_AddItemToArray (days, d);
    }
    return days;
}

/* --- arithmetic --------------------------------------------------------- */

static int64_t
s_clamp (int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int64_t
sla_add_seconds (const sla_calendar_t *cal, int64_t start, int64_t seconds)
{
    start = s_clamp (start, S_MIN_TIME, S_MAX_TIME);
    seconds = s_clamp (seconds, 0, S_MAX_SPAN);
    if (!cal || seconds == 0)
        return start + seconds;
    int64_t left = seconds;
    int64_t result = -1;
    int64_t day = s_local_day (cal, start);
    /* each holiday can cost at most a week of open time, so this bounds
     * the walk without ever cutting a real answer short */
    int64_t max_days = (seconds / cal->week_open + 2 + cal->ndays) * 7;
    for (int64_t i = 0; i <= max_days && result < 0; i++, day++) {
        const int16_t (*r)[2];
        int n = s_day_ranges (cal, day, &r);
        for (int k = 0; k < n; k++) {
            int64_t a = s_utc_of (cal, day, r[k][0] * 60);
            int64_t b = s_utc_of (cal, day, r[k][1] * 60);
            if (b <= start)
                continue;
            if (a < start)
                a = start;
            if (left <= b - a) {
                result = a + left;
                break;
            }
            left -= b - a;
        }
    }
    s_tz_restore ();
    return result < 0 ? start + seconds : result;
}

int64_t
sla_add_minutes (const sla_calendar_t *cal, int64_t start, int64_t minutes)
{
    return sla_add_seconds (cal, start, s_clamp (minutes, 0, S_MAX_SPAN / 60) * 60);
}

int64_t
sla_business_seconds (const sla_calendar_t *cal, int64_t from, int64_t to)
{
    from = s_clamp (from, S_MIN_TIME, S_MAX_TIME);
    to = s_clamp (to, S_MIN_TIME, S_MAX_TIME);
    if (to <= from)
        return 0;
    if (to - from > S_MAX_SPAN)
        to = from + S_MAX_SPAN;
    if (!cal)
        return to - from;
    int64_t total = 0;
    int64_t last = s_local_day (cal, to);
    for (int64_t day = s_local_day (cal, from); day <= last; day++) {
        const int16_t (*r)[2];
        int n = s_day_ranges (cal, day, &r);
        for (int k = 0; k < n; k++) {
            int64_t a = s_utc_of (cal, day, r[k][0] * 60);
            int64_t b = s_utc_of (cal, day, r[k][1] * 60);
            if (a < from)
                a = from;
            if (b > to)
                b = to;
            if (b > a)
                total += b - a;
        }
    }
    s_tz_restore ();
    return total;
}

int64_t
sla_shift_deadline (const sla_calendar_t *cal, int64_t hold_since, int64_t now, int64_t due)
{
    if (due <= 0 || due <= hold_since || now <= hold_since)
        return due;
    return sla_add_seconds (cal, now, sla_business_seconds (cal, hold_since, due));
}

bool
sla_parse_time (const char *s, bool date_ok, int64_t *out)
{
    int64_t day, us;
    if (date_ok && civil_parse_date (s, &day)) {
        *out = day * S_DAY;
        return true;
    }
    if (!s || !civil_parse_time (s, &us))
        return false;
    *out = s_floor_div (us, 1000000);          /* the fraction dropped */
    return true;
}
