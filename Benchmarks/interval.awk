# Medians and the distribution-free 95 % interval of a median, shared by every verdict of `make bench`.
# The scripts put this text in front of their own awk program: awk "$(cat interval.awk)"'...'
# (mawk takes either -f files or one program text, not both).
#
# With n paired measurements, the k-th smallest and the k-th largest bound the median with at least
# 95 % probability whatever their distribution, k the largest with P(Binomial(n, 1/2) <= k - 1) <= 2.5 %
# (order statistics). n < 6 leaves no such k: the verdict then rests on the median alone.

# Sorts v[1..n] in place (numbers), insertion sort: the lists are a few dozen values.
function sort_values(v, n,    i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
}

# The median of v[1..n], sorted.
function sorted_median(v, n) { return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }

# The median of a space-separated list; "nan" when it is empty.
function median(list,    n, v) {
    n = split(list, v, " ")
    if (n == 0) return "nan"
    sort_values(v, n)
    return sorted_median(v, n)
}

# The k-th smallest of a space-separated list (1-based).
function nth(list, k,    n, v) {
    n = split(list, v, " "); sort_values(v, n)
    return v[k]
}

# The rank k of the interval [k-th smallest, k-th largest] for n values; 0 = too few values (n < 6).
function rank(n,    k, term, cdf) {
    term = 0.5 ^ n; cdf = term; k = 0
    while (cdf <= 0.025) { k++; term = term * (n - k + 1) / k; cdf += term }
    return k
}

# The verdict of a target "at most goal" from the interval [lo, hi] of the median.
function interval_verdict(lo, hi, goal) {
    return hi <= goal ? "MET" : lo > goal ? "MISSED" : "not resolved (interval straddles the target)"
}
