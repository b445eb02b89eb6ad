#!/usr/bin/env python3
"""Writes the reader's hand-made regression inputs from a real snapshot: valid files (CRC resealed)
whose counts overflow when summed. usage: make_overflow_inputs.py SNAPSHOT OUT_DIR"""
import struct, sys, zlib

def sections(data):
    at = 16
    while True:
        tag, _, length = struct.unpack_from("<IIQ", data, at)
        yield tag, at + 16, length
        if tag == 0xFFFFFFFF:
            return
        at += 16 + length

def reseal(data):
    end = [start - 16 for tag, start, _ in sections(data) if tag == 0xFFFFFFFF][0]
    struct.pack_into("<I", data, end + 16, zlib.crc32(bytes(data[:end])) & 0xFFFFFFFF)
    return data

def stack_offsets(data):
    start = [s for tag, s, _ in sections(data) if tag == 3][0]
    count, = struct.unpack_from("<I", data, start)
    at = start + 4
    version, = struct.unpack_from("<I", data, 8)
    record = 48 if version >= 2 else 40  # version 2 adds temporary_allocs (Docs/FORMAT.md)
    for _ in range(count):
        yield at
        depth, = struct.unpack_from("<H", data, at + 4)
        at += record + 8 * depth

def with_stacks(source, field, values):
    data = bytearray(source)
    for at, value in zip(stack_offsets(data), values):
        struct.pack_into("<Q", data, at + 8 + 8 * field, value)
    return reseal(data)

source = open(sys.argv[1], "rb").read()
out = sys.argv[2]
cases = {
    "live-bytes-2p63-on-two-stacks": (0, [1 << 63, 1 << 63]),
    "live-blocks-near-2p64": (1, [(1 << 64) - 1, 2]),
    "total-allocations-2p63-each": (2, [1 << 63, 1 << 63]),
    "total-bytes-max-plus-one": (3, [(1 << 64) - 1, 1]),
}
for name, (field, values) in cases.items():
    open(f"{out}/{name}.heapsnap", "wb").write(with_stacks(source, field, values))
header = bytearray(source)
hstart = [s for tag, s, _ in sections(header) if tag == 1][0]
struct.pack_into("<Q", header, hstart + 40 + 8, 1 << 63)  # peak bytes
open(f"{out}/header-peak-2p63.heapsnap", "wb").write(reseal(header))
