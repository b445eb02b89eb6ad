/* Start-up and configuration: the first hook call reads the environment quietly (possibly before libc's
 * own constructor), our constructor reads it again, warns about bad values once, and starts tracking;
 * HEAPSNAP_ONLY leaves unlisted programs dormant. The grammars are settings.c's. */
#include "internal.h"
#include "python.h"
#include "sample.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heapsnap_format.h"
#include "heapsnap_settings.h"

struct hs_config hs_config = {.max_frames = HEAPSNAP_FRAMES_DEFAULT,
                              .min_peak = HEAPSNAP_MIN_PEAK_DEFAULT,
                              .max_disk = HEAPSNAP_MAX_DISK_DEFAULT};
_Atomic int hs_state;

extern char **__environ;

/* "heapsnap: HEAPSNAP_FRAMES=999 is not <grammar>; using 64" */
static void warn_setting(const char *variable, const char *value, const char *problem, const char *consequence) {
    const char *parts[] = {variable, "=", value, problem, "; ", consequence};
    hs_warn_parts(parts, sizeof parts / sizeof parts[0], 0);
}

static void read_configuration(bool report) {
    const char *v;
    char used[24];
    heapsnap_verdict verdict;
    uint32_t frames;
    verdict = heapsnap_parse_frames(v = getenv(HEAPSNAP_ENV_FRAMES), &frames);
    hs_config.max_frames = (int)frames;
    if (report && verdict == HEAPSNAP_VERDICT_INVALID) {
        hs_decimal(used, frames, 1);
        char consequence[40] = "using ";
        strcat(consequence, used);
        warn_setting(HEAPSNAP_ENV_FRAMES, v, " is not " HEAPSNAP_FRAMES_GRAMMAR, consequence);
    } else if (report && verdict == HEAPSNAP_VERDICT_OUT_OF_RANGE) {
        hs_decimal(used, frames, 1);
        char consequence[40] = "using ";
        strcat(consequence, used);
        warn_setting(HEAPSNAP_ENV_FRAMES, v, " is out of range (" HEAPSNAP_FRAMES_GRAMMAR ")", consequence);
    }

    int signal;
    if (heapsnap_parse_signal(v = getenv(HEAPSNAP_ENV_SIGNAL), &signal) == HEAPSNAP_VERDICT_INVALID && report)
        warn_setting(HEAPSNAP_ENV_SIGNAL, v, " is not " HEAPSNAP_SIGNAL_GRAMMAR, "snapshots on signal are off");
    hs_config.signal = signal;

    if (heapsnap_parse_seconds(v = getenv(HEAPSNAP_ENV_INTERVAL), &hs_config.interval_ns) == HEAPSNAP_VERDICT_INVALID &&
        report)
        warn_setting(HEAPSNAP_ENV_INTERVAL, v, " is not " HEAPSNAP_SECONDS_GRAMMAR, "interval snapshots are off");

    if (heapsnap_parse_bytes(v = getenv(HEAPSNAP_ENV_PEAK_STEP), &hs_config.peak_step) == HEAPSNAP_VERDICT_INVALID &&
        report)
        warn_setting(HEAPSNAP_ENV_PEAK_STEP, v, " is not " HEAPSNAP_BYTES_GRAMMAR, "peak snapshots are off");

    /* sampling mode (sample.c): a mean interval in bytes, 0 or unset = exact; a seed of digits */
    if (heapsnap_parse_bytes(v = getenv(HEAPSNAP_ENV_SAMPLE), &hs_config.sample_requested) == HEAPSNAP_VERDICT_INVALID &&
        report)
        warn_setting(HEAPSNAP_ENV_SAMPLE, v, " is not " HEAPSNAP_BYTES_GRAMMAR, "tracking every allocation");
    hs_config.sample_seed = 0;
    if ((v = getenv(HEAPSNAP_ENV_SAMPLE_SEED)) && *v) {
        uint64_t n = 0;
        const char *c = v;
        bool ok = true;
        for (; *c; c++) {
            if (*c < '0' || *c > '9' || n > (UINT64_MAX - (uint64_t)(*c - '0')) / 10) {
                ok = false;
                break;
            }
            n = n * 10 + (uint64_t)(*c - '0');
        }
        if (ok) hs_config.sample_seed = n;
        else if (report) warn_setting(HEAPSNAP_ENV_SAMPLE_SEED, v, " is not a number", "seeding from the clock");
    }

    /* bounded output: a value as given (0 = every exit snapshot / no limit), else the default */
    uint64_t bytes;
    verdict = heapsnap_parse_bytes(v = getenv(HEAPSNAP_ENV_MIN_PEAK), &bytes);
    hs_config.min_peak = verdict == HEAPSNAP_VERDICT_ACCEPTED ? bytes : HEAPSNAP_MIN_PEAK_DEFAULT;
    if (verdict == HEAPSNAP_VERDICT_INVALID && report)
        warn_setting(HEAPSNAP_ENV_MIN_PEAK, v, " is not " HEAPSNAP_BYTES_GRAMMAR, "using 4M");
    verdict = heapsnap_parse_bytes(v = getenv(HEAPSNAP_ENV_MAX_DISK), &bytes);
    hs_config.max_disk = verdict == HEAPSNAP_VERDICT_ACCEPTED ? bytes : HEAPSNAP_MAX_DISK_DEFAULT;
    if (verdict == HEAPSNAP_VERDICT_INVALID && report)
        warn_setting(HEAPSNAP_ENV_MAX_DISK, v, " is not " HEAPSNAP_BYTES_GRAMMAR, "using 1G");

    if (heapsnap_parse_boolean(v = getenv(HEAPSNAP_ENV_TRACES), &hs_config.traces) == HEAPSNAP_VERDICT_INVALID && report)
        warn_setting(HEAPSNAP_ENV_TRACES, v, " is not " HEAPSNAP_BOOLEAN_GRAMMAR, "live blocks are not recorded");

    bool python;
    verdict = heapsnap_parse_boolean(v = getenv(HEAPSNAP_ENV_PYTHON), &python);
    hs_config.python = verdict == HEAPSNAP_VERDICT_ACCEPTED ? python : true; /* on unless switched off */
    if (verdict == HEAPSNAP_VERDICT_INVALID && report)
        warn_setting(HEAPSNAP_ENV_PYTHON, v, " is not " HEAPSNAP_BOOLEAN_GRAMMAR, "Python frames stay on");

    if (heapsnap_parse_unwinder(v = getenv(HEAPSNAP_ENV_UNWINDER), &hs_config.unwinder) == HEAPSNAP_VERDICT_INVALID &&
        report)
        warn_setting(HEAPSNAP_ENV_UNWINDER, v, " is not " HEAPSNAP_UNWINDER_GRAMMAR, "using own");
    if (heapsnap_parse_boolean(v = getenv(HEAPSNAP_ENV_VERIFY_UNWIND), &hs_config.verify_unwind) ==
            HEAPSNAP_VERDICT_INVALID && report)
        warn_setting(HEAPSNAP_ENV_VERIFY_UNWIND, v, " is not " HEAPSNAP_BOOLEAN_GRAMMAR, "not verifying");

    if (heapsnap_parse_program_list(v = getenv(HEAPSNAP_ENV_ONLY)) == HEAPSNAP_VERDICT_INVALID && report)
        warn_setting(HEAPSNAP_ENV_ONLY, v, " is not " HEAPSNAP_PROGRAMS_GRAMMAR, "an empty name or a path never matches");

    hs_config.dir[0] = '\0';
    verdict = heapsnap_parse_directory(v = getenv(HEAPSNAP_ENV_DIR));
    if (verdict == HEAPSNAP_VERDICT_ACCEPTED) memcpy(hs_config.dir, v, strlen(v) + 1);
    else if (verdict == HEAPSNAP_VERDICT_INVALID && report)
        hs_warn(HEAPSNAP_ENV_DIR " is not " HEAPSNAP_DIRECTORY_GRAMMAR "; using the working directory", NULL, 0);
}

