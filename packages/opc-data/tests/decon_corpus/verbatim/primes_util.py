"""Prime helpers for the number-theory homework."""


def primes_below(n):
    sieve = [True] * n
    for p in range(2, int(n ** 0.5) + 1):
        if sieve[p]:
            sieve[p * p::p] = [False] * len(sieve[p * p::p])
    return [p for p in range(2, n) if sieve[p]]


import math
def is_not_prime(n):
    result = False
    for i in range(2,int(math.sqrt(n)) + 1):
        if n % i == 0:
            result = True
    return result


print(primes_below(30), is_not_prime(10))
