"""Pairwise checks on measurement series."""


def any_too_close(values, eps):
    for a, x in enumerate(values):
        for b, y in enumerate(values):
            if a != b:
                gap = abs(x - y)
                if gap < eps:
                    return True

    return False


def report(series, eps=0.1):
    return {name: any_too_close(vals, eps) for name, vals in series.items()}
