/* heapsnap.h: the C API of libheapsnap.so, the heapsnap tracker.
 *
 * Nothing links against the tracker: it is loaded with LD_PRELOAD. A program that wants to talk to it
 * looks the functions up at run time, so the same binary runs with or without the tracker:
 *
 *     int (*snap)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapsnap_snapshot");
 *     if (snap) snap(NULL);
 *
 * All functions are thread-safe. None of them may be called from a signal handler.
 * Docs/TRACKER.md describes the tracker; Docs/FORMAT.md the files it writes.
 */
#ifndef HEAPSNAP_H
#define HEAPSNAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a snapshot now (trigger "api"). With path == NULL the file gets the next default name
 * `<program>.<pid>.<seq>.heapsnap` in HEAPSNAP_DIR; otherwise it is written to exactly `path`, which
 * must not exist yet (the tracker never replaces a file it did not create). Returns 0 on success,
 * -1 with errno set otherwise (EEXIST, EACCES, ENOSPC, ...). Blocks while another snapshot is written. */
int heapsnap_snapshot(const char *path);

/* Bytes currently held by traced blocks (all domains) and the highest value since start or since the
 * last heapsnap_reset_peak(). Either pointer may be NULL. */
void heapsnap_get_traced_memory(size_t *current, size_t *peak);

/* Sets the peak to the current traced size (and restarts the HEAPSNAP_PEAK_STEP measure from there). */
void heapsnap_reset_peak(void);

/* Writes what was live, per stack, when traced memory was at its highest (since start or the last
 * heapsnap_reset_peak()): trigger "peak". With path == NULL into `<program>.<pid>.peak.heapsnap`
 * (replacing this process's earlier one), otherwise into exactly `path`, which must not exist. The
 * tracker writes that file at exit too. Returns 0, or -1 with errno as heapsnap_snapshot(). */
int heapsnap_snapshot_peak(const char *path);

/* Bytes of memory the tracker itself holds: tables, interned stacks, buffers. */
size_t heapsnap_tracker_memory(void);

/* Pool and arena allocators: report a block of `size` bytes at `ptr` in `domain` (domain 0 is the
 * malloc family; pick any other number for your allocator). The block gets the caller's stack. Tracking
 * an address that is already tracked in that domain replaces the old block. Returns 0, or -1 with errno
 * EINVAL (ptr == 0) or ENOMEM (the tracker could not grow its tables). */
int heapsnap_track(unsigned int domain, uintptr_t ptr, size_t size);

/* Forgets the block at `ptr` in `domain`. Returns 0, or -1 with errno ENOENT when it was not tracked. */
int heapsnap_untrack(unsigned int domain, uintptr_t ptr);

#ifdef __cplusplus
}
#endif

#endif /* HEAPSNAP_H */
