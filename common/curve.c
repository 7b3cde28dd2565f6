/* curve: keys on disk, and the socket options of the encrypted bus (curve.h). */
#include "curve.h"
#include "config.h"
#include "log.h"
#include "mdp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define CURVE_ZAP_DOMAIN "pm"

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static bool s_ready;
static char s_identity[CURVE_IDENTITY_MAX + 1];
static char s_public[CURVE_Z85_LEN + 1];
static char s_secret[CURVE_Z85_LEN + 1];
static char s_broker[CURVE_Z85_LEN + 1];

const char *
curve_keys_dir (void)
{
    static char dir[PATH_MAX];
    const char *set = config_str ("PM_KEYS_DIR", NULL);
    if (set)
        snprintf (dir, sizeof dir, "%s", set);
    else
        snprintf (dir, sizeof dir, "%s/keys", config_data_dir ());
    return dir;
}

static bool
s_identity_valid (const char *s)
{
    return s && mdp_name_valid (s, strlen (s));
}

/* A Z85 key of exactly 40 characters that decodes. */
static bool
s_z85_key (const char *z85, unsigned char key[32])
{
    unsigned char tmp[32];
    if (strlen (z85) != CURVE_Z85_LEN || !zmq_z85_decode (key ? key : tmp, z85))
        return false;
    return true;
}

/* Reads a small file into buf; -1 with errno. */
static int
s_read_file (const char *path, char *buf, size_t cap)
{
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    size_t n = fread (buf, 1, cap - 1, f);
    int err = ferror (f) ? EIO : 0;
    fclose (f);
    if (err) {
        errno = err;
        return -1;
    }
    buf[n] = 0;
    return 0;
}

/* "public <z85>\nsecret <z85>\n" */
static int
s_load_keypair (const char *path, char pub[CURVE_Z85_LEN + 1], char sec[CURVE_Z85_LEN + 1])
{
    char text[256];
    if (s_read_file (path, text, sizeof text) != 0) {
        log_error (NULL, "curve: cannot read %s: %s (make run writes it; see README, Security)",
                   path, strerror (errno));
        return -1;
    }
    struct stat st;
    if (stat (path, &st) == 0 && (st.st_mode & 007))   /* group: Kubernetes' fsGroup */
        log_warn (NULL, "curve: %s is readable by anyone (mode %03o): it holds a secret key",
                  path, (unsigned) (st.st_mode & 0777));
    char p[64] = "", s[64] = "";
    if (sscanf (text, "public %63s secret %63s", p, s) != 2 || !s_z85_key (p, NULL)
        || !s_z85_key (s, NULL)) {
        log_error (NULL, "curve: %s is not a keypair (\"public <z85>\\nsecret <z85>\")", path);
        return -1;
    }
    char derived[CURVE_Z85_LEN + 1];
    if (zmq_curve_public (derived, s) != 0 || strcmp (derived, p) != 0) {
        log_error (NULL, "curve: in %s the public key does not belong to the secret key", path);
        return -1;
    }
    memcpy (pub, p, CURVE_Z85_LEN + 1);
    memcpy (sec, s, CURVE_Z85_LEN + 1);
    return 0;
}

int
curve_init (const char *identity)
{
    if (!zmq_has ("curve")) {
        log_error (NULL, "curve: this libzmq has no CURVE support: refusing to run on a plain bus");
        return -1;
    }
    if (!identity || !s_identity_valid (identity)) {
        log_error (NULL, "curve: bad identity");
        return -1;
    }
    const char *dir = curve_keys_dir ();
    char path[PATH_MAX];
    char pub[CURVE_Z85_LEN + 1], sec[CURVE_Z85_LEN + 1], broker[CURVE_Z85_LEN + 1] = "";
    snprintf (path, sizeof path, "%s/%s.key", dir, identity);
    if (s_load_keypair (path, pub, sec) != 0)
        return -1;
    if (strcmp (identity, "broker") == 0)
        memcpy (broker, pub, sizeof broker);
    else {
        char text[128];
        snprintf (path, sizeof path, "%s/broker.pub", dir);
        if (s_read_file (path, text, sizeof text) != 0) {
            log_error (NULL, "curve: cannot read %s: %s", path, strerror (errno));
            return -1;
        }
        text[strcspn (text, " \t\r\n")] = 0;
        if (!s_z85_key (text, NULL)) {
            log_error (NULL, "curve: %s is not a Z85 public key", path);
            return -1;
        }
        memcpy (broker, text, sizeof broker);
    }
    pthread_mutex_lock (&s_lock);
    snprintf (s_identity, sizeof s_identity, "%s", identity);
    memcpy (s_public, pub, sizeof s_public);
    memcpy (s_secret, sec, sizeof s_secret);
    memcpy (s_broker, broker, sizeof s_broker);
    s_ready = true;
    pthread_mutex_unlock (&s_lock);
    if (!CURVE_ENFORCED)
        log_warn (NULL, "built with PM_BENCH_PLAIN_BUS: the bus is NOT encrypted or "
                  "authenticated; for benchmarks only");
    return 0;
}

