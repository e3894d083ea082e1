"""Normalise phone numbers for the contact book."""
import re

UK_OFFICE = "+44 20 7946 0958"
CALL_CENTRE = "020 7946 0958"
RELEASED = "2024-01-15"
VERSION = "1.2.3"
RELEASE_BUILD = "4.2.1.7"
MAX_ID = 4155550132
EPOCH_START = 1700000000
MATRIX = [[415, 555, 132], [20, 7946, 958]]

_DIGITS = re.compile(r"\d+")


def digits(number: str) -> str:
    """'+1 (415) 555-0132' -> '14155550132' (the example in this docstring is a phone number)."""
    return "".join(_DIGITS.findall(number))


def is_uk(number: str) -> bool:
    return digits(number).startswith("44") or number.startswith("0")


def split_version(v: str):
    return tuple(int(p) for p in v.split("."))
