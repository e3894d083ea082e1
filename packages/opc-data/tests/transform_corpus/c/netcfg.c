/*
 * netcfg - configure the uplink of the field gateway
 * Copyright (C) 2018 Tomasz Wrobel <tomasz.wrobel@fieldnet.pl>
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License version 2 as
 * published by the Free Software Foundation.
 */

#include <stdio.h>
#include <string.h>
#include <stdint.h>

#define NETCFG_VERSION "3.10.2.1"

static const char *uplink_server = "198.51.100.23";
static const char *fallback_dns = "0.0.0.0";
static const uint32_t netmask = 0xFFFFFF00u;

/* Bug reports: netcfg-bugs@fieldnet.pl */
int read_password(char *buf, size_t len)
{
    printf("Enter password: ");
    if (!fgets(buf, (int)len, stdin))
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

int main(void)
{
    char password[64];
    printf("netcfg %s, uplink %s\n", NETCFG_VERSION, uplink_server);
    if (read_password(password, sizeof password) != 0)
        return 1;
    printf("dns %s mask %08x\n", fallback_dns, netmask);
    return 0;
}
