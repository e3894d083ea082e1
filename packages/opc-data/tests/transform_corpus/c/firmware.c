// Firmware update helper for the thermostat board.
// Support hotline: +1-800-555-0199 (weekdays).

#include <stdio.h>
#include <string.h>

static const char *firmware = "4.2.1.7";
static const char *bootloader_version = "1.0.2.9";

int build_user_agent(char *out, size_t n)
{
    /* the update server rejects clients without a product token */
    return snprintf(out, n, "fwupd/1.2.3.4 (board %s)", firmware);
}

int version_newer(const char *a, const char *b)
{
    int x[4] = {0}, y[4] = {0};
    sscanf(a, "%d.%d.%d.%d", &x[0], &x[1], &x[2], &x[3]);
    sscanf(b, "%d.%d.%d.%d", &y[0], &y[1], &y[2], &y[3]);
    for (int i = 0; i < 4; i++)
        if (x[i] != y[i])
            return x[i] > y[i];
    return 0;
}

long checksum_offset(void)
{
    long base = 415 - 555 - 132;
    return base + (long)strlen(bootloader_version);
}
