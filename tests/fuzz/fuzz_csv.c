/* fuzz_csv: the CSV reader and the upload checks around it (common/csv.c),
 * as an import meets a file. The first two bytes choose small field limits
 * (so the "too long" and "too many" paths are reached) and the charset; the
 * rest is the file. Every field of every record is read, and the offsets
 * csv_row_at turns into line numbers are probed. */
#include "csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
s_read_all (const char *buf, size_t len, size_t field_max, size_t fields_max)
{
    csv_t *csv = csv_new (buf, len, field_max, fields_max);
    if (!csv)
        return;
    csv_result_t rc;
    size_t last_row = 0, records = 0;
    while ((rc = csv_read (csv)) != CSV_END) {
        size_t row = csv_row (csv);
        if (row <= last_row || ++records > len + 2)
            abort ();                /* rows go forward; the reader ends */
        last_row = row;
        if (rc == CSV_BAD) {
            (void) strlen (csv_error (csv));
            continue;
        }
        size_t n = csv_count (csv);
        if (n == 0 || (fields_max && n > fields_max))
            abort ();
        for (size_t i = 0; i < n; i++) {
            const char *f = csv_field (csv, i);
            size_t flen = csv_field_len (csv, i);
            if (!f || f[flen] != 0 || (field_max && flen > field_max))
                abort ();
        }
        (void) csv_blank (csv);
    }
    csv_destroy (&csv);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t field_max = data[0] & 0x0f ? (size_t) (data[0] & 0x0f) * 4 : 0;   /* 0 = default */
    size_t fields_max = data[0] >> 4;
    bool gb = data[1] & 1;
    data += 2;
    size -= 2;
    /* exactly the file's bytes, so a read past them is caught */
    char *buf = malloc (size ? size : 1);
    memcpy (buf, data, size);

    size_t bad = 0;
    (void) csv_utf8_ok (buf, size, &bad);
    (void) csv_row_at (buf, size, size ? (size_t) data[size - 1] % size : 0);
    (void) csv_row_at (buf, size, size + 5);
    if (gb) {
        char *utf8 = NULL;
        size_t len = 0;
        if (csv_to_utf8 (csv_charset ("gbk"), buf, size, &utf8, &len, &bad) == 0) {
            if (utf8[len] != 0)
                abort ();
            s_read_all (utf8, len, field_max, fields_max);
            free (utf8);
        }
        else
        if (bad != (size_t) -1 && bad > size)
            abort ();
    }
    else
        s_read_all (buf, size, field_max, fields_max);
    char label[16];
    size_t l = size < sizeof label - 1 ? size : sizeof label - 1;
    memcpy (label, buf, l);
    label[l] = 0;
    (void) csv_charset (label);
    free (buf);
    return 0;
}
