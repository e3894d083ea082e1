#!/usr/bin/env python3
# backup-rotate - rotate tarball backups
# Copyright (C) 2019 Jane Doe
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 2 of the License, or
# (at your option) any later version.
#
# This program is distributed in the hope that it will be useful,
# but WITHOUT ANY WARRANTY; without even the implied warranty of
# MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.

import argparse
import os
import time

KEEP_DAYS = 14


def old_backups(folder, keep_days=KEEP_DAYS):
    cutoff = time.time() - keep_days * 86400
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.endswith(".tar.gz") and os.path.getmtime(path) < cutoff:
            yield path


def main():
    ap = argparse.ArgumentParser(description="rotate tarball backups")
    ap.add_argument("folder")
    ap.add_argument("--keep-days", type=int, default=KEEP_DAYS)
    args = ap.parse_args()
    for path in old_backups(args.folder, args.keep_days):
        os.remove(path)


if __name__ == "__main__":
    main()
