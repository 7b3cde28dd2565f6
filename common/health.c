/* health: a daemon's health file and `pm-<daemon> --check`; see health.h.
 *
 * Two writers share the file: the loop (health_loop_beat, health_broker_beat,
 * from a heartbeat timer) and, while a handler holds the loop, the worker's
 * heartbeat thread (health_busy_beat). A mutex orders them; the database
 * check runs in the caller, outside it (a reconnect may block for seconds,
 * and the busy beat must not wait for it). Each write is ~300 bytes to a temporary file
 * renamed over the old one: no fsync, a crash loses nothing a probe needs. */
#include "health.h"

#include "config.h"
#include "envelope.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define HEALTH_FORMAT_VERSION 1
#define HEALTH_LINE_MAX       256
#define HEALTH_BROKERS_MAX    64

static const char *const s_db_names[] = { "none", "unknown", "up", "down" };

static bool
s_name_valid (const char *s, size_t n)
{
    if (n < 1 || n > HEALTH_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

int
health_path (const char *daemon, char *buf, size_t cap)
{
    const char *file = config_str ("PM_HEALTH_FILE", NULL);
    int n = file ? snprintf (buf, cap, "%s", file)
                 : snprintf (buf, cap, "%s/%s.health", config_data_dir (), daemon);
    return n < 0 || (size_t) n >= cap ? -1 : 0;
}

/* ---- the file's text --------------------------------------------------- */

int
health_format (const health_state_t *st, int64_t wall_s, char *buf, size_t cap)
{
    char at[32] = "-";
    time_t t = (time_t) wall_s;
    struct tm tm;
    if (gmtime_r (&t, &tm))
        strftime (at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    size_t len = 0;
    int n = snprintf (buf, cap,
                      "# pm-%s's health, for `pm-%s --check` (docs/OPERATIONS.md \"Probes\")\n"
                      "version=%d\nservice=%s\npid=%ld\nstarted=%llu\n"
                      "written_ms=%" PRId64 "\nwritten_at=%s\nloop_ms=%" PRId64 "\n"
                      "busy_since_ms=%" PRId64 "\nbusy_max_ms=%" PRId64 "\n",
                      st->service, st->service, HEALTH_FORMAT_VERSION, st->service, st->pid,
                      st->started, st->written_ms, at, st->loop_ms, st->busy_since_ms,
                      st->busy_max_ms);
    if (n < 0 || (size_t) n >= cap)
        return -1;
    len = (size_t) n;
    if (st->brokers >= 0) {
        n = snprintf (buf + len, cap - len, "brokers=%d/%d\n", st->brokers_up, st->brokers);
        if (n < 0 || (size_t) n >= cap - len)
            return -1;
        len += (size_t) n;
    }
    if (st->bound >= 0) {
        n = snprintf (buf + len, cap - len, "bound=%d\n", st->bound);
        if (n < 0 || (size_t) n >= cap - len)
            return -1;
        len += (size_t) n;
    }
    unsigned db = (unsigned) st->db < 4 ? (unsigned) st->db : 0;
    n = snprintf (buf + len, cap - len, "db=%s\ndb_checked_ms=%" PRId64 "\n", s_db_names[db],
                  st->db_checked_ms);
    if (n < 0 || (size_t) n >= cap - len)
        return -1;
    return (int) (len + (size_t) n);
}

/* A decimal in [0, max], nothing else. */
static bool
s_uint (const char *s, int64_t max, int64_t *out)
{
    if (!*s)
        return false;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        int d = *s - '0';
        if (max - d < 0 || v > (max - d) / 10)     /* v * 10 + d > max */
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

enum { S_VERSION = 1, S_SERVICE = 2, S_PID = 4, S_WRITTEN = 8, S_LOOP = 16,
       S_REQUIRED = 31 };

/* One "key=value": 0, -1 with err. */
static int
s_parse_line (char *line, health_state_t *st, unsigned *seen, char *err, size_t errcap)
{
    char *eq = strchr (line, '=');
    if (!eq) {
        snprintf (err, errcap, "a line without '='");
        return -1;
    }
    *eq = 0;
    const char *key = line, *val = eq + 1;
    int64_t v;
    if (strcmp (key, "version") == 0) {
        if (!s_uint (val, INT_MAX, &v) || v != HEALTH_FORMAT_VERSION) {
            snprintf (err, errcap, "format version %.16s, not %d", val, HEALTH_FORMAT_VERSION);
            return -1;
        }
        *seen |= S_VERSION;
        return 0;
    }
    if (strcmp (key, "service") == 0) {
        if (!s_name_valid (val, strlen (val)))
            goto bad;
        snprintf (st->service, sizeof st->service, "%s", val);
        *seen |= S_SERVICE;
        return 0;
    }
    if (strcmp (key, "brokers") == 0) {
        char up[16], all[16];
        const char *slash = strchr (val, '/');
        int64_t u, a;
        if (!slash || (size_t) (slash - val) >= sizeof up || strlen (slash + 1) >= sizeof all)
            goto bad;
        memcpy (up, val, (size_t) (slash - val));
        up[slash - val] = 0;
        strcpy (all, slash + 1);
        if (!s_uint (up, HEALTH_BROKERS_MAX, &u) || !s_uint (all, HEALTH_BROKERS_MAX, &a) || a < 1 || u > a)
            goto bad;
        st->brokers_up = (int) u;
        st->brokers = (int) a;
        return 0;
    }
    if (strcmp (key, "db") == 0) {
        for (int i = 0; i < 4; i++)
            if (strcmp (val, s_db_names[i]) == 0) {
                st->db = (health_db_t) i;
                return 0;
            }
        goto bad;
    }
    if (strcmp (key, "started") == 0) {
        if (!s_uint (val, INT64_MAX, &v))
            goto bad;
        st->started = (unsigned long long) v;
        return 0;
    }
    if (strcmp (key, "pid") == 0) {
        if (!s_uint (val, INT_MAX, &v) || v < 1)
            goto bad;
        st->pid = (long) v;
        *seen |= S_PID;
        return 0;
    }
    if (strcmp (key, "bound") == 0) {
        if (!s_uint (val, 1, &v))
            goto bad;
        st->bound = (int) v;
        return 0;
    }
    /* the times (monotonic ms) */
    static const struct {
        const char *key;
        size_t offset;
        unsigned bit;                /* a required key's; 0 */
        int64_t min;
    } nums[] = {
        { "written_ms", offsetof (health_state_t, written_ms), S_WRITTEN, 0 },
        { "loop_ms", offsetof (health_state_t, loop_ms), S_LOOP, 0 },
        { "busy_since_ms", offsetof (health_state_t, busy_since_ms), 0, 0 },
        { "busy_max_ms", offsetof (health_state_t, busy_max_ms), 0, 1 },
        { "db_checked_ms", offsetof (health_state_t, db_checked_ms), 0, 0 },
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strcmp (key, nums[i].key) != 0)
            continue;
        if (!s_uint (val, INT64_MAX / 2, &v) || v < nums[i].min)
            goto bad;
        *(int64_t *) ((char *) st + nums[i].offset) = v;
        *seen |= nums[i].bit;
        return 0;
    }
    return 0;                        /* a key of a newer writer */
bad:
    snprintf (err, errcap, "bad %.32s: '%.32s'", key, val);
    return -1;
}

int
health_parse (const char *text, size_t len, health_state_t *st, char *err, size_t errcap)
{
    *st = (health_state_t) { .busy_max_ms = HEALTH_BUSY_MAX_MS, .brokers_up = -1, .brokers = -1,
                             .bound = -1, .db = HEALTH_DB_NONE };
    unsigned seen = 0;
    if (memchr (text, 0, len)) {
        snprintf (err, errcap, "a NUL byte");
        return -1;
    }
    size_t at = 0;
    while (at < len) {
        const char *nl = memchr (text + at, '\n', len - at);
        size_t n = nl ? (size_t) (nl - (text + at)) : len - at;
        char line[HEALTH_LINE_MAX];
        if (n >= sizeof line) {
            snprintf (err, errcap, "a line longer than %d bytes", HEALTH_LINE_MAX - 1);
            return -1;
        }
        memcpy (line, text + at, n);
        line[n] = 0;
        if (n && line[n - 1] == '\r')
            line[--n] = 0;
        at = nl ? (size_t) (nl - text) + 1 : len;
        if (n == 0 || line[0] == '#')
            continue;
        if (s_parse_line (line, st, &seen, err, errcap) != 0)
            return -1;
    }
    if ((seen & S_REQUIRED) != S_REQUIRED) {
        static const char *const names[] = { "version", "service", "pid", "written_ms", "loop_ms" };
        for (int i = 0; i < 5; i++)
            if (!(seen & (1u << i))) {
                snprintf (err, errcap, "no %s", names[i]);
                break;
            }
        return -1;
    }
    return 0;
}

/* ---- the verdict ------------------------------------------------------- */

static long long
s_secs (int64_t ms)
{
    return (long long) (ms / 1000);
}

int
health_judge (const health_state_t *st, health_mode_t mode, int64_t now_ms, int64_t stale_ms,
              char *why, size_t cap)
{
    int64_t age = now_ms - st->written_ms;
    /* a leftover of an earlier boot (monotonic time starts again at boot) */
    if (age < -1000) {
        snprintf (why, cap, "health file written %lld s in the future: not this boot's", s_secs (-age));
        return 1;
    }
    if (age > stale_ms) {
        snprintf (why, cap, "health file stale by %lld s: last written %lld s ago (limit %lld s)",
                  s_secs (age - stale_ms), s_secs (age), s_secs (stale_ms));
        return 1;
    }
    if (now_ms - st->loop_ms > stale_ms) {
        if (!st->busy_since_ms) {
            snprintf (why, cap, "loop stuck: last turned %lld s ago (limit %lld s)",
                      s_secs (now_ms - st->loop_ms), s_secs (stale_ms));
            return 1;
        }
        int64_t busy = now_ms - st->busy_since_ms;
        if (busy > st->busy_max_ms) {
            snprintf (why, cap, "loop busy for %lld s, past its limit of %lld s", s_secs (busy),
                      s_secs (st->busy_max_ms));
            return 1;
        }
        /* a long handler before its deadline: alive */
    }
    if (mode == HEALTH_LIVE)
        return 0;
    if (st->bound == 0) {
        snprintf (why, cap, "sockets not bound");
        return 1;
    }
    if (st->brokers >= 0 && st->brokers_up <= 0) {
        snprintf (why, cap, "no broker: registered with none of %d", st->brokers);
        return 1;
    }
    if (st->db == HEALTH_DB_DOWN) {
        snprintf (why, cap, "database down (checked %lld s ago)", s_secs (now_ms - st->db_checked_ms));
        return 1;
    }
    if (st->db == HEALTH_DB_UNKNOWN) {
        snprintf (why, cap, "database not checked yet");
        return 1;
    }
    return 0;
}

/* ---- the checker ------------------------------------------------------- */

/* A process's start time in clock ticks after boot (/proc/<pid>/stat field
 * 22); 0 when unknown. Tells the file's writer from a later process that
 * got its pid (PID 1 of a restarted container). */
static unsigned long long
s_proc_started (long pid)
{
    char path[64], buf[1024];
    snprintf (path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read (fd, buf, sizeof buf - 1);
    close (fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strrchr (buf, ')');    /* the name in parentheses may hold anything */
    if (!p)
        return 0;
    p++;
    /* fields 3 (state) .. 21, then 22 */
    for (int field = 3; field < 22; field++) {
        p = strchr (p + 1, ' ');
        if (!p)
            return 0;
    }
    char *end;
    unsigned long long v = strtoull (p + 1, &end, 10);
    return end == p + 1 ? 0 : v;
}

static int
s_not (const char *daemon, health_mode_t mode, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_not (const char *daemon, health_mode_t mode, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (why, sizeof why, fmt, ap);
    va_end (ap);
    fprintf (stderr, "pm-%s: not %s: %s\n", daemon, mode == HEALTH_LIVE ? "live" : "ready", why);
    return 1;
}

int
health_check_main (const char *daemon, int argc, char **argv)
{
    health_mode_t mode = HEALTH_READY;
    bool usage = argc < 2 || argc > 3 || strcmp (argv[1], "--check") != 0;
    if (!usage && argc == 3) {
        if (strcmp (argv[2], "live") == 0)
            mode = HEALTH_LIVE;
        else
        if (strcmp (argv[2], "ready") != 0)
            usage = true;
    }
    if (usage) {
        fprintf (stderr, "usage: pm-%s [--check [ready|live]]\n", daemon);
        return 2;
    }
    int64_t stale_ms = config_int ("PM_HEALTH_STALE_MS", HEALTH_STALE_MS, 1000, 3600000);
    char path[PATH_MAX];
    if (health_path (daemon, path, sizeof path) != 0)
        return s_not (daemon, mode, "PM_HEALTH_FILE or PM_DATA_DIR too long");
    char text[HEALTH_FILE_MAX + 1];
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return s_not (daemon, mode, "no health file %s (not started yet, or stopped)", path);
        return s_not (daemon, mode, "cannot open %s: %s", path, strerror (errno));
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read (fd, text + len, sizeof text - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            close (fd);
            return s_not (daemon, mode, "cannot read %s: %s", path, strerror (err));
        }
        if (n == 0)
            break;
        len += (size_t) n;
        if (len == sizeof text)
            break;
    }
    close (fd);
    if (len > HEALTH_FILE_MAX)
        return s_not (daemon, mode, "%s is longer than a health file", path);
    health_state_t st;
    char err[128];
    if (health_parse (text, len, &st, err, sizeof err) != 0)
        return s_not (daemon, mode, "health file %s unreadable: %s", path, err);
    if (strcmp (st.service, daemon) != 0)
        return s_not (daemon, mode, "health file %s is pm-%s's", path, st.service);
    if (kill ((pid_t) st.pid, 0) != 0 && errno == ESRCH)
        return s_not (daemon, mode, "its process (pid %ld) is gone", st.pid);
    unsigned long long started = st.started ? s_proc_started (st.pid) : 0;
    if (started && started != st.started)
        return s_not (daemon, mode, "its process (pid %ld) is gone: that pid is another process now",
                      st.pid);
    char why[256];
    if (health_judge (&st, mode, env_mono_ms (), stale_ms, why, sizeof why) != 0)
        return s_not (daemon, mode, "%s", why);
    return 0;
}

/* ---- the daemon side --------------------------------------------------- */

static struct {
    pthread_mutex_t lock;
    bool started;                    /* the first beat happened */
    bool failing;                    /* the last write failed (logged once) */
    bool dirty;                      /* something the file says changed */
    char path[PATH_MAX];             /* "": no file (the path did not fit) */
    health_state_t st;
    int64_t written_ms;              /* last write attempt */
} s_self = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* At exit: the file goes with its process (unless another process of the
 * same name wrote it since: a shared file is theirs now). */
static void
s_remove (void)
{
    if (!s_self.path[0])
        return;
    char text[HEALTH_FILE_MAX + 1];
    int fd = open (s_self.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read (fd, text, sizeof text);
    close (fd);
    health_state_t st;
    char err[128];
    if (n > 0 && (size_t) n <= HEALTH_FILE_MAX && health_parse (text, (size_t) n, &st, err, sizeof err) == 0
        && st.pid == (long) getpid ())
        unlink (s_self.path);
}

/* Under the lock. */
static void
s_write (int64_t now)
{
    s_self.written_ms = now;
    s_self.dirty = false;
    if (!s_self.path[0])
        return;
    s_self.st.written_ms = now;
    char text[HEALTH_FILE_MAX];
    int len = health_format (&s_self.st, (int64_t) time (NULL), text, sizeof text);
    char tmp[PATH_MAX + 32];
    snprintf (tmp, sizeof tmp, "%s.%ld.tmp", s_self.path, (long) getpid ());
    const char *what = "format";
    int err = 0;
    if (len > 0) {
        what = "open";
        int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            what = "write";
            ssize_t n = write (fd, text, (size_t) len);
            err = errno;
            if (close (fd) == 0 && n == len) {
                what = "rename";
                if (rename (tmp, s_self.path) == 0)
                    what = NULL;
                else
                    err = errno;
            }
            if (what)
                unlink (tmp);
        }
        else
            err = errno;
    }
    if (what && !s_self.failing)
        log_warn (NULL, "health file %s not written (%s: %s); `--check` will fail until it is",
                  s_self.path, what, err ? strerror (err) : "too long");
    else
    if (!what && s_self.failing)
        log_info (NULL, "health file %s written again", s_self.path);
    s_self.failing = what != NULL;
}

/* Under the lock: the first beat sets the file up. */
static void
s_start (const char *daemon)
{
    s_self.started = true;
    health_state_t *st = &s_self.st;
    snprintf (st->service, sizeof st->service, "%s", daemon);
    st->pid = (long) getpid ();
    st->started = s_proc_started (st->pid);
    st->busy_max_ms = config_int ("PM_HEALTH_BUSY_MAX_MS", HEALTH_BUSY_MAX_MS, 1000, 86400000);
    st->brokers_up = st->brokers = -1;
    st->bound = -1;
    if (health_path (daemon, s_self.path, sizeof s_self.path) != 0) {
        s_self.path[0] = 0;
        log_warn (NULL, "PM_HEALTH_FILE or PM_DATA_DIR too long: no health file");
    }
    atexit (s_remove);
}

bool
health_db_due (void)
{
    pthread_mutex_lock (&s_self.lock);
    bool due = !s_self.st.db_checked_ms || env_mono_ms () - s_self.st.db_checked_ms >= HEALTH_DB_CHECK_MS;
    pthread_mutex_unlock (&s_self.lock);
    return due;
}

void
health_db_result (bool up)
{
    health_db_t db = up ? HEALTH_DB_UP : HEALTH_DB_DOWN;
    pthread_mutex_lock (&s_self.lock);
    if (db != s_self.st.db)
        s_self.dirty = true;
    s_self.st.db = db;
    s_self.st.db_checked_ms = env_mono_ms ();
    if (!s_self.st.db_checked_ms)
        s_self.st.db_checked_ms = 1;             /* 0 says never */
    pthread_mutex_unlock (&s_self.lock);
}

static void
s_loop_beat (const char *daemon, int brokers_up, int brokers, int bound)
{
    pthread_mutex_lock (&s_self.lock);
    if (!s_self.started) {
        s_start (daemon);
        s_self.dirty = true;
    }
    int64_t now = env_mono_ms ();
    health_state_t *st = &s_self.st;
    if (st->brokers_up != brokers_up || st->brokers != brokers || st->bound != bound)
        s_self.dirty = true;
    st->brokers_up = brokers_up;
    st->brokers = brokers;
    st->bound = bound;
    st->loop_ms = now;
    st->busy_since_ms = 0;
    if (s_self.dirty || now - s_self.written_ms >= HEALTH_WRITE_MS)
        s_write (now);
    pthread_mutex_unlock (&s_self.lock);
}

void
health_loop_beat (const char *daemon, int brokers_up, int brokers)
{
    s_loop_beat (daemon, brokers_up, brokers, -1);
}

void
health_broker_beat (void)
{
    s_loop_beat ("broker", -1, -1, 1);
}

void
health_busy_beat (int64_t busy_since_ms)
{
    pthread_mutex_lock (&s_self.lock);
    if (s_self.started) {
        int64_t now = env_mono_ms ();
        s_self.st.busy_since_ms = busy_since_ms > 0 ? busy_since_ms : 1;
        if (now - s_self.written_ms >= HEALTH_WRITE_MS)
            s_write (now);
    }
    pthread_mutex_unlock (&s_self.lock);
}
