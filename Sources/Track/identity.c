/* Who and when: the process's pid, start time, executable and program name (refreshed after fork),
 * the clocks, and the one-line warnings the tracker prints on stderr. */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

pid_t hs_pid;
uint64_t hs_start_ns;
char hs_program[256] = "unknown";

uint64_t hs_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t hs_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void hs_read_identity(void) {
    hs_pid = getpid();
    hs_parent_pid = getppid();
    hs_start_ns = hs_realtime_ns();
    ssize_t n = readlink("/proc/self/exe", hs_exe_path, sizeof hs_exe_path - 1);
    hs_exe_path[n > 0 ? n : 0] = '\0';
    const char *base = hs_exe_path;
    for (const char *p = hs_exe_path; *p; p++)
        if (*p == '/') base = p + 1;
    if (*base) {
        size_t len = strlen(base);
        if (len >= sizeof hs_program) len = sizeof hs_program - 1;
        memcpy(hs_program, base, len);
        hs_program[len] = '\0';
    }
}

static void put_err(const char *s) {
    size_t n = strlen(s);
    while (n) {
        ssize_t k = write(2, s, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return;
        s += k;
        n -= (size_t)k;
    }
}

void hs_warn_parts(const char *const *parts, size_t count, int err) {
    int saved = errno;
    put_err("heapsnap: ");
    for (size_t i = 0; i < count; i++)
        if (parts[i]) put_err(parts[i]);
    if (err) {
        put_err(": ");
        put_err(strerror(err));
    }
    put_err("\n");
    errno = saved;
}

void hs_warn(const char *what, const char *detail, int err) {
    const char *parts[] = {what, detail ? ": " : NULL, detail};
    hs_warn_parts(parts, 3, err);
}

size_t hs_decimal(char out[24], uint64_t v, int min_digits) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < min_digits && n < 20) digits[n++] = '0';
    for (int i = 0; i < n; i++) out[i] = digits[n - 1 - i];
    out[n] = '\0';
    return (size_t)n;
}
