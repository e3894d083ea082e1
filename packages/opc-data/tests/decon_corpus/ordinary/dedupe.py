from collections import Counter


def remove_duplicates(items):
    seen = set()
    out = []
    for x in items:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def unique_once(numbers):
    counts = Counter(numbers)
    return sorted(n for n, c in counts.items() if c == 1)


def common_elements(a, b):
    return tuple(sorted(set(a) & set(b)))
