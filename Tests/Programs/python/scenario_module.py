# Code in a module imported from another file.


def load(n):
    return {i: "m" * 64 + str(i) for i in range(n)}  # SITE:module