/* Snapshots go where the program started, even if it changes directory later (daemons chdir to /). */
static void anchor_directory(void) {
    if (hs_config.dir[0] == '/') return;
    char absolute[sizeof hs_config.dir];
    if (!getcwd(absolute, sizeof absolute - 64)) return;
    size_t at = strlen(absolute), n = strlen(hs_config.dir);
    if (n) {
        if (at + 1 + n >= sizeof absolute) return;
        absolute[at++] = '/';
        memcpy(absolute + at, hs_config.dir, n + 1);
    }
    memcpy(hs_config.dir, absolute, strlen(absolute) + 1);
}

/* HEAPSNAP_ONLY: track only programs whose executable's or argv[0]'s basename is listed; every other
 * process (children of a traced shell script, say) stays dormant. */
static bool selected(bool libc_ready) {
    const char *only = __environ ? getenv(HEAPSNAP_ENV_ONLY) : NULL;
    if (!only || !*only) return true;
    if (heapsnap_program_listed(only, hs_program)) return true;
    return libc_ready && heapsnap_program_listed(only, program_invocation_short_name);
}

/* The first hook call of the process lands here, possibly before libc's own constructor has run;
 * the environment is read again, definitively, in our constructor. */
void hs_early_init(void) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&hs_state, &expected, 1)) return;
    int guard = hs_in_tracker;
    hs_in_tracker = 1;
    if (__environ) read_configuration(false);
    hs_read_identity();
    hs_sample_init();
    atomic_store_explicit(&hs_state, selected(false) ? 2 : 3, memory_order_release);
    hs_in_tracker = guard;
}

__attribute__((constructor)) static void heapsnap_start(void) {
    int guard = hs_in_tracker;
    hs_in_tracker = 1;
    if (atomic_load(&hs_state) == 0) hs_early_init();
    if (!selected(true)) {
        atomic_store(&hs_state, 3); /* dormant: every call goes straight to glibc, no files */
        hs_in_tracker = guard;
        return;
    }
    atomic_store(&hs_state, 2);
    read_configuration(true);
    hs_sample_init();
    const char *only = getenv(HEAPSNAP_ENV_ONLY);
    hs_config.named_by_only = only && *only; /* and selected, since we got here */
    anchor_directory();
    if (!hs_exe_path[0]) hs_read_identity();
    hs_unwind_init();
    hs_modules_refresh();
    hs_python_init();
    hs_install_fork_handlers();
    hs_start_snapshot_triggers();
    hs_in_tracker = guard;
}
