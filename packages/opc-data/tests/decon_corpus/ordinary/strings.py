"""String utilities for the chat bot."""
import re
from collections import Counter


def is_palindrome(s):
    s = re.sub(r"[^a-z0-9]", "", s.lower())
    return s == s[::-1]


def reverse_words(s):
    return " ".join(reversed(s.split()))


def count_vowels(s):
    return sum(1 for ch in s.lower() if ch in "aeiou")


def word_count(text):
    return Counter(text.lower().split())


def is_anagram(a, b):
    return sorted(a.replace(" ", "").lower()) == sorted(b.replace(" ", "").lower())
