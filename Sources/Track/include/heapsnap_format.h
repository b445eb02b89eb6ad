/* heapsnap_format.h: the contract between the tracker (libheapsnap.so, C) and the tools (Swift).
 *
 * Everything both sides must agree on is spelled here once: the snapshot file's magic, version, section
 * tags and flag bits (Docs/FORMAT.md explains the layout), the trigger values and names, the pieces of
 * the default file name, the environment variables the tracker reads (Docs/TRACKER.md) and the frame
 * default and limit. The tracker's writer uses these macros; the Swift reader and CLI import this header
 * through the C target CHeapSnapContract (Package.swift), which adds no dependency to the traced process.
 *
 * Only macros and static inline functions: nothing here needs to be linked. Integer constants carry a
 * `u` suffix so that Swift imports them as UInt32 (or `ull` for UInt64).
 */
#ifndef HEAPSNAP_FORMAT_H
#define HEAPSNAP_FORMAT_H

#include <stdint.h>

/* ---- the file: preamble "HEAPSNAP", u32 version, u32 reserved ---- */
#define HEAPSNAP_MAGIC "HEAPSNAP"
#define HEAPSNAP_MAGIC_LENGTH 8u
/* 2: STACKS records gain temporary_allocs (and Python frames, the PYTHON section), the SAMPLING section;
 * readers accept 1 too */
#define HEAPSNAP_FORMAT_VERSION 2u
#define HEAPSNAP_FORMAT_VERSION_OLDEST 1u
#define HEAPSNAP_PREAMBLE_SIZE 16u
#define HEAPSNAP_SECTION_HEADER_SIZE 16u /* u32 tag, u32 reserved, u64 payload length */

/* ---- section tags, in file order (a reader skips tags it does not know) ---- */
#define HEAPSNAP_SECTION_HEADER 1u
#define HEAPSNAP_SECTION_MODULES 2u
#define HEAPSNAP_SECTION_STACKS 3u
#define HEAPSNAP_SECTION_TRACES 4u
#define HEAPSNAP_SECTION_PYTHON 5u /* CPython: status and code records (format version 2) */
#define HEAPSNAP_SECTION_SAMPLING 6u /* sampling mode's figures (format version 2); absent in exact mode */
#define HEAPSNAP_SECTION_UNWIND 7u /* which unwinder captured the stacks, and HEAPSNAP_VERIFY_UNWIND's counts */
#define HEAPSNAP_SECTION_END 0xFFFFFFFFu /* payload: u32 CRC-32 of every byte before this section */

/* ---- HEADER flags ---- */
#define HEAPSNAP_HEADER_HAS_TRACES 0x1u /* a TRACES section follows */

/* ---- MODULES: per-module flags ---- */
#define HEAPSNAP_MODULE_MAIN_EXECUTABLE 0x1u
#define HEAPSNAP_MODULE_UNLOADED 0x2u /* dlclosed since: stacks may still point into it */
#define HEAPSNAP_MODULE_VDSO 0x4u

/* ---- STACKS: bytes of a record before its frames: u32 domain, u16 depth, u16 flags, u64 live_bytes,
 * live_blocks, total_allocs, total_bytes, temporary_allocs (version 2; version 1 ends at total_bytes) ---- */
#define HEAPSNAP_STACK_RECORD_SIZE 48u
#define HEAPSNAP_STACK_RECORD_SIZE_V1 40u

/* ---- STACKS: per-stack flags ---- */
#define HEAPSNAP_STACK_TRUNCATED 0x1u /* the native part was deeper than max_frames, or the Python part than 128 */

