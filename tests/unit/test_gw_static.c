/* test_gw_static: the console's files: realpath containment (links that lead
 * out), content types, and what gw_static_serve answers
 * (services/gateway/gw_static.c; the answer functions are stubbed here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/gateway/gw_static.c"
#include "../../services/gateway/url.c"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- stubs of gw_api.c: record the answer ------------------------------------ */
static int s_status;
static char s_type[64];
static size_t s_len;
static char s_extra[128];

void
gw_finish_raw (gw_ctx_t *ctx, int status, const char *content_type, char *body, size_t len,
               unsigned flags, const char *extra)
{
    (void) ctx;
    s_status = status;
    snprintf (s_type, sizeof s_type, "%s", content_type ? content_type : "");
    snprintf (s_extra, sizeof s_extra, "%s", extra ? extra : "");
    s_len = len;
    if (flags & HTTP_FREE_BODY)
        free (body);
}

void
gw_finish_error (gw_ctx_t *ctx, int status, const char *code, cJSON *details, const char *fmt, ...)
{
    (void) ctx;
    (void) fmt;
    s_status = status;
    snprintf (s_type, sizeof s_type, "error:%s", code);
    cJSON_Delete (details);
}

static char s_tmp[256];
static char s_root[PATH_MAX];

static void
s_write (const char *rel, const char *content)
{
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", s_tmp, rel);
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs (content, f);
    fclose (f);
}

static int
s_setup (void **state)
{
    (void) state;
    snprintf (s_tmp, sizeof s_tmp, "/tmp/gw-static-XXXXXX");
    if (!mkdtemp (s_tmp))
        return -1;
    char path[PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/web", s_tmp);
    mkdir (path, 0755);
    snprintf (path, sizeof path, "%s/web/sub", s_tmp);
    mkdir (path, 0755);
    s_write ("web/index.html", "<html>hi</html>");
    s_write ("web/app.js", "console.log(1)");
    s_write ("web/sub/x.css", "a{}");
    s_write ("secret.txt", "root:x:0:0");
    snprintf (path, sizeof path, "%s/web/out.txt", s_tmp);
    char target[PATH_MAX + 32];
    snprintf (target, sizeof target, "%s/secret.txt", s_tmp);
    if (symlink (target, path) != 0)
        return -1;
    snprintf (path, sizeof path, "%s/web/up", s_tmp);
    if (symlink ("..", path) != 0)
        return -1;
    snprintf (path, sizeof path, "%s/web/in.js", s_tmp);
    if (symlink ("app.js", path) != 0)
        return -1;
    snprintf (path, sizeof path, "%s/web", s_tmp);
    return realpath (path, s_root) ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    char cmd[PATH_MAX + 16];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_tmp);
    return system (cmd) == 0 ? 0 : -1;
}

static void
test_resolve (void **state)
{
    (void) state;
    char out[PATH_MAX];
    assert_int_equal (gw_static_resolve (s_root, "index.html", out), 0);
    assert_non_null (strstr (out, "/web/index.html"));
    assert_int_equal (gw_static_resolve (s_root, "sub/x.css", out), 0);
    assert_int_equal (gw_static_resolve (s_root, "in.js", out), 0);          /* a link inside: fine */
    assert_int_equal (gw_static_resolve (s_root, "out.txt", out), -1);       /* a link out: refused */
    assert_int_equal (gw_static_resolve (s_root, "up/secret.txt", out), -1); /* a directory link out */
    assert_int_equal (gw_static_resolve (s_root, "sub", out), -1);           /* a directory */
    assert_int_equal (gw_static_resolve (s_root, "missing.html", out), -1);
    assert_int_equal (gw_static_resolve (s_root, "../secret.txt", out), -1);
    assert_int_equal (gw_static_resolve ("", "index.html", out), -1);
    /* a root that is a prefix of a sibling ("/tmp/x/web" vs "/tmp/x/web2") */
    char sibling[PATH_MAX + 16];
    snprintf (sibling, sizeof sibling, "%s2", s_root);
    mkdir (sibling, 0755);
    char f[PATH_MAX + 32];
    snprintf (f, sizeof f, "%s/a.txt", sibling);
    FILE *fp = fopen (f, "w");
    fclose (fp);
    char rel[64];
    snprintf (rel, sizeof rel, "../web2/a.txt");
    assert_int_equal (gw_static_resolve (s_root, rel, out), -1);
    unlink (f);
    rmdir (sibling);
}

static void
test_types (void **state)
{
    (void) state;
    assert_string_equal (gw_static_type ("index.html"), "text/html; charset=utf-8");
    assert_string_equal (gw_static_type ("a/b/app.JS"), "text/javascript; charset=utf-8");
    assert_string_equal (gw_static_type ("x.css"), "text/css; charset=utf-8");
    assert_string_equal (gw_static_type ("logo.svg"), "image/svg+xml");
    assert_string_equal (gw_static_type ("font.woff2"), "font/woff2");
    assert_string_equal (gw_static_type ("noext"), "application/octet-stream");
    assert_string_equal (gw_static_type ("dir.js/file"), "application/octet-stream");
    assert_string_equal (gw_static_type ("x.exe"), "application/octet-stream");
}

static void
s_serve (const char *path)
{
    gw_t gw = { 0 };
    snprintf (gw.web_root, sizeof gw.web_root, "%s", s_root);
    gw_ctx_t ctx = { 0 };
    s_status = 0;
    s_type[0] = 0;
    gw_static_serve (&gw, &ctx, path, strlen (path));
}

static void
test_serve (void **state)
{
    (void) state;
    s_serve ("/");
    assert_int_equal (s_status, 200);
    assert_string_equal (s_type, "text/html; charset=utf-8");
    assert_int_equal (s_len, strlen ("<html>hi</html>"));
    assert_non_null (strstr (s_extra, "Cache-Control"));
    s_serve ("/sub/x.css");
    assert_int_equal (s_status, 200);
    const char *bad[] = { "/out.txt", "/up/secret.txt", "/../secret.txt", "/%2e%2e/secret.txt",
                          "/sub", "/sub/", "/nothing", "/.hidden", "/index.html%00" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_serve (bad[i]);
        if (s_status != 404)
            fail_msg ("%s -> %d", bad[i], s_status);
        assert_string_equal (s_type, "error:not_found");
    }
    gw_t none = { 0 };
    gw_ctx_t ctx = { 0 };
    gw_static_serve (&none, &ctx, "/", 1);
    assert_int_equal (s_status, 404);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_resolve),
        cmocka_unit_test (test_types),
        cmocka_unit_test (test_serve),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
