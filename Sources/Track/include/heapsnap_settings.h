/* heapsnap_settings.h: the one grammar of each HEAPSNAP_* setting (names in heapsnap_format.h).
 *
 * settings.c is compiled into the tracker, which reads its environment with these functions, and into
 * the C target CHeapSnapContract, through which the CLI validates its options: what `heapsnap run`
 * accepts is exactly what the tracker accepts. Nothing here allocates, locks or keeps state, so the
 * tracker may call it from its first malloc on.
 */
#ifndef HEAPSNAP_SETTINGS_H
#define HEAPSNAP_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__has_attribute)
#if __has_attribute(enum_extensibility)
#define HEAPSNAP_CLOSED_ENUM __attribute__((enum_extensibility(closed)))
#endif
#endif
#ifndef HEAPSNAP_CLOSED_ENUM
#define HEAPSNAP_CLOSED_ENUM
#endif

/* What a parser made of a value. In every case *value is what the tracker uses. */
typedef enum HEAPSNAP_CLOSED_ENUM heapsnap_verdict {
    HEAPSNAP_VERDICT_DEFAULT = 0,      /* empty: the default, silently (as if unset) */
    HEAPSNAP_VERDICT_ACCEPTED = 1,     /* the value as given */
    HEAPSNAP_VERDICT_INVALID = 2,      /* not of the grammar: the fallback (a warning names it) */
    HEAPSNAP_VERDICT_OUT_OF_RANGE = 3, /* of the grammar but past a limit: the nearest allowed value */
} heapsnap_verdict;

/* What each grammar accepts, as the tracker's warnings and the CLI's errors say it. */
#define HEAPSNAP_FRAMES_GRAMMAR "a number of frames from 1 to 256"
#define HEAPSNAP_SECONDS_GRAMMAR "seconds like 5 or 0.25, at most 1000000000 (0 = off)"
#define HEAPSNAP_BYTES_GRAMMAR "a byte count like 1048576, 512K, 64M or 1GiB (0 = off)"
#define HEAPSNAP_SIGNAL_GRAMMAR "a signal name (USR2, SIGUSR1, RTMIN+1) or number other than KILL and STOP, or none"
#define HEAPSNAP_BOOLEAN_GRAMMAR "1, yes, true, on, 0, no, false or off"
#define HEAPSNAP_PROGRAMS_GRAMMAR "program names (not paths) separated by commas"
#define HEAPSNAP_DIRECTORY_GRAMMAR "a folder path shorter than 4032 bytes"
#define HEAPSNAP_UNWINDER_GRAMMAR "own or libunwind"

#define HEAPSNAP_SECONDS_LIMIT 1000000000ull /* HEAPSNAP_INTERVAL: about 31 years */
#define HEAPSNAP_DIRECTORY_LENGTH_LIMIT 4031u /* room for the file name under PATH_MAX */

/* HEAPSNAP_FRAMES: digits, 1 to HEAPSNAP_FRAMES_LIMIT; above it, the limit; default and fallback 64. */
heapsnap_verdict heapsnap_parse_frames(const char *text, uint32_t *frames);

/* HEAPSNAP_INTERVAL: whole seconds and/or a fraction ("2", "0.25", ".5") to nanoseconds, digits past
 * the ninth decimal ignored; 0 = off; a value that is not 0 but below 1 ns, or above
 * HEAPSNAP_SECONDS_LIMIT, is invalid. Default and fallback 0 (off). */
heapsnap_verdict heapsnap_parse_seconds(const char *text, uint64_t *nanoseconds);

/* HEAPSNAP_PEAK_STEP: digits, then optionally K, M or G (powers of 1024), "i" after one of them, and
 * "B" (case-insensitive): 100, 100B, 512K, 64MiB. Overflowing 64 bits is invalid. Default and
 * fallback 0 (off). */
heapsnap_verdict heapsnap_parse_bytes(const char *text, uint64_t *bytes);

/* HEAPSNAP_SIGNAL: a number (0 = off), a name with or without SIG (case-insensitive), RTMIN, RTMIN+n,
 * RTMAX, RTMAX-n, or none/off. KILL and STOP cannot be caught and are invalid. Default and fallback
 * 0 (off: no handler is installed). */
heapsnap_verdict heapsnap_parse_signal(const char *text, int *signal);
int heapsnap_default_signal(void);
/* The signal's name without "SIG" ("USR2"), NULL for real-time and unknown numbers. */
const char *heapsnap_signal_name(int signal);

/* HEAPSNAP_TRACES: HEAPSNAP_BOOLEAN_GRAMMAR, case-insensitive. Default and fallback false. */
heapsnap_verdict heapsnap_parse_boolean(const char *text, bool *value);

/* HEAPSNAP_UNWINDER: own or libunwind (case-insensitive), as HEAPSNAP_UNWINDER_CHOICE_*. Default and
 * fallback own. */
heapsnap_verdict heapsnap_parse_unwinder(const char *text, uint32_t *choice);

/* HEAPSNAP_ONLY: names separated by commas. Invalid when a name is empty or holds a '/' (it would
 * never match a program's basename); the list is still used as given. */
heapsnap_verdict heapsnap_parse_program_list(const char *text);
/* Whether `name` (a basename) is one of the list's names. */
bool heapsnap_program_listed(const char *list, const char *name);

/* HEAPSNAP_DIR: any path up to HEAPSNAP_DIRECTORY_LENGTH_LIMIT bytes; longer is invalid (the
 * working directory is used). */
heapsnap_verdict heapsnap_parse_directory(const char *text);

#endif /* HEAPSNAP_SETTINGS_H */