/* ---- STACKS: a Python frame in a stack's frames (after all native ones) ---- */
#define HEAPSNAP_PYTHON_FRAME 0x8000000000000000ull /* bit 63: a Python frame, never a user-space address */
#define HEAPSNAP_PYTHON_ENTRY 0x4000000000000000ull /* bit 62: outermost frame of one evaluation-loop call */
#define HEAPSNAP_PYTHON_CODE_SHIFT 32u              /* bits 32..61: index into the PYTHON code records */
#define HEAPSNAP_PYTHON_CODE_MASK 0x3FFFFFFFu
#define HEAPSNAP_PYTHON_OFFSET_MASK 0xFFFFFFFFull   /* bits 0..31: instruction, in 2-byte code units */
#define HEAPSNAP_PYTHON_NOT_STARTED 0xFFFFFFFFu     /* instruction of a frame that has not started */
#define HEAPSNAP_PYTHON_MAX_FRAMES 128u

/* ---- PYTHON: status (non-zero: Python frames off, the detail line says why) ---- */
#define HEAPSNAP_PYTHON_CAPTURING 0u
#define HEAPSNAP_PYTHON_OFF_BY_SETTING 1u   /* HEAPSNAP_PYTHON=0 */
#define HEAPSNAP_PYTHON_UNSUPPORTED 2u      /* version or build heapsnap cannot read */
#define HEAPSNAP_PYTHON_LAYOUT_MISMATCH 3u  /* 3.13's _Py_DebugOffsets disagree with heapsnap's table */
#define HEAPSNAP_PYTHON_INCOMPLETE 4u       /* a symbol heapsnap needs is not exported */

/* ---- UNWIND: which unwinder captured the stacks (status) and flags ---- */
#define HEAPSNAP_UNWINDER_OWN 0u                      /* the tracker's own .eh_frame unwinder, libunwind as fallback */
#define HEAPSNAP_UNWINDER_LIBUNWIND_BY_SETTING 1u     /* HEAPSNAP_UNWINDER=libunwind */
#define HEAPSNAP_UNWINDER_LIBUNWIND_AFTER_MISMATCH 2u /* verification found a difference: libunwind from then on */
#define HEAPSNAP_UNWINDER_LIBUNWIND_NO_FIND_OBJECT 3u /* glibc without _dl_find_object (older than 2.35) */
#define HEAPSNAP_UNWINDER_LIBUNWIND_UNSUPPORTED_ARCH 4u /* not x86-64 */
#define HEAPSNAP_UNWINDER_LIBUNWIND_UNAVAILABLE 5u    /* the tracker had not set up unwinding */
#define HEAPSNAP_UNWIND_VERIFYING 0x1u                /* flags: HEAPSNAP_VERIFY_UNWIND was on */

/* HEAPSNAP_UNWINDER's values (heapsnap_parse_unwinder) */
#define HEAPSNAP_UNWINDER_CHOICE_OWN 0u
#define HEAPSNAP_UNWINDER_CHOICE_LIBUNWIND 1u

/* ---- what made the tracker write a snapshot (HEADER trigger) ---- */
#define HEAPSNAP_TRIGGER_API 0u      /* heapsnap_snapshot() */
#define HEAPSNAP_TRIGGER_EXIT 1u
#define HEAPSNAP_TRIGGER_SIGNAL 2u   /* HEAPSNAP_SIGNAL */
#define HEAPSNAP_TRIGGER_INTERVAL 3u /* HEAPSNAP_INTERVAL */
#define HEAPSNAP_TRIGGER_PEAK 4u     /* HEAPSNAP_PEAK_STEP */
#define HEAPSNAP_TRIGGER_SNAP 5u     /* heapsnap snap, over the control socket */
#define HEAPSNAP_TRIGGER_COUNT 6u

/* The trigger's name as reports and JSON documents spell it; NULL for an unknown value. */
static inline const char *heapsnap_trigger_name(uint32_t trigger) {
    switch (trigger) {
    case HEAPSNAP_TRIGGER_API: return "api";
    case HEAPSNAP_TRIGGER_EXIT: return "exit";
    case HEAPSNAP_TRIGGER_SIGNAL: return "signal";
    case HEAPSNAP_TRIGGER_INTERVAL: return "interval";
    case HEAPSNAP_TRIGGER_PEAK: return "peak";
    case HEAPSNAP_TRIGGER_SNAP: return "snap";
    default: return (const char *)0;
    }
}

