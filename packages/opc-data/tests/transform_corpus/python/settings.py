"""Django settings for the orders project (production)."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "q3Zr8TfVx1LmN0pK7sYw2HdE5gJc4UbA"
DEBUG = False
ALLOWED_HOSTS = ["orders.acme-shop.com", "10.20.30.40"]

ADMINS = [("Ops", "ops@example.com"), ("Dana Whitfield", "dana.whitfield@acme-shop.com")]
SERVER_EMAIL = "noreply@acme-shop.com"
SUPPORT_PHONE = "+1 (415) 555-0132"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "orders",
        "USER": "orders_app",
        "PASSWORD": "Tr0ub4dor-and-3",
        "HOST": "db.acme-shop.internal",
        "PORT": "5432",
    }
}

AWS_ACCESS_KEY_ID = "AKIAQ7ZK3JX4PLM2TRWD"
AWS_SECRET_ACCESS_KEY_NAME = "AWS_SECRET_ACCESS_KEY"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 3600
TIME_ZONE = "Europe/Berlin"
