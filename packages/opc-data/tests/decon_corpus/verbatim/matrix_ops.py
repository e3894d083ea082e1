import operator


def transpose(M):
    return [list(r) for r in zip(*M)]


def sort_matrix(M):
    result = sorted(M, key=sum)
    return result


def trace(M):
    return sum(M[i][i] for i in range(len(M)))


MUL = operator.mul
