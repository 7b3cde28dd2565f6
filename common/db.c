/* db: a service's one PostgreSQL connection; see db.h.
 *
 * Connection states the rest of this file cares about:
 * - up: PQstatus is CONNECTION_OK; statements run.
 * - down: no connection or CONNECTION_BAD. The next statement outside a
 *   transaction reconnects first, at most once per backoff step (100 ms
 *   doubling to 2 s), so a worker answers 503 quickly while the database is
 *   away instead of blocking every request for the whole connect timeout.
 * - broken transaction: the connection dropped between db_begin and
 *   db_commit/db_rollback. Every statement then fails at once until the
 *   caller rolls back: reconnecting in the middle would run the rest of the
 *   transaction in autocommit mode and leave it half-written.
 *
 * Parameter values are never logged: they may be personal data. */
#include "db.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DB_BACKOFF_MIN_MS    100
#define DB_BACKOFF_MAX_MS    2000
#define DB_CONNECT_TIMEOUT_S "5"     /* per attempt: an unreachable host must not hang us */
#define DB_RETRY_CONFLICTS   3       /* extra tries for 40001 / 40P01 outside transactions */

/* Key of the advisory lock that serialises migrations (with hashtext (schema)). */
#define DB_MIGRATE_LOCK_KEY  0x706d   /* "pm" */

typedef struct {
    char *name;
    char *sql;
    bool idempotent;
} db_stmt_t;

struct db {
    char *schema;
    char *dsn;
    PGconn *conn;
    db_stmt_t *stmts;
    size_t nstmts, cap;
    bool in_tx;                      /* between db_begin and db_commit/db_rollback */
    bool in_request;                 /* inside a request's transaction (db_request_begin) */
    bool tx_broken;                  /* the connection dropped inside either */
    struct {
        void (*fn) (void *);
        void *arg;
    } after_commit[DB_AFTER_COMMIT_MAX];  /* db_after_commit's steps, for the request's commit */
    int nafter;
    int backoff_ms;                  /* next wait between reconnect attempts */
    int64_t next_attempt_ms;         /* monotonic ms before which we do not try again */
    int64_t statement_timeout_ms;
};

static void
s_sleep_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* libpq prints notices ("relation already exists, skipping") to stderr by
 * default, which would break our one-JSON-object-per-line logs. */