const char *
curve_identity (void)
{
    return s_ready ? s_identity : NULL;
}

int
curve_client (void *sock)
{
    pthread_mutex_lock (&s_lock);
    int rc = 0;
    if (s_ready && CURVE_ENFORCED
        && (zmq_setsockopt (sock, ZMQ_CURVE_SERVERKEY, s_broker, CURVE_Z85_LEN) != 0
            || zmq_setsockopt (sock, ZMQ_CURVE_PUBLICKEY, s_public, CURVE_Z85_LEN) != 0
            || zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, s_secret, CURVE_Z85_LEN) != 0))
        rc = -1;
    pthread_mutex_unlock (&s_lock);
    return rc;
}

int
curve_server (void *sock)
{
    int one = 1;
    if (!CURVE_ENFORCED)
        return 0;
    pthread_mutex_lock (&s_lock);
    int rc = -1;
    if (s_ready && strcmp (s_identity, "broker") == 0
        && zmq_setsockopt (sock, ZMQ_CURVE_SERVER, &one, sizeof one) == 0
        && zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, s_secret, CURVE_Z85_LEN) == 0
        /* libzmq lets every CURVE client in when no ZAP handler is bound
         * (ZMQ_ZAP_ENFORCE_DOMAIN is a draft option Debian's build lacks):
         * the broker binds its handler before any of these sockets */
        && zmq_setsockopt (sock, ZMQ_ZAP_DOMAIN, CURVE_ZAP_DOMAIN, strlen (CURVE_ZAP_DOMAIN)) == 0)
        rc = 0;
    pthread_mutex_unlock (&s_lock);
    return rc;
}

/* ---- the allow-list ---------------------------------------------------- */

int
curve_allow_parse_line (const char *line, char identity[CURVE_IDENTITY_MAX + 1],
                        unsigned char key[32])
{
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line == 0 || *line == '#' || *line == '\n' || *line == '\r')
        return 0;
    char id[64], z85[64], rest[8];
    int n = sscanf (line, "%63s %63s %7s", id, z85, rest);
    if (n != 2 || !s_identity_valid (id) || !s_z85_key (z85, key))
        return -1;
    memcpy (identity, id, strlen (id) + 1);      /* valid: at most 32 characters */
    return 1;
}

int
curve_allow_load (const char *dir, curve_allow_t *allow)
{
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/allow", dir);
    memset (allow, 0, sizeof *allow);
    FILE *f = fopen (path, "r");
    if (!f) {
        log_error (NULL, "curve: cannot read the allow-list %s: %s", path, strerror (errno));
        return -1;
    }
    char line[256];
    int lineno = 0, rc = 0;
    while (fgets (line, sizeof line, f)) {
        lineno++;
        char identity[CURVE_IDENTITY_MAX + 1];
        unsigned char key[32];
        int r = curve_allow_parse_line (line, identity, key);
        if (r == 0)
            continue;
        if (r < 0) {
            log_error (NULL, "curve: %s line %d: expected \"<identity> <z85 public key>\"", path, lineno);
            rc = -1;
            break;
        }
        if (allow->count == CURVE_ALLOW_MAX) {
            log_error (NULL, "curve: %s has more than %d keys", path, CURVE_ALLOW_MAX);
            rc = -1;
            break;
        }
        memcpy (allow->entry[allow->count].identity, identity, sizeof identity);
        memcpy (allow->entry[allow->count].key, key, 32);
        allow->count++;
    }
    fclose (f);
    return rc;
}

