/* health: the file a daemon keeps for its probes, and `pm-<daemon> --check`.
 *
 * A daemon rewrites its health file from its loop (a worker's heartbeat
 * timer, the broker's): when the loop last turned, how many brokers hear the
 * worker (a link heard from within the liveness window), whether its
 * database answered at the last check (SELECT 1 every HEALTH_DB_CHECK_MS,
 * on the loop, never per request), and for the broker that its sockets are
 * bound. It writes every HEALTH_WRITE_MS, and at once when one of those
 * changes. While a handler or a bracketed job (worker_loop_busy) holds the
 * loop, the worker's heartbeat thread rewrites it instead, saying since when
 * the loop is busy: a long import is alive until HEALTH_BUSY_MAX_MS, not
 * dead. Each write goes to a temporary file that is then renamed, so a
 * reader never sees half a file; the file is removed when the daemon exits.
 *
 * `pm-<daemon> --check [ready|live]` (health_check_main, from each daemon's
 * main before anything starts) reads the file and judges it: exit 0 when
 * healthy, else 1 with one line on stderr saying why (no file, stale, the
 * loop stuck, no broker, database down); 2 for a usage error. It opens no
 * connection: the file, and /proc/<pid>/stat to know that its writer is
 * still the running process, are all it reads.
 *   live:  the file is fresh, and the loop turned within the stale window or
 *          is busy for less than its limit.
 *   ready: live, and registered with at least one broker and the database
 *          up (a worker); the sockets bound (the broker).
 *
 * The file: PM_HEALTH_FILE, else $PM_DATA_DIR/<daemon>.health (processes
 * sharing one data directory under one name share the file: give each its
 * own PM_HEALTH_FILE). "key=value" lines, times in CLOCK_MONOTONIC
 * milliseconds (the checker runs on the same kernel); nothing personal.
 * docs/OPERATIONS.md "Probes". */
#ifndef PM_HEALTH_H
#define PM_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEALTH_WRITE_MS      2000    /* the file's rewrite period */
#define HEALTH_DB_CHECK_MS   5000    /* a worker's SELECT 1 period */
/* The checker's window: a file (or a loop turn) older than this is stale.
 * PM_HEALTH_STALE_MS (1000..3600000) in the checker's environment overrides it. */
#define HEALTH_STALE_MS      10000
/* The longest a loop may stay in one handler or bracketed job and count as
 * alive: the longest request deadline (a CSV import, PM_IMPORT_TIMEOUT_MS
 * 120 s) with room to spare. PM_HEALTH_BUSY_MAX_MS in the daemon's
 * environment overrides it; the daemon writes it into its file. */
#define HEALTH_BUSY_MAX_MS   300000
#define HEALTH_FILE_MAX      4096    /* a longer file is not ours */
#define HEALTH_NAME_MAX      32

typedef enum {
    HEALTH_DB_NONE = 0,              /* the daemon has no database (the broker) */
    HEALTH_DB_UNKNOWN,               /* not checked yet */
    HEALTH_DB_UP,
    HEALTH_DB_DOWN
} health_db_t;

typedef enum { HEALTH_LIVE, HEALTH_READY } health_mode_t;

/* What a health file says. Times: CLOCK_MONOTONIC ms. */
typedef struct {
    char service[HEALTH_NAME_MAX + 1];
    long pid;
    unsigned long long started;      /* the writer's start time (/proc/<pid>/stat); 0: unknown */
    int64_t written_ms;              /* when the file was written */
    int64_t loop_ms;                 /* the loop's last turn */
    int64_t busy_since_ms;           /* the loop is held since; 0: it is not */
    int64_t busy_max_ms;             /* how long it may be held and count as alive */
    int brokers_up, brokers;         /* a worker: links heard / links; -1, -1: not a worker */
    int bound;                       /* the broker: 1 sockets bound; -1: not the broker */
    health_db_t db;
    int64_t db_checked_ms;           /* 0: never */
} health_state_t;

/* ---- pure (tests/unit/test_health.c) ---------------------------------- */

/* The file's text for st (wall_s: the time written, for people; not judged).
 * The length, or -1 when it does not fit in cap. */
int health_format (const health_state_t *st, int64_t wall_s, char *buf, size_t cap);

/* Reads a file's text into st; 0, or -1 with err saying what is wrong (a
 * missing required key, a bad value, an unknown format). Unknown keys are
 * skipped (a newer writer may add some). */
int health_parse (const char *text, size_t len, health_state_t *st, char *err, size_t errcap);

/* Whether st is healthy in mode at now_ms, a file older than stale_ms being
 * stale: 0, or 1 with why (one line, no newline). */
int health_judge (const health_state_t *st, health_mode_t mode, int64_t now_ms, int64_t stale_ms,
                  char *why, size_t cap);

/* The file's path for daemon: PM_HEALTH_FILE, else $PM_DATA_DIR/<daemon>.health.
 * -1 when it does not fit. */
int health_path (const char *daemon, char *buf, size_t cap);

/* ---- the checker ------------------------------------------------------ */

/* `pm-<daemon> --check [ready|live]` (ready when omitted): the exit status.
 * Anything else on the command line: a usage line on stderr, 2. Call it
 * from main when argc > 1, before anything starts. */
int health_check_main (const char *daemon, int argc, char **argv);

/* ---- the daemon side (the loop thread, but health_busy_beat) ---------- */

/* A worker's database check (its heartbeat timer, with the database
 * worker_set_db gave it): due when never done or HEALTH_DB_CHECK_MS ago; the
 * caller then runs db_alive (SELECT 1), bracketed with worker_loop_busy (a
 * reconnect may hold the loop for seconds), and says what it found. Until
 * the first result the file says db=none (a worker without a database). */
bool health_db_due (void);
void health_db_result (bool up);

/* A worker's loop turned (its heartbeat timer): brokers_up of brokers links
 * heard. Writes the file when HEALTH_WRITE_MS passed or something changed. */
void health_loop_beat (const char *daemon, int brokers_up, int brokers);

/* The broker's loop turned (its heartbeat timer); its sockets are bound. */
void health_broker_beat (void);

/* From the worker's heartbeat thread while a handler or bracketed job holds
 * the loop since busy_since_ms (monotonic ms): writes the file with it every
 * HEALTH_WRITE_MS. A no-op before the loop's first beat. */
void health_busy_beat (int64_t busy_since_ms);

#endif
