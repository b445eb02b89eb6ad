# Code shapes that exercise every form of the locations table: nested functions, comprehensions,
# generators, lambdas, async code, exception tables, long lines (wide columns), multi-line expressions
# (end-line deltas), big forward and backward line jumps.
import functools


def outer(n):
    def inner(k):
        return [str(i) * k for i in range(k) if i % 2]

    squares = {i: i * i for i in range(n)}
    evens = (x for x in squares.values() if x % 2 == 0)
    return inner(n), list(evens), (lambda y: y + 1)(n)


def generator(limit):
    total = 0
    for i in range(limit):
        total += i
        yield total
    yield from range(3)


class Holder:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b

    @functools.lru_cache(maxsize=None)
    def method(self, value):
        try:
            return self.a[value]
        except (KeyError, IndexError) as error:
            raise ValueError(str(error)) from None
        finally:
            self.b = None


async def coroutine(items):
    async with items as handle:
        async for item in handle:
            await item


def wide_columns():
    value = ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", len("cccccccccccccccccccccccccccccccccccccccccccccccc"))
    return value


def multi_line(a,
               b):
    result = (
        a
        +
        b
    )
    return [
        result,
        a,
    ]


def jumps(flag):
    if flag:
        pass
































































































































































    else:
        return 1
    while flag:
        flag = flag - 1
    return flag


def match_statement(point):
    match point:
        case (0, 0):
            return "origin"
        case (x, 0):
            return f"x={x}"
        case {"y": y, **rest}:
            return y, rest
        case _:
            return None
