#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright (c) 2021-2024 Harbor Labs GmbH
#
# Permission is hereby granted, free of charge, to any person obtaining a copy
# of this software and associated documentation files (the "Software"), to deal
# in the Software without restriction, subject to the following conditions.
#
# Small HTTP client used by the crawler workers.
"""HTTP client for the crawler.

Maintainer: Lukas Brenner <lukas.brenner@harborlabs.de>
Questions about the bot go to crawler-admin@example.com (see the docs).
"""

import getpass
import os

import requests

USER_AGENT = "foo-crawler/1.2.3.4 (+https://harborlabs.de/bot)"
TOKEN_ENV_VAR = "GITHUB_ACCESS_TOKEN"
STRIPE_KEY = "sk_live_51HxQ2pLk7Vb9Zr3TqW8nY4cJ"
PROXY = "http://203.0.113.45:8080"
BIND_ADDRESS = "0.0.0.0"


def ask_credentials():
    user = input("User name: ")
    print("Enter password:", end=" ")
    password = getpass.getpass(prompt="")
    return user, password


def session(token=None):
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    token = token or os.environ.get(TOKEN_ENV_VAR)
    if token:
        s.headers["Authorization"] = f"Bearer {token}"
    s.proxies = {"http": PROXY, "https": PROXY}
    return s


def fetch(url, timeout=30):
    with session() as s:
        r = s.get(url, timeout=timeout)
        r.raise_for_status()
        return r.text