/* ---- default file names: <program>.<pid>.<sequence>.heapsnap, <program>.<pid>.peak.heapsnap ---- */
#define HEAPSNAP_FILE_SUFFIX ".heapsnap"
#define HEAPSNAP_FILE_PEAK_NAME "peak"    /* in place of the sequence: the rolling peak snapshot */
#define HEAPSNAP_FILE_SEQUENCE_DIGITS 4u  /* zero-padded to at least this many digits */

/* ---- frames per allocation ---- */
#define HEAPSNAP_FRAMES_DEFAULT 64u
#define HEAPSNAP_FRAMES_LIMIT 256u

/* ---- the environment (Docs/TRACKER.md); the grammars are in heapsnap_settings.h ---- */
#define HEAPSNAP_ENV_DIR "HEAPSNAP_DIR"             /* folder of the snapshots; default: start directory */
#define HEAPSNAP_ENV_FRAMES "HEAPSNAP_FRAMES"       /* frames per allocation */
#define HEAPSNAP_ENV_SIGNAL "HEAPSNAP_SIGNAL"       /* snapshot on this signal too; default none */
#define HEAPSNAP_ENV_INTERVAL "HEAPSNAP_INTERVAL"   /* snapshot every so many seconds */
#define HEAPSNAP_ENV_PEAK_STEP "HEAPSNAP_PEAK_STEP" /* rewrite the peak snapshot when the peak grew so much */
#define HEAPSNAP_ENV_TRACES "HEAPSNAP_TRACES"       /* also record every live block */
#define HEAPSNAP_ENV_ONLY "HEAPSNAP_ONLY"           /* track only programs of these names */
#define HEAPSNAP_ENV_PYTHON "HEAPSNAP_PYTHON"       /* 0/no/false/off: no Python frames in CPython processes */
#define HEAPSNAP_ENV_MIN_PEAK "HEAPSNAP_MIN_PEAK"   /* a child's exit snapshot only above this traced peak */
#define HEAPSNAP_ENV_MAX_DISK "HEAPSNAP_MAX_DISK"   /* bytes of snapshot files per run, then no more */
#define HEAPSNAP_ENV_SAMPLE "HEAPSNAP_SAMPLE"       /* sampling mode: mean bytes between samples */
#define HEAPSNAP_ENV_SAMPLE_SEED "HEAPSNAP_SAMPLE_SEED" /* sampling mode: a fixed seed (digits) */
#define HEAPSNAP_ENV_UNWINDER "HEAPSNAP_UNWINDER" /* own (default) or libunwind */
#define HEAPSNAP_ENV_VERIFY_UNWIND "HEAPSNAP_VERIFY_UNWIND" /* 1: run libunwind beside the own unwinder, compare */
#define HEAPSNAP_ENV_LIB "HEAPSNAP_LIB"             /* read by the CLI: where libheapsnap.so is */

/* ---- bounded output (Docs/TRACKER.md, "Bounded output") ---- */
#define HEAPSNAP_MIN_PEAK_DEFAULT (4ull << 20)
#define HEAPSNAP_MAX_DISK_DEFAULT (1ull << 30)
/* <dir>/.heapsnap-budget.<process group>: the run's HEAPSNAP_MAX_DISK ledger (u64 bytes, u64 told) */
#define HEAPSNAP_BUDGET_LEDGER_PREFIX ".heapsnap-budget."

/* ---- the control socket: abstract Unix socket "\0" HEAPSNAP_CONTROL_SOCKET_PREFIX "<pid>" ---- */
#define HEAPSNAP_CONTROL_SOCKET_PREFIX "heapsnap."
#define HEAPSNAP_CONTROL_REQUEST_SNAP "snap\n"   /* answered "ok <path>\n" or "error <reason>\n" */
#define HEAPSNAP_CONTROL_ANSWER_OK "ok "
#define HEAPSNAP_CONTROL_ANSWER_ERROR "error "

#endif /* HEAPSNAP_FORMAT_H */
