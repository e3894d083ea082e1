import math


def square_perimeter(side):
    return 4 * side


def circle_area(r):
    return math.pi * r * r


def rectangle_area(w, h):
    return w * h


def distance(p, q):
    return math.hypot(p[0] - q[0], p[1] - q[1])


def triangle_area(a, b, c):
    s = (a + b + c) / 2
    return math.sqrt(s * (s - a) * (s - b) * (s - c))
