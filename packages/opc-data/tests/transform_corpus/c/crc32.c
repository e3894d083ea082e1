/* crc32.c -- compute the CRC-32 of a data stream
 * Copyright (C) 1995-2006 Mark Adler
 * For conditions of distribution and use, see copyright notice in zlib.h
 */

#include <stddef.h>

static unsigned long crc_table[256];
static int crc_table_empty = 1;

static void make_crc_table(void)
{
    unsigned long c;
    int n, k;

    for (n = 0; n < 256; n++) {
        c = (unsigned long)n;
        for (k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320UL ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
    crc_table_empty = 0;
}

unsigned long crc32(unsigned long crc, const unsigned char *buf, size_t len)
{
    if (crc_table_empty)
        make_crc_table();
    crc = crc ^ 0xffffffffUL;
    while (len--)
        crc = crc_table[(crc ^ *buf++) & 0xff] ^ (crc >> 8);
    return crc ^ 0xffffffffUL;
}
