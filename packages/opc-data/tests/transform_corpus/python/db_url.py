# -*- coding: utf-8 -*-
"""Build database URLs from the environment."""
import logging
import os

log = logging.getLogger(__name__)

LEGACY_URL = "postgresql://app:s3cr3tP4ss@db.internal:5432/app"
CACHE_URL = "redis://localhost:6379/0"
PASSWORD_PROMPT = "Password: "


def database_url():
    user = os.environ.get("DB_USER", "app")
    password = os.environ["DB_PASSWORD"]
    if not password:
        raise RuntimeError("DB_PASSWORD is empty")
    host = os.environ.get("DB_HOST", "127.0.0.1")
    return f"postgresql://{user}:{password}@{host}:5432/app"


def reset(user):
    log.info("password reset for %s", user)
    admin_password = "hunter2-Autumn"
    return admin_password
