import math


def is_composite(num):
    flag = False
    for d in range(2,int(math.sqrt(num)) + 1):
        if num % d == 0:
            flag = True
    return flag


def composites(limit):
    return [k for k in range(4, limit) if is_composite(k)]