const char *
curve_allow_find (const curve_allow_t *allow, const unsigned char key[32])
{
    for (size_t i = 0; i < allow->count; i++)
        if (memcmp (allow->entry[i].key, key, 32) == 0)
            return allow->entry[i].identity;
    return NULL;
}

/* ---- key generation ---------------------------------------------------- */

/* Writes text to path atomically, mode 0600. */
static int
s_write_private (const char *path, const char *text)
{
    char tmp[PATH_MAX];
    snprintf (tmp, sizeof tmp, "%s.tmp.%d", path, (int) getpid ());
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen (text);
    int rc = write (fd, text, len) == (ssize_t) len && fsync (fd) == 0 ? 0 : -1;
    close (fd);
    if (rc == 0 && rename (tmp, path) != 0)
        rc = -1;
    if (rc != 0)
        unlink (tmp);
    return rc;
}

static int
s_append_private (const char *path, const char *text)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen (text);
    int rc = write (fd, text, len) == (ssize_t) len ? 0 : -1;
    close (fd);
    return rc;
}

int
curve_keygen (const char *dir, const char *const *identities)
{
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        log_error (NULL, "curve: cannot create %s: %s", dir, strerror (errno));
        return -1;
    }
    chmod (dir, 0700);
    char path[PATH_MAX];
    curve_allow_t *allow = calloc (1, sizeof *allow);
    if (!allow)
        return -1;
    snprintf (path, sizeof path, "%s/allow", dir);
    if (access (path, F_OK) == 0 && curve_allow_load (dir, allow) != 0) {
        free (allow);
        return -1;
    }
    int rc = 0;
    for (const char *const *id = identities; *id && rc == 0; id++) {
        if (!s_identity_valid (*id)) {
            log_error (NULL, "curve: bad identity '%s'", *id);
            rc = -1;
            break;
        }
        char pub[CURVE_Z85_LEN + 1], sec[CURVE_Z85_LEN + 1];
        snprintf (path, sizeof path, "%s/%s.key", dir, *id);
        if (access (path, F_OK) == 0) {
            if (s_load_keypair (path, pub, sec) != 0) {
                rc = -1;
                break;
            }
        }
        else {
            char text[128];
            if (zmq_curve_keypair (pub, sec) != 0) {
                log_error (NULL, "curve: cannot make a keypair: %s", zmq_strerror (errno));
                rc = -1;
                break;
            }
            snprintf (text, sizeof text, "public %s\nsecret %s\n", pub, sec);
            if (s_write_private (path, text) != 0) {
                log_error (NULL, "curve: cannot write %s: %s", path, strerror (errno));
                rc = -1;
                break;
            }
        }
        if (strcmp (*id, "broker") == 0) {
            char text[64];
            snprintf (text, sizeof text, "%s\n", pub);
            snprintf (path, sizeof path, "%s/broker.pub", dir);
            if (s_write_private (path, text) != 0) {
                log_error (NULL, "curve: cannot write %s: %s", path, strerror (errno));
                rc = -1;
            }
            continue;                /* the broker is the server: not on its own list */
        }
        unsigned char key[32];
        zmq_z85_decode (key, pub);
        if (curve_allow_find (allow, key))
            continue;
        char line[128];
        snprintf (line, sizeof line, "%s %s\n", *id, pub);
        snprintf (path, sizeof path, "%s/allow", dir);
        if (s_append_private (path, line) != 0) {
            log_error (NULL, "curve: cannot write %s: %s", path, strerror (errno));
            rc = -1;
        }
        else if (allow->count < CURVE_ALLOW_MAX) {
            memcpy (allow->entry[allow->count].identity, *id, strlen (*id) + 1);
            memcpy (allow->entry[allow->count].key, key, 32);
            allow->count++;
        }
    }
    free (allow);
    return rc;
}