static void
s_notice (void *arg, const char *message)
{
    (void) arg;
    char line[512];
    snprintf (line, sizeof line, "%s", message);
    size_t n = strlen (line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
        line[--n] = 0;
    log_debug (NULL, "postgres: %s", line);
}

/* One connection attempt; 0 when connected, -1 otherwise (logged). */
static int
s_connect_once (db_t *self)
{
    if (self->conn) {
        PQfinish (self->conn);
        self->conn = NULL;
    }
    char appname[80];
    snprintf (appname, sizeof appname, "pm-%s", self->schema);
    /* Keywords before "dbname" are defaults the DSN may override. */
    const char *keys[] = { "connect_timeout", "fallback_application_name", "dbname", NULL };
    const char *vals[] = { DB_CONNECT_TIMEOUT_S, appname, self->dsn, NULL };
    self->conn = PQconnectdbParams (keys, vals, 1);
    if (!self->conn || PQstatus (self->conn) != CONNECTION_OK) {
        char msg[256];
        snprintf (msg, sizeof msg, "%s", self->conn ? PQerrorMessage (self->conn) : "out of memory");
        msg[strcspn (msg, "\n")] = 0;
        log_warn (NULL, "database connection failed: %s", msg);
        if (self->conn)
            PQfinish (self->conn);
        self->conn = NULL;
        return -1;
    }
    PQsetNoticeProcessor (self->conn, s_notice, NULL);
    return 0;
}

static int
s_command (PGconn *conn, const char *sql)
{
    PGresult *res = PQexec (conn, sql);
    int rc = db_ok (res) ? 0 : -1;
    if (rc)
        log_error (NULL, "database setup failed (%s): %s",
                   PQresultErrorField (res, PG_DIAG_SQLSTATE) ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : "-",
                   PQresultErrorField (res, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField (res, PG_DIAG_MESSAGE_PRIMARY)
                                                                      : PQerrorMessage (conn));
    PQclear (res);
    return rc;
}

/* What every new session needs: our schema first, then "ext" (the shared
 * extensions: btree_gist, pg_trgm; see deploy/postgres-init.sql), a
 * statement timeout, and the registered prepared statements (they die with
 * the session). */
static int
s_session_setup (db_t *self)
{
    char *ident = PQescapeIdentifier (self->conn, self->schema, strlen (self->schema));
    if (!ident)
        return -1;
    char sql[512];
    snprintf (sql, sizeof sql, "SET search_path TO %s, ext", ident);
    PQfreemem (ident);
    if (s_command (self->conn, sql))
        return -1;
    snprintf (sql, sizeof sql, "SET statement_timeout = %lld", (long long) self->statement_timeout_ms);
    if (s_command (self->conn, sql))
        return -1;
    for (size_t i = 0; i < self->nstmts; i++) {
        PGresult *res = PQprepare (self->conn, self->stmts[i].name, self->stmts[i].sql, 0, NULL);
        bool ok = db_ok (res);
        if (!ok)
            log_error (NULL, "prepare %s failed: %s", self->stmts[i].name, PQresultErrorMessage (res));
        PQclear (res);
        if (!ok)
            return -1;
    }
    return 0;
}

/* Makes sure we are connected. Tries at most once per backoff step. */
static int
s_ensure (db_t *self)
{
    if (self->conn && PQstatus (self->conn) == CONNECTION_OK)
        return 0;
    int64_t now = env_mono_ms ();
    if (now < self->next_attempt_ms)
        return -1;
    if (s_connect_once (self) == 0 && s_session_setup (self) == 0) {
        self->backoff_ms = DB_BACKOFF_MIN_MS;
        self->next_attempt_ms = 0;
        log_info (NULL, "database connected (schema %s)", self->schema);
        return 0;
    }
    if (self->conn) {
        PQfinish (self->conn);
        self->conn = NULL;
    }
    self->next_attempt_ms = now + self->backoff_ms;
    self->backoff_ms = self->backoff_ms * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS : self->backoff_ms * 2;
    return -1;
}

static bool
s_connection_lost (const db_t *self)
{
    return !self->conn || PQstatus (self->conn) == CONNECTION_BAD;
}

/* A failed result standing for "no connection": no SQLSTATE, which
 * db_reply_error answers with 503. */
static PGresult *
s_unavailable (db_t *self)
{
    PGresult *res = PQmakeEmptyPGresult (self->conn, PGRES_FATAL_ERROR);
    if (!res) {
        log_error (NULL, "out of memory making a database result");
        abort ();                    /* the contract says never NULL */
    }
    return res;
}

static bool
s_is_conflict (const PGresult *res)
{
    const char *state = PQresultErrorField (res, PG_DIAG_SQLSTATE);
    return state && (strcmp (state, "40001") == 0 || strcmp (state, "40P01") == 0);
}

/* Applies the migrations not yet recorded, each in its own transaction with
 * its record, under an advisory lock so concurrent instances apply each once. */
static int
s_migrate (db_t *self, const db_migration_t *migrations)
{
    PGconn *conn = self->conn;
    char *ident = PQescapeIdentifier (conn, self->schema, strlen (self->schema));
    char *lit = PQescapeLiteral (conn, self->schema, strlen (self->schema));
    int rc = -1;
    PGresult *res = NULL;
    if (!ident || !lit)
        goto out;

    /* The schema itself comes from scripts/pg.sh; say so clearly if it is missing. */
    char sql[1024];
    snprintf (sql, sizeof sql, "SELECT 1 FROM pg_namespace WHERE nspname = %s", lit);
    res = PQexec (conn, sql);
    if (!db_ok (res) || PQntuples (res) != 1) {
        log_error (NULL, "schema %s does not exist (scripts/pg.sh creates it)", self->schema);
        goto out;
    }
    PQclear (res);
    res = NULL;

    char lock[256];
    snprintf (lock, sizeof lock,
              "SELECT pg_advisory_xact_lock (%d, hashtext (%s))", DB_MIGRATE_LOCK_KEY, lit);
    /* Migrations may take longer than a request's statement timeout, and we
     * may wait for another instance's migration behind the lock. */
    const char *begin = "BEGIN; SET LOCAL statement_timeout = 0";
    if (s_command (conn, begin) || s_command (conn, lock))
        goto fail;
    snprintf (sql, sizeof sql,
              "CREATE TABLE IF NOT EXISTS %s.schema_migrations (\n"
              "  name       text PRIMARY KEY,\n"
              "  applied_at timestamptz NOT NULL DEFAULT now()\n"
              ")", ident);
    if (s_command (conn, sql) || s_command (conn, "COMMIT"))
        goto fail;

    char check[512], record[512];
    snprintf (check, sizeof check, "SELECT 1 FROM %s.schema_migrations WHERE name = $1", ident);
    snprintf (record, sizeof record, "INSERT INTO %s.schema_migrations (name) VALUES ($1)", ident);
    for (const db_migration_t *m = migrations; m && m->name; m++) {
        if (s_command (conn, begin) || s_command (conn, lock))
            goto fail;
        const char *params[] = { m->name };
        res = PQexecParams (conn, check, 1, NULL, params, NULL, NULL, 0);
        if (!db_ok (res))
            goto fail_res;
        bool applied = PQntuples (res) > 0;
        PQclear (res);
        res = NULL;
        if (applied) {
            if (s_command (conn, "COMMIT"))
                goto fail;
            continue;
        }
        /* A migration file may hold several statements (PQexec runs them all,
         * inside our transaction); it must not contain BEGIN or COMMIT. */
        res = PQexec (conn, m->sql);
        if (!db_ok (res)) {
            log_error (NULL, "migration %s failed (%s): %s", m->name,
                       PQresultErrorField (res, PG_DIAG_SQLSTATE) ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : "-",
                       PQresultErrorMessage (res));
            goto fail;
        }
        PQclear (res);
        res = PQexecParams (conn, record, 1, NULL, params, NULL, NULL, 0);
        if (!db_ok (res))
            goto fail_res;
        PQclear (res);
        res = NULL;
        if (s_command (conn, "COMMIT"))
            goto fail;
        log_info (NULL, "migration %s applied (schema %s)", m->name, self->schema);
    }
    rc = 0;
    goto out;
fail_res:
    log_error (NULL, "migration bookkeeping failed: %s", PQresultErrorMessage (res));
fail:
    if (PQstatus (conn) == CONNECTION_OK && PQtransactionStatus (conn) != PQTRANS_IDLE) {
        PGresult *rb = PQexec (conn, "ROLLBACK");
        PQclear (rb);
    }
out:
    PQclear (res);
    PQfreemem (ident);
    PQfreemem (lit);
    return rc;
}

db_t *
db_new (const char *schema, const char *dsn, const db_migration_t *migrations)
{
    if (!schema || !*schema || !dsn)
        return NULL;
    db_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->schema = strdup (schema);
    self->dsn = strdup (dsn);
    self->backoff_ms = DB_BACKOFF_MIN_MS;
    self->statement_timeout_ms = config_int ("PM_DB_STATEMENT_TIMEOUT_MS", 5000, 0, 86400000);
    int64_t timeout_ms = config_int ("PM_DB_CONNECT_TIMEOUT_MS", 30000, 0, 86400000);
    if (!self->schema || !self->dsn)
        goto fail;

    int64_t give_up = env_mono_ms () + timeout_ms;
    int backoff = DB_BACKOFF_MIN_MS;
    for (;;) {
        if (s_connect_once (self) == 0 && s_session_setup (self) == 0)
            break;
        int64_t left = give_up - env_mono_ms ();
        if (left <= 0) {
            log_error (NULL, "database not reachable within %lld ms; giving up", (long long) timeout_ms);
            goto fail;
        }
        s_sleep_ms (backoff < left ? backoff : (int) left);
        backoff = backoff * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS : backoff * 2;
    }
    if (s_migrate (self, migrations))
        goto fail;
    log_info (NULL, "database ready (schema %s)", self->schema);
    return self;
fail:
    db_destroy (&self);
    return NULL;
}

void
db_destroy (db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    db_t *self = *self_p;
    if (self->conn)
        PQfinish (self->conn);
    for (size_t i = 0; i < self->nstmts; i++) {
        free (self->stmts[i].name);
        free (self->stmts[i].sql);
    }
    free (self->stmts);
    free (self->schema);
    free (self->dsn);
    free (self);
    *self_p = NULL;
}

PGconn *
db_conn (db_t *self)
{
    return self->conn;
}

static db_stmt_t *
s_find (db_t *self, const char *name)
{
    for (size_t i = 0; i < self->nstmts; i++)
        if (strcmp (self->stmts[i].name, name) == 0)
            return &self->stmts[i];
    return NULL;
}

int
db_prepare (db_t *self, const char *name, const char *sql, bool idempotent)
{
    const db_stmt_t *known = s_find (self, name);
    if (known) {
        /* the same statement again (a second user of a module) is fine */
        if (strcmp (known->sql, sql) == 0 && known->idempotent == idempotent)
            return 0;
        log_error (NULL, "statement %s registered twice with different SQL", name);
        return -1;
    }
    if (self->nstmts == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        db_stmt_t *stmts = realloc (self->stmts, cap * sizeof *stmts);
        if (!stmts)
            return -1;
        self->stmts = stmts;
        self->cap = cap;
    }
    db_stmt_t *st = &self->stmts[self->nstmts];
    st->name = strdup (name);
    st->sql = strdup (sql);
    st->idempotent = idempotent;
    if (!st->name || !st->sql) {
        free (st->name);
        free (st->sql);
        return -1;
    }
    /* Registered even when the connection is down: the next reconnect prepares it. */
    if (self->conn && PQstatus (self->conn) == CONNECTION_OK) {
        PGresult *res = PQprepare (self->conn, name, sql, 0, NULL);
        bool ok = db_ok (res);
        if (!ok && !s_connection_lost (self)) {
            log_error (NULL, "prepare %s failed: %s", name, PQresultErrorMessage (res));
            PQclear (res);
            free (st->name);
            free (st->sql);
            return -1;
        }
        PQclear (res);
    }
    self->nstmts++;
    return 0;
}

int
db_prepare_all (db_t *self, const db_statement_t *statements, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (db_prepare (self, statements[i].name, statements[i].sql, statements[i].idempotent)) {
            log_error (NULL, "cannot prepare %s", statements[i].name);
            return -1;
        }
    return 0;
}

/* Runs one statement (prepared when name is set, else plain sql) with the
 * retry rules of db.h. */
static PGresult *
s_run (db_t *self, const char *name, const char *sql, int nparams, const char *const *values,
       bool idempotent)
{
    if ((self->in_tx || self->in_request) && (self->tx_broken || s_connection_lost (self))) {
        /* Never reconnect in the middle of a transaction (see the top of this file). */
        self->tx_broken = true;
        return s_unavailable (self);
    }
    bool reconnected = false;
    int conflicts = 0;
    for (;;) {
        if (s_ensure (self))
            return s_unavailable (self);
        PGTransactionStatusType ts = PQtransactionStatus (self->conn);
        bool in_tx = self->in_tx || self->in_request || ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
        PGresult *res = name ? PQexecPrepared (self->conn, name, nparams, values, NULL, NULL, 0)
                             : PQexec (self->conn, sql);
        if (!res)
            res = s_unavailable (self);
        if (db_ok (res))
            return res;
        if (s_connection_lost (self)) {
            if (in_tx) {
                self->tx_broken = true;
                return res;
            }
            /* Unknown whether it ran: only a statement marked safe to repeat is retried. */
            if (idempotent && !reconnected) {
                reconnected = true;
                log_warn (NULL, "database connection lost; retrying %s", name ? name : "statement");
                PQclear (res);
                self->next_attempt_ms = 0;
                continue;
            }
            return res;
        }
        if (s_is_conflict (res) && !in_tx && conflicts < DB_RETRY_CONFLICTS) {
            /* A single statement rolled back whole: repeating it is safe. */
            conflicts++;
            PQclear (res);
            s_sleep_ms (10 * conflicts);
            continue;
        }
        return res;
    }
}

/* The next result of a pipeline's query, its NULL read too; NULL when the
 * connection gave none. */
static PGresult *
s_pipeline_result (PGconn *conn)
{
    PGresult *res = PQgetResult (conn), *more;
    while (res && (more = PQgetResult (conn)) != NULL)
        PQclear (more);              /* a query gives one result, then NULL */
    return res;
}

/* SAVEPOINT, the prepared statement and RELEASE in one round trip (libpq's
 * pipeline mode): the statement's result (a failure without SQLSTATE when the
 * connection broke: the request's transaction is then broken), or NULL when
 * pipeline mode could not be entered (nothing was sent). *undo: the statement
 * failed, the RELEASE did not run, and the savepoint is still to be rolled
 * back to. */
static PGresult *
s_pipelined (db_t *self, const char *name, int nparams, const char *const *values, bool *undo)
{
    PGconn *c = self->conn;
    *undo = false;
    if (!c || PQstatus (c) != CONNECTION_OK || PQenterPipelineMode (c) != 1)
        return NULL;
    bool sent = PQsendQueryParams (c, "SAVEPOINT pm_statement", 0, NULL, NULL, NULL, NULL, 0)
                && PQsendQueryPrepared (c, name, nparams, values, NULL, NULL, 0)
                && PQsendQueryParams (c, "RELEASE SAVEPOINT pm_statement", 0, NULL, NULL, NULL, NULL, 0)
                && PQpipelineSync (c);
    PGresult *savepoint = sent ? s_pipeline_result (c) : NULL;
    PGresult *res = sent ? s_pipeline_result (c) : NULL;
    PGresult *release = sent ? s_pipeline_result (c) : NULL;
    if (sent)
        PQclear (PQgetResult (c));   /* PGRES_PIPELINE_SYNC */
    if (PQexitPipelineMode (c) != 1) {
        /* results left unread: the connection broke half way; a new one next time */
        PQfinish (self->conn);
        self->conn = NULL;
    }
    if (s_connection_lost (self)) {
        self->tx_broken = true;
        PQclear (savepoint);
        PQclear (res);
        PQclear (release);
        return s_unavailable (self);
    }
    if (!db_ok (savepoint) || !res) {
        /* the statement never ran: the savepoint's failure is the answer */
        PQclear (res);
        PQclear (release);
        return savepoint ? savepoint : s_unavailable (self);
    }
    PQclear (savepoint);
    if (db_ok (res) && !db_ok (release)) {
        PQclear (res);
        return release ? release : s_unavailable (self);
    }
    PQclear (release);
    *undo = !db_ok (res);
    return res;
}

/* s_run, and inside a request's transaction but outside the handler's own a
 * statement under a savepoint of its own: one that fails undoes only itself
 * and leaves the request's transaction usable, as on its own it would have
 * left the session (db.h, db_request_begin). A prepared statement takes one
 * round trip for the three (s_pipelined); plain SQL three. */
static PGresult *
s_statement (db_t *self, const char *name, const char *sql, int nparams, const char *const *values,
             bool idempotent)
{
    if (!self->in_request || self->in_tx)
        return s_run (self, name, sql, nparams, values, idempotent);
    if (self->tx_broken || s_connection_lost (self)) {
        self->tx_broken = true;
        return s_unavailable (self);
    }
    PGresult *res;
    if (name) {
        bool undo;
        res = s_pipelined (self, name, nparams, values, &undo);
        if (!res)                    /* it could not enter pipeline mode */
            return s_unavailable (self);
        if (undo)
            PQclear (s_run (self, NULL, "ROLLBACK TO SAVEPOINT pm_statement", 0, NULL, false));
        return res;
    }
    res = s_run (self, NULL, "SAVEPOINT pm_statement", 0, NULL, false);
    if (!db_ok (res))
        return res;
    PQclear (res);
    res = s_run (self, NULL, sql, 0, NULL, idempotent);
    PGresult *end = s_run (self, NULL, db_ok (res) ? "RELEASE SAVEPOINT pm_statement"
                                                   : "ROLLBACK TO SAVEPOINT pm_statement",
                           0, NULL, false);
    if (db_ok (res) && !db_ok (end)) {
        PQclear (res);
        return end;
    }
    PQclear (end);
    return res;
}

/* A prepared statement by name: s_statement, or s_run when it needs no
 * savepoint of its own (db_exec_plain). */
static PGresult *
s_exec (db_t *self, const char *name, int nparams, const char *const *values, bool alone)
{
    const db_stmt_t *st = s_find (self, name);
    if (!st)
        log_error (NULL, "statement %s was never registered with db_prepare", name);
    /* An unknown name still goes to the server, which answers 26000 (-> 500). */
    bool idempotent = st && st->idempotent;
    return alone ? s_statement (self, name, NULL, nparams, values, idempotent)
                 : s_run (self, name, NULL, nparams, values, idempotent);
}

PGresult *
db_exec (db_t *self, const char *name, int nparams, const char *const *values)
{
    return s_exec (self, name, nparams, values, true);
}

PGresult *
db_exec_plain (db_t *self, const char *name, int nparams, const char *const *values)
{
    return s_exec (self, name, nparams, values, false);
}

PGresult *
db_query (db_t *self, const char *sql)
{
    return s_statement (self, NULL, sql, 0, NULL, false);
}

bool
db_ok (const PGresult *res)
{
    ExecStatusType st = PQresultStatus (res);
    return res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
}

/* A plain statement on a live connection, its result dropped (rollbacks). */
static void
s_discard (db_t *self, const char *sql)
{
    if (self->conn && PQstatus (self->conn) == CONNECTION_OK
        && PQtransactionStatus (self->conn) != PQTRANS_IDLE)
        PQclear (PQexec (self->conn, sql));
}

int
db_begin (db_t *self)
{
    if (self->in_tx) {
        log_error (NULL, "db_begin inside a transaction");
        return -1;
    }
    /* BEGIN has no effect to lose: after a dropped connection it is simply
     * repeated. In a request's transaction, the handler's is a savepoint. */
    PGresult *res = self->in_request ? s_run (self, NULL, "SAVEPOINT pm_handler", 0, NULL, false)
                                     : s_run (self, NULL, "BEGIN", 0, NULL, true);
    int rc = db_ok (res) ? 0 : -1;
    PQclear (res);
    if (rc == 0) {
        self->in_tx = true;
        if (!self->in_request)
            self->tx_broken = false;
    }
    return rc;
}

int
db_commit (db_t *self)
{
    if (!self->in_tx) {
        log_error (NULL, "db_commit without a transaction");
        return -1;
    }
    if (self->in_request) {
        PGresult *res = s_run (self, NULL, "RELEASE SAVEPOINT pm_handler", 0, NULL, false);
        int rc = db_ok (res) ? 0 : -1;
        PQclear (res);
        if (rc)
            s_discard (self, "ROLLBACK TO SAVEPOINT pm_handler");
        self->in_tx = false;
        return rc;
    }
    PGresult *res = s_run (self, NULL, "COMMIT", 0, NULL, false);
    /* COMMIT of a transaction that failed answers ROLLBACK without an error. */
    int rc = db_ok (res) && strcmp (PQcmdStatus (res), "COMMIT") == 0 ? 0 : -1;
    PQclear (res);
    if (rc)
        s_discard (self, "ROLLBACK");
    self->in_tx = false;
    self->tx_broken = false;
    return rc;
}

void
db_rollback (db_t *self)
{
    if (self->in_request) {
        /* the request's transaction goes on; only the handler's is undone
         * (none open: every statement was on its own already) */
        if (self->in_tx)
            s_discard (self, "ROLLBACK TO SAVEPOINT pm_handler");
        self->in_tx = false;
        return;
    }
    s_discard (self, "ROLLBACK");
    self->in_tx = false;
    self->tx_broken = false;
}

int
db_request_begin (db_t *self)
{
    if (self->in_tx || self->in_request) {
        log_error (NULL, "db_request_begin inside a transaction");
        return -1;
    }
    PGresult *res = s_run (self, NULL, "BEGIN", 0, NULL, true);
    int rc = db_ok (res) ? 0 : -1;
    PQclear (res);
    if (rc == 0) {
        self->in_request = true;
        self->tx_broken = false;
        self->nafter = 0;
    }
    return rc;
}

int
db_request_commit (db_t *self)
{
    if (!self->in_request) {
        log_error (NULL, "db_request_commit without a request's transaction");
        return -1;
    }
    int rc = -1;
    if (self->in_tx)
        log_error (NULL, "a handler left its transaction open: the request is rolled back");
    else {
        PGresult *res = s_run (self, NULL, "COMMIT", 0, NULL, false);
        rc = db_ok (res) && strcmp (PQcmdStatus (res), "COMMIT") == 0 ? 0 : -1;
        PQclear (res);
    }
    int nafter = self->nafter;
    self->in_request = false;        /* the steps below run as after any commit */
    if (rc) {
        db_request_rollback (self);
        return rc;
    }
    self->tx_broken = false;
    self->nafter = 0;
    for (int i = 0; i < nafter; i++)
        self->after_commit[i].fn (self->after_commit[i].arg);
    return 0;
}

void
db_request_rollback (db_t *self)
{
    s_discard (self, "ROLLBACK");
    self->in_request = self->in_tx = self->tx_broken = false;
    self->nafter = 0;
}

void
db_after_commit (db_t *self, void (*fn) (void *), void *arg)
{
    if (self->in_request) {
        for (int i = 0; i < self->nafter; i++)
            if (self->after_commit[i].fn == fn && self->after_commit[i].arg == arg)
                return;
        if (self->nafter < DB_AFTER_COMMIT_MAX) {
            self->after_commit[self->nafter].fn = fn;
            self->after_commit[self->nafter++].arg = arg;
            return;
        }
        log_warn (NULL, "more than %d steps after one commit: one runs early", DB_AFTER_COMMIT_MAX);
    }
    fn (arg);
}

const char *
db_sqlstate (const PGresult *res)
{
    const char *state = res ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL;
    return state ? state : "";
}

int
db_sqlstate_status (const char *sqlstate, const char **code)
{
    const char *c = "internal";
    int status = 500;
    if (!sqlstate || strlen (sqlstate) != 5)
        ;
    else if (strcmp (sqlstate, "23505") == 0 || strcmp (sqlstate, "23P01") == 0)
        status = 409, c = "conflict";
    else if (strcmp (sqlstate, "23503") == 0 || strcmp (sqlstate, "23514") == 0
             || strncmp (sqlstate, "22", 2) == 0)
        status = 422, c = "validation_failed";
    else if (strcmp (sqlstate, "57014") == 0)
        status = 504, c = "timeout";
    /* Class 08 is a lost connection; 57P01-57P03 a server shutting down or
     * starting; 40001/40P01 reach a caller only when retrying did not help
     * (or inside a transaction): all are worth trying again later. */
    else if (strncmp (sqlstate, "08", 2) == 0 || strcmp (sqlstate, "57P01") == 0
             || strcmp (sqlstate, "57P02") == 0 || strcmp (sqlstate, "57P03") == 0
             || strcmp (sqlstate, "40001") == 0 || strcmp (sqlstate, "40P01") == 0)
        status = 503, c = "service_unavailable";
    if (code)
        *code = c;
    return status;
}

void
db_reply_json (PGresult *res, env_reply_t *rep, const char *request_id, int status,
               const char *not_found)
{
    if (!db_ok (res))
        db_reply_error (res, rep, request_id);
    else if (PQntuples (res) == 0 || PQgetisnull (res, 0, 0))
        env_reply_error (rep, 404, "not_found", NULL, "%s", not_found);
    else {
        cJSON *body = cJSON_Parse (PQgetvalue (res, 0, 0));
        if (body)
            env_reply_ok (rep, status, body);
        else
            env_reply_error (rep, 500, "internal", NULL, "cannot build the reply");
    }
    PQclear (res);
}

void
db_reply_error (const PGresult *res, env_reply_t *rep, const char *request_id)
{
    const char *state = PQresultErrorField (res, PG_DIAG_SQLSTATE);
    if (!state) {
        /* libpq's own errors carry no SQLSTATE: the connection is gone or unusable. */
        char msg[256];
        snprintf (msg, sizeof msg, "%s", res ? PQresultErrorMessage (res) : "");
        msg[strcspn (msg, "\n")] = 0;
        log_error (request_id, "database unavailable: %s", *msg ? msg : "no connection");
        env_reply_error (rep, 503, "service_unavailable", NULL, "database unavailable");
        return;
    }
    const char *code;
    int status = db_sqlstate_status (state, &code);
    const char *constraint = PQresultErrorField (res, PG_DIAG_CONSTRAINT_NAME);
    const char *table = PQresultErrorField (res, PG_DIAG_TABLE_NAME);
    const char *primary = PQresultErrorField (res, PG_DIAG_MESSAGE_PRIMARY);
    /* Data exceptions (22xxx) and raised exceptions (P0xxx) quote the input
     * in their message; the detail field of any error may quote row values. */
    bool quotes_input = strncmp (state, "22", 2) == 0 || strncmp (state, "P0", 2) == 0;
    log_msg (status >= 500 ? LOG_ERROR : LOG_INFO, request_id,
             "database error %s (table %s, constraint %s): %s", state,
             table ? table : "-", constraint ? constraint : "-",
             quotes_input || !primary ? "(message withheld)" : primary);
    const char *message;
    switch (status) {
    case 409: message = "conflicts with an existing record"; break;
    case 422: message = "the database rejected a value"; break;
    case 503: message = "database unavailable, try again"; break;
    case 504: message = "the database took too long"; break;
    default:  message = "database error"; break;
    }
    cJSON *details = NULL;
    if (constraint && status == 422) {
        details = cJSON_CreateArray ();
        cJSON *d = cJSON_CreateObject ();
        cJSON_AddStringToObject (d, "field", constraint);
        cJSON_AddStringToObject (d, "problem", "violates a rule of the data");
        cJSON_AddItemToArray (details, d);
    }
    env_reply_error (rep, status, code, details, "%s", message);
}

bool
db_alive (db_t *self)
{
    if (self->in_tx || self->in_request)
        return self->conn && PQstatus (self->conn) == CONNECTION_OK && !self->tx_broken;
    PGresult *res = s_run (self, NULL, "SELECT 1", 0, NULL, true);
    bool ok = db_ok (res);
    PQclear (res);
    return ok;
}

void
db_ping_reply (db_t *self, const char *service, env_reply_t *rep)
{
    if (!db_alive (self)) {
        env_reply_error (rep, 503, "service_unavailable", NULL, "database unavailable");
        return;
    }
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "service", service);
    cJSON_AddNumberToObject (body, "pid", (double) getpid ());
    cJSON_AddStringToObject (body, "db", "ok");
    env_reply_ok (rep, 200, body);
}

void
db_fail (db_t *self, const char *request_id, env_reply_t *rep, const char *what)
{
    db_rollback (self);
    PGconn *conn = db_conn (self);
    if (!conn || PQstatus (conn) != CONNECTION_OK) {
        log_error (request_id, "%s: database connection lost", what);
        env_reply_error (rep, 503, "service_unavailable", NULL, "database unavailable, try again");
    }
    else {
        log_error (request_id, "%s failed", what);
        env_reply_error (rep, 500, "internal", NULL, "%s failed", what);
    }
}

bool
db_one_row (db_t *self, const PGresult *res, env_reply_t *rep, const char *request_id, const char *what)
{
    if (db_ok (res) && PQntuples (res) == 1)
        return true;
    if (db_ok (res))
        db_fail (self, request_id, rep, what);
    else {
        db_reply_error (res, rep, request_id);
        db_rollback (self);
    }
    return false;
}
