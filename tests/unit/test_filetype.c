/* test_filetype: attachments' media types by their magic bytes, names as
 * clients send them, and the Content-Disposition that serves them back
 * (common/filetype.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "filetype.h"

static const unsigned char s_jpeg[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F' };
static const unsigned char s_png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13 };
static const unsigned char s_webp[] = { 'R', 'I', 'F', 'F', 0x24, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P' };
static const char s_pdf[] = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";

static void
test_sniff (void **state)
{
    (void) state;
    assert_string_equal (filetype_sniff (s_jpeg, sizeof s_jpeg), "image/jpeg");
    assert_string_equal (filetype_sniff (s_png, sizeof s_png), "image/png");
    assert_string_equal (filetype_sniff (s_webp, sizeof s_webp), "image/webp");
    assert_string_equal (filetype_sniff (s_pdf, strlen (s_pdf)), "application/pdf");
    /* too short to be sure, or something else */
    assert_null (filetype_sniff (s_jpeg, 2));
    assert_null (filetype_sniff (s_png, 7));
    assert_null (filetype_sniff ("RIFF\x24\0\0\0WAVEfmt ", 16));      /* a WAV is RIFF too */
    assert_null (filetype_sniff ("%PDF", 4));
    assert_null (filetype_sniff ("<html><script>", 14));
    assert_null (filetype_sniff ("GIF89a", 6));
    assert_null (filetype_sniff ("", 0));
    assert_null (filetype_sniff (NULL, 10));
}

static void
test_matches (void **state)
{
    (void) state;
    assert_true (filetype_matches ("image/png", s_png, sizeof s_png));
    assert_true (filetype_matches ("application/pdf", s_pdf, strlen (s_pdf)));
    /* a PNG sent as a PDF, a JPEG as a PNG */
    assert_false (filetype_matches ("application/pdf", s_png, sizeof s_png));
    assert_false (filetype_matches ("image/png", s_jpeg, sizeof s_jpeg));
    assert_false (filetype_matches (NULL, s_png, sizeof s_png));
    assert_false (filetype_matches ("text/html", "<html>", 6));
}

static void
test_allowed_type (void **state)
{
    (void) state;
    assert_string_equal (filetype_allowed_type ("image/jpeg"), "image/jpeg");
    assert_string_equal (filetype_allowed_type ("Image/PNG; name=x"), "image/png");
    assert_string_equal (filetype_allowed_type ("application/pdf "), "application/pdf");
    assert_null (filetype_allowed_type ("image/gif"));
    assert_null (filetype_allowed_type ("image/svg+xml"));
    assert_null (filetype_allowed_type ("text/html"));
    assert_null (filetype_allowed_type ("image/pngx"));
    assert_null (filetype_allowed_type (""));
    assert_null (filetype_allowed_type (NULL));
    assert_string_equal (filetype_extension ("image/jpeg"), "jpg");
    assert_string_equal (filetype_extension ("application/pdf"), "pdf");
    assert_string_equal (filetype_extension ("text/plain"), "bin");
}

static void
test_name_clean (void **state)
{
    (void) state;
    char out[FILETYPE_NAME_MAX + 1];
    assert_int_equal (filetype_name_clean ("合同 A-1201.pdf", out, sizeof out), strlen ("合同 A-1201.pdf"));
    assert_string_equal (out, "合同 A-1201.pdf");
    /* paths, quotes, controls (C0, DEL, C1), hidden-file dots, trailing blanks */
    filetype_name_clean ("../../etc/passwd", out, sizeof out);
    assert_string_equal (out, "passwd");
    filetype_name_clean ("C:\\Users\\张三\\身份证.jpg", out, sizeof out);
    assert_string_equal (out, "身份证.jpg");
    filetype_name_clean ("a\"b\r\nX-Injected: 1\x7f\xc2\x85.png", out, sizeof out);
    assert_string_equal (out, "abX-Injected: 1.png");
    filetype_name_clean ("..hidden.pdf. ", out, sizeof out);
    assert_string_equal (out, "hidden.pdf");
    /* nothing left, or not UTF-8: the caller names the file */
    assert_int_equal (filetype_name_clean ("dir/", out, sizeof out), 0);
    assert_int_equal (filetype_name_clean ("\r\n\t", out, sizeof out), 0);
    assert_int_equal (filetype_name_clean ("\xff\xfe.pdf", out, sizeof out), 0);
    assert_int_equal (filetype_name_clean (NULL, out, sizeof out), 0);
    assert_string_equal (out, "");
    /* cut at a character boundary: 100 three-byte characters into 255 bytes */
    char longname[301 + 4] = "";
    for (int i = 0; i < 100; i++)
        strcat (longname, "文");
    strcat (longname, ".pdf");
    size_t n = filetype_name_clean (longname, out, sizeof out);
    assert_int_equal (n, 255);
    assert_int_equal (strncmp (out, "文文", 6), 0);
    /* idempotent: the service cleans again what the gateway cleaned */
    char again[FILETYPE_NAME_MAX + 1];
    filetype_name_clean ("x/\"y\".png ", out, sizeof out);
    filetype_name_clean (out, again, sizeof again);
    assert_string_equal (out, again);
}

static void
test_disposition (void **state)
{
    (void) state;
    char h[512];
    int n = filetype_disposition ("receipt.pdf", h, sizeof h);
    assert_true (n > 0);
    assert_string_equal (h, "Content-Disposition: attachment; filename=\"receipt.pdf\"; "
                            "filename*=UTF-8''receipt.pdf\r\n");
    filetype_disposition ("身份证 正面.jpg", h, sizeof h);
    assert_string_equal (h, "Content-Disposition: attachment; filename=\"___ __.jpg\"; "
                            "filename*=UTF-8''%E8%BA%AB%E4%BB%BD%E8%AF%81%20%E6%AD%A3%E9%9D%A2.jpg\r\n");
    filetype_disposition ("100%;a\\b.png", h, sizeof h);
    assert_string_equal (h, "Content-Disposition: attachment; filename=\"100_;a_b.png\"; "
                            "filename*=UTF-8''100%25%3Ba%5Cb.png\r\n");
    /* too long for the room: shortened before the extension, whole characters */
    char longname[300] = "";
    for (int i = 0; i < 80; i++)
        strcat (longname, "文");
    strcat (longname, ".pdf");
    n = filetype_disposition (longname, h, 300);
    assert_true (n > 0 && n < 300);
    assert_non_null (strstr (h, ".pdf\"; filename*=UTF-8''%E6%96%87"));
    assert_non_null (strstr (h, "%87.pdf\r\n"));
    /* no room at all, or no name */
    assert_int_equal (filetype_disposition ("a.pdf", h, 40), -1);
    assert_int_equal (filetype_disposition ("", h, sizeof h), -1);
    assert_int_equal (filetype_disposition (NULL, h, sizeof h), -1);
}

static void
test_bytea_hex (void **state)
{
    (void) state;
    char *hex = filetype_bytea_hex ("\x00\x9f\xff" "A", 4);
    assert_string_equal (hex, "\\x009fff41");
    free (hex);
    hex = filetype_bytea_hex ("", 0);
    assert_string_equal (hex, "\\x");
    free (hex);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_sniff),
        cmocka_unit_test (test_matches),
        cmocka_unit_test (test_allowed_type),
        cmocka_unit_test (test_name_clean),
        cmocka_unit_test (test_disposition),
        cmocka_unit_test (test_bytea_hex),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
