def transpose(matrix):
    return [list(row) for row in zip(*matrix)]


def sort_rows(matrix):
    return sorted(matrix, key=sum)


def matmul(a, b):
    n, m, p = len(a), len(b), len(b[0])
    out = [[0] * p for _ in range(n)]
    for i in range(n):
        for j in range(p):
            for k in range(m):
                out[i][j] += a[i][k] * b[k][j]
    return out


def identity(n):
    return [[1 if i == j else 0 for j in range(n)] for i in range(n)]
