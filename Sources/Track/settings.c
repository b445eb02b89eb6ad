/* The grammars of the HEAPSNAP_* settings (heapsnap_settings.h). Shared verbatim by the tracker and the
 * CLI; no allocation, no state, no locale. */
#include "heapsnap_settings.h"

#include <signal.h>
#include <string.h>

#include "heapsnap_format.h"

static char upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 32) : c; }

static bool same_ignoring_case(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (upper(*a) != upper(*b)) return false;
    return *a == *b;
}

static bool starts_ignoring_case(const char *s, const char *prefix) {
    for (; *prefix; s++, prefix++)
        if (upper(*s) != upper(*prefix)) return false;
    return true;
}

/* Leading decimal digits; false without any. *overflow when they do not fit 64 bits (all are read). */
static bool read_unsigned(const char **s, uint64_t *out, bool *overflow) {
    const char *p = *s;
    if (*p < '0' || *p > '9') return false;
    uint64_t v = 0;
    *overflow = false;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t digit = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - digit) / 10) *overflow = true;
        else v = v * 10 + digit;
    }
    *out = v;
    *s = p;
    return true;
}

heapsnap_verdict heapsnap_parse_frames(const char *text, uint32_t *frames) {
    *frames = HEAPSNAP_FRAMES_DEFAULT;
    if (!text || !*text) return HEAPSNAP_VERDICT_DEFAULT;
    uint64_t n;
    bool overflow;
    if (!read_unsigned(&text, &n, &overflow) || *text || n == 0) return HEAPSNAP_VERDICT_INVALID;
    if (overflow || n > HEAPSNAP_FRAMES_LIMIT) {
        *frames = HEAPSNAP_FRAMES_LIMIT;
        return HEAPSNAP_VERDICT_OUT_OF_RANGE;
    }
    *frames = (uint32_t)n;
    return HEAPSNAP_VERDICT_ACCEPTED;
}

heapsnap_verdict heapsnap_parse_seconds(const char *text, uint64_t *nanoseconds) {
    *nanoseconds = 0;
    if (!text || !*text) return HEAPSNAP_VERDICT_DEFAULT;
    uint64_t whole = 0;
    bool overflow = false, any_digit = false;
    if (*text != '.') {
        if (!read_unsigned(&text, &whole, &overflow)) return HEAPSNAP_VERDICT_INVALID;
        any_digit = true;
    }
    uint64_t fraction = 0, scale = 1000000000ull;
    bool below_nanosecond = false;
    if (*text == '.') {
        text++;
        if (*text < '0' || *text > '9') return HEAPSNAP_VERDICT_INVALID;
        for (; *text >= '0' && *text <= '9'; text++) {
            scale /= 10;
            if (scale) fraction += (uint64_t)(*text - '0') * scale;
            else if (*text != '0') below_nanosecond = true;
        }
        any_digit = true;
    }
    if (*text || !any_digit || overflow || whole > HEAPSNAP_SECONDS_LIMIT) return HEAPSNAP_VERDICT_INVALID;
    uint64_t total = whole * 1000000000ull + fraction;
    if (total == 0 && below_nanosecond) return HEAPSNAP_VERDICT_INVALID;
    *nanoseconds = total;
    return HEAPSNAP_VERDICT_ACCEPTED;
}

heapsnap_verdict heapsnap_parse_bytes(const char *text, uint64_t *bytes) {
    *bytes = 0;
    if (!text || !*text) return HEAPSNAP_VERDICT_DEFAULT;
    uint64_t v;
    bool overflow;
    if (!read_unsigned(&text, &v, &overflow)) return HEAPSNAP_VERDICT_INVALID;
    uint64_t unit = 1;
    switch (*text) {
    case 'k': case 'K': unit = 1ull << 10; text++; break;
    case 'm': case 'M': unit = 1ull << 20; text++; break;
    case 'g': case 'G': unit = 1ull << 30; text++; break;
    default: break;
    }
    if (unit > 1 && (*text == 'i' || *text == 'I')) text++;
    if (*text == 'b' || *text == 'B') text++;
    if (*text || overflow || v > UINT64_MAX / unit) return HEAPSNAP_VERDICT_INVALID;
    *bytes = v * unit;
    return HEAPSNAP_VERDICT_ACCEPTED;
}

static const struct {
    const char *name;
    int number;
} signal_names[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},     {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},   {"BUS", SIGBUS},       {"FPE", SIGFPE},     {"KILL", SIGKILL},   {"USR1", SIGUSR1},
    {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},   {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},     {"URG", SIGURG},     {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH}, {"IO", SIGIO},       {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

/* No snapshot signal unless asked: every disposition stays the program's (heapsnap snap uses the
 * control socket). */
int heapsnap_default_signal(void) { return 0; }

const char *heapsnap_signal_name(int signal) {
    for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
        if (signal_names[i].number == signal) return signal_names[i].name;
    return NULL;
}

/* "", or "+n"/"-n" after RTMIN/RTMAX: the offset, -1 when malformed */
static int real_time_offset(const char *s, char sign) {
    if (!*s) return 0;
    if (*s != sign) return -1;
    s++;
    uint64_t n;
    bool overflow;
    if (!read_unsigned(&s, &n, &overflow) || *s || overflow || n > (uint64_t)(SIGRTMAX - SIGRTMIN)) return -1;
    return (int)n;
}

static int signal_number(const char *s) {
    if (same_ignoring_case(s, "NONE") || same_ignoring_case(s, "OFF")) return 0;
    uint64_t v;
    bool overflow;
    const char *rest = s;
    if (read_unsigned(&rest, &v, &overflow)) return *rest || overflow || v >= (uint64_t)NSIG ? -1 : (int)v;
    if (starts_ignoring_case(s, "SIG")) s += 3;
    for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
        if (same_ignoring_case(s, signal_names[i].name)) return signal_names[i].number;
    if (starts_ignoring_case(s, "RTMIN")) {
        int offset = real_time_offset(s + 5, '+');
        return offset < 0 ? -1 : SIGRTMIN + offset;
    }
    if (starts_ignoring_case(s, "RTMAX")) {
        int offset = real_time_offset(s + 5, '-');
        return offset < 0 ? -1 : SIGRTMAX - offset;
    }
    return -1;
}

heapsnap_verdict heapsnap_parse_signal(const char *text, int *signal) {
    *signal = heapsnap_default_signal();
    if (!text || !*text) return HEAPSNAP_VERDICT_DEFAULT;
    int number = signal_number(text);
    if (number < 0 || number == SIGKILL || number == SIGSTOP) return HEAPSNAP_VERDICT_INVALID;
    *signal = number;
    return HEAPSNAP_VERDICT_ACCEPTED;
}

heapsnap_verdict heapsnap_parse_boolean(const char *text, bool *value) {
    *value = false;
    if (!text || !*text) return HEAPSNAP_VERDICT_DEFAULT;
    static const char *const yes[] = {"1", "YES", "TRUE", "ON"}, *const no[] = {"0", "NO", "FALSE", "OFF"};
    for (size_t i = 0; i < 4; i++) {
        if (same_ignoring_case(text, yes[i])) {
            *value = true;
            return HEAPSNAP_VERDICT_ACCEPTED;
        }
        if (same_ignoring_case(text, no[i])) return HEAPSNAP_VERDICT_ACCEPTED;
    }
    return HEAPSNAP_VERDICT_INVALID;
}

heapsnap_verdict heapsnap_parse_unwinder(const char *text, uint32_t *choice) {
    *choice = HEAPSNAP_UNWINDER_CHOICE_OWN;
    if (!text || !*text) return HEAPSNAP_VERDICT_DEFAULT;
    if (same_ignoring_case(text, "own")) return HEAPSNAP_VERDICT_ACCEPTED;
    if (same_ignoring_case(text, "libunwind")) {
        *choice = HEAPSNAP_UNWINDER_CHOICE_LIBUNWIND;
        return HEAPSNAP_VERDICT_ACCEPTED;
    }
    return HEAPSNAP_VERDICT_INVALID;
}

/* One name of a list, [start, end): not empty, no path. */
static bool name_ok(const char *start, const char *end) {
    if (start == end) return false;
    for (const char *p = start; p < end; p++)
        if (*p == '/') return false;
    return true;
}

heapsnap_verdict heapsnap_parse_program_list(const char *text) {
    if (!text || !*text) return HEAPSNAP_VERDICT_DEFAULT;
    for (const char *p = text;;) {
        const char *end = p;
        while (*end && *end != ',') end++;
        if (!name_ok(p, end)) return HEAPSNAP_VERDICT_INVALID;
        if (!*end) return HEAPSNAP_VERDICT_ACCEPTED;
        p = end + 1;
    }
}

bool heapsnap_program_listed(const char *list, const char *name) {
    if (!list || !name || !*name) return false;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = p;
        while (*end && *end != ',') end++;
        if ((size_t)(end - p) == n && memcmp(p, name, n) == 0) return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

heapsnap_verdict heapsnap_parse_directory(const char *text) {
    if (!text || !*text) return HEAPSNAP_VERDICT_DEFAULT;
    return strlen(text) > HEAPSNAP_DIRECTORY_LENGTH_LIMIT ? HEAPSNAP_VERDICT_INVALID : HEAPSNAP_VERDICT_ACCEPTED;
}
