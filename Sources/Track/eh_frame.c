/* From a return address to its frame's rule: the FDE found through .eh_frame_hdr's sorted table,
 * its CIE's and its own call frame instructions run up to the address (DWARF 5 §6.4, the LSB's
 * .eh_frame encodings). Only what a frame rule can say is kept: CFA from rsp or rbp plus an offset,
 * the return address at CFA - 8 or undefined, rbp saved at an offset from the CFA or unchanged.
 * Anything else marks the rule unsupported and the capture goes to libunwind.
 *
 * The data is the module's own, mapped read-only by the loader for as long as the module is loaded,
 * which it is while one of its return addresses is on the stack being unwound. Every read is still
 * kept inside the lengths the data states, so a malformed table ends in "unsupported", not a fault. */
#include "unwind.h"

#include <string.h>

enum {
    REG_RBP = 6,
    REG_RSP = 7,
    REG_RA = 16, /* x86-64 psABI: the return address column */
};

enum how { SAME, OFFSET, UNDEFINED, OTHER };

struct reg_rule {
    uint8_t how;
    int64_t offset; /* OFFSET: saved at CFA + offset */
};

struct row {
    uint8_t cfa_reg;   /* DWARF register number; anything but rsp/rbp is unsupported */
    bool cfa_other;    /* DW_CFA_def_cfa_expression */
    int64_t cfa_offset;
    struct reg_rule rbp, ra;
    bool rsp_rule;     /* a rule for rsp itself: the CFA is not the caller's rsp */
};

struct reader {
    const uint8_t *p, *end;
    bool bad;
};

static uint8_t u8(struct reader *r) {
    if (r->p >= r->end) {
        r->bad = true;
        return 0;
    }
    return *r->p++;
}

static uint64_t fixed(struct reader *r, int size) {
    if (r->end - r->p < size) {
        r->bad = true;
        r->p = r->end;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, r->p, (size_t)size); /* little-endian host */
    r->p += size;
    return v;
}

static uint64_t uleb(struct reader *r) {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
        uint8_t b = u8(r);
        if (r->bad) return 0;
        if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
}

static int64_t sleb(struct reader *r) {
    uint64_t v = 0;
    int shift = 0;
    uint8_t b;
    do {
        b = u8(r);
        if (r->bad) return 0;
        if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

/* DW_EH_PE_* pointer encodings: the value's form in the low nibble, what it is relative to in bits 4-6. */
static uintptr_t encoded(struct reader *r, uint8_t encoding, uintptr_t data_base) {
    if (encoding == 0xff) return 0; /* omitted */
    uintptr_t at = (uintptr_t)r->p;
    uint64_t v;
    switch (encoding & 0x0f) {
    case 0x00: v = fixed(r, 8); break;
    case 0x01: v = uleb(r); break;
    case 0x02: v = fixed(r, 2); break;
    case 0x03: v = fixed(r, 4); break;
    case 0x04: v = fixed(r, 8); break;
    case 0x09: v = (uint64_t)sleb(r); break;
    case 0x0a: v = (uint64_t)(int64_t)(int16_t)fixed(r, 2); break;
    case 0x0b: v = (uint64_t)(int64_t)(int32_t)fixed(r, 4); break;
    case 0x0c: v = fixed(r, 8); break;
    default: r->bad = true; return 0;
    }
    switch (encoding & 0x70) {
    case 0x00: break;
    case 0x10: v += at; break;        /* pcrel */
    case 0x30: v += data_base; break; /* datarel: .eh_frame_hdr's own start */
    default: r->bad = true; return 0; /* textrel, funcrel, aligned: not used on x86-64 Linux */
    }
    return (uintptr_t)v; /* indirect (0x80) is only used for the personality, which is skipped */
}

/* Reads a CIE or FDE's length; r->end becomes its end. Returns false on a terminator or bad length. */
static bool entry_bounds(const uint8_t *at, const uint8_t *limit, struct reader *r) {
    r->p = at;
    r->end = limit;
    r->bad = false;
    uint64_t length = fixed(r, 4);
    if (length == 0xffffffffu) length = fixed(r, 8);
    if (r->bad || length == 0 || length > (uint64_t)(limit - r->p)) return false;
    r->end = r->p + length;
    return true;
}

struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_encoding;
    bool has_augmentation_data;
    bool signal_frame;
    const uint8_t *insns, *insns_end;
};

static bool parse_cie(const uint8_t *at, struct cie *cie) {
    struct reader r;
    /* a CIE's extent is its own business: bound it generously, its length then decides */
    if (!entry_bounds(at, at + ((size_t)1 << 30), &r)) return false;
    if (fixed(&r, 4) != 0) return false; /* CIE id */
    uint8_t version = u8(&r);
    if (version != 1 && version != 3) return false;
    const char *augmentation = (const char *)r.p;
    while (u8(&r) && !r.bad) {}
    if (r.bad) return false;
    cie->code_align = uleb(&r);
    cie->data_align = sleb(&r);
    uint64_t ra_reg = version == 1 ? u8(&r) : uleb(&r);
    if (ra_reg != REG_RA) return false;
    cie->fde_encoding = 0; /* absptr */
    cie->signal_frame = false;
    cie->has_augmentation_data = augmentation[0] == 'z';
    if (augmentation[0] && augmentation[0] != 'z') return false; /* e.g. the old "eh" form */
    if (cie->has_augmentation_data) {
        uint64_t length = uleb(&r);
        if (r.bad || length > (uint64_t)(r.end - r.p)) return false;
        struct reader data = {r.p, r.p + length, false};
        for (const char *c = augmentation + 1; *c; c++) {
            if (*c == 'R') cie->fde_encoding = u8(&data);
            else if (*c == 'L') (void)u8(&data);
            else if (*c == 'P') encoded(&data, u8(&data) & 0x7f, 0);
            else if (*c == 'S') cie->signal_frame = true;
            else break; /* unknown letters: the length lets the rest be skipped */
        }
        if (data.bad) return false;
        r.p += length;
    }
    if (r.bad) return false;
    cie->insns = r.p;
    cie->insns_end = r.end;
    return true;
}

#define REMEMBER_DEPTH 8

struct machine {
    struct row row, initial;
    struct row remembered[REMEMBER_DEPTH];
    int depth;
    bool bad;
};

static void set_rule(struct machine *m, uint64_t reg, uint8_t how, int64_t offset) {
    if (reg == REG_RBP) m->row.rbp = (struct reg_rule){how, offset};
    else if (reg == REG_RA) m->row.ra = (struct reg_rule){how, offset};
    else if (reg == REG_RSP) m->row.rsp_rule = how != SAME;
    /* other registers do not take part in a frame rule */
}

static void restore_rule(struct machine *m, uint64_t reg) {
    if (reg == REG_RBP) m->row.rbp = m->initial.rbp;
    else if (reg == REG_RA) m->row.ra = m->initial.ra;
    else if (reg == REG_RSP) m->row.rsp_rule = m->initial.rsp_rule;
}

/* Runs instructions until the row for `target` is complete (stops before a row starting past it).
 * `loc` is the address the instructions start at; target UINTPTR_MAX runs them all (a CIE). */
static void execute(struct machine *m, const struct cie *cie, const uint8_t *p, const uint8_t *end, uintptr_t loc,
                    uintptr_t target) {
    struct reader r = {p, end, false};
    while (r.p < r.end && !r.bad && !m->bad) {
        uint8_t op = u8(&r);
        uint64_t reg, delta = 0;
        bool advance = false;
        switch (op & 0xc0) {
        case 0x40: delta = (op & 0x3f) * cie->code_align; advance = true; break;
        case 0x80: set_rule(m, op & 0x3f, OFFSET, (int64_t)uleb(&r) * cie->data_align); continue;
        case 0xc0: restore_rule(m, op & 0x3f); continue;
        default: break;
        }
        if (!advance) {
            switch (op) {
            case 0x00: continue; /* nop */
            case 0x01: { /* set_loc */
                uintptr_t to = encoded(&r, cie->fde_encoding, 0);
                if (to > target) return;
                loc = to;
                continue;
            }
            case 0x02: delta = fixed(&r, 1) * cie->code_align; advance = true; break;
            case 0x03: delta = fixed(&r, 2) * cie->code_align; advance = true; break;
            case 0x04: delta = fixed(&r, 4) * cie->code_align; advance = true; break;
            case 0x05: reg = uleb(&r); set_rule(m, reg, OFFSET, (int64_t)uleb(&r) * cie->data_align); continue;
            case 0x06: restore_rule(m, uleb(&r)); continue;
            case 0x07: set_rule(m, uleb(&r), UNDEFINED, 0); continue;
            case 0x08: set_rule(m, uleb(&r), SAME, 0); continue;
            case 0x09: reg = uleb(&r); (void)uleb(&r); set_rule(m, reg, OTHER, 0); continue; /* register */
            case 0x0a: /* remember_state */
                if (m->depth == REMEMBER_DEPTH) {
                    m->bad = true;
                    return;
                }
                m->remembered[m->depth++] = m->row;
                continue;
            case 0x0b: /* restore_state: the CFA rule too, as GCC's epilogues expect (and libgcc does) */
                if (m->depth == 0) {
                    m->bad = true;
                    return;
                }
                m->row = m->remembered[--m->depth];
                continue;
            case 0x0c: /* def_cfa */
                m->row.cfa_reg = (uint8_t)(reg = uleb(&r));
                if (reg > 255) m->row.cfa_reg = 255;
                m->row.cfa_offset = (int64_t)uleb(&r);
                m->row.cfa_other = false;
                continue;
            case 0x0d: /* def_cfa_register */
                reg = uleb(&r);
                m->row.cfa_reg = reg > 255 ? 255 : (uint8_t)reg;
                m->row.cfa_other = false;
                continue;
            case 0x0e: m->row.cfa_offset = (int64_t)uleb(&r); continue; /* def_cfa_offset */
            case 0x0f: { /* def_cfa_expression */
                uint64_t length = uleb(&r);
                if (length > (uint64_t)(r.end - r.p)) return (void)(m->bad = true);
                r.p += length;
                m->row.cfa_other = true;
                continue;
            }
            case 0x10:   /* expression */
            case 0x16: { /* val_expression */
                reg = uleb(&r);
                uint64_t length = uleb(&r);
                if (length > (uint64_t)(r.end - r.p)) return (void)(m->bad = true);
                r.p += length;
                set_rule(m, reg, OTHER, 0);
                continue;
            }
            case 0x11: reg = uleb(&r); set_rule(m, reg, OFFSET, sleb(&r) * cie->data_align); continue; /* offset_extended_sf */
            case 0x12: /* def_cfa_sf */
                reg = uleb(&r);
                m->row.cfa_reg = reg > 255 ? 255 : (uint8_t)reg;
                m->row.cfa_offset = sleb(&r) * cie->data_align;
                m->row.cfa_other = false;
                continue;
            case 0x13: m->row.cfa_offset = sleb(&r) * cie->data_align; continue; /* def_cfa_offset_sf */
            case 0x14: reg = uleb(&r); (void)uleb(&r); set_rule(m, reg, OTHER, 0); continue; /* val_offset */
            case 0x15: reg = uleb(&r); (void)sleb(&r); set_rule(m, reg, OTHER, 0); continue; /* val_offset_sf */
            case 0x2e: (void)uleb(&r); continue; /* GNU_args_size */
            case 0x2f: /* GNU_negative_offset_extended */
                reg = uleb(&r);
                set_rule(m, reg, OFFSET, -(int64_t)uleb(&r) * cie->data_align);
                continue;
            default: m->bad = true; return; /* vendor extensions this unwinder does not know */
            }
        }
        if (advance) {
            if (loc + delta > target) return; /* the next row starts past the address */
            loc += delta;
        }
    }
    if (r.bad) m->bad = true;
}

static struct hs_frame_rule unsupported(void) { return (struct hs_frame_rule){.supported = false}; }

/* The FDE covering `pc` through .eh_frame_hdr's binary search table, or NULL. */
static const uint8_t *find_fde(uintptr_t pc, const uint8_t *hdr) {
    struct reader r = {hdr, hdr + 4 + 16, false}; /* bounded once the table's size is known */
    if (u8(&r) != 1) return NULL;
    uint8_t frame_encoding = u8(&r), count_encoding = u8(&r), table_encoding = u8(&r);
    (void)encoded(&r, frame_encoding, (uintptr_t)hdr);
    uint64_t count = encoded(&r, count_encoding, (uintptr_t)hdr);
    if (r.bad || count == 0 || count > (1u << 28)) return NULL;
    if (table_encoding != 0x3b) return NULL; /* datarel sdata4: what every Linux linker writes */
    const int32_t *table = (const int32_t *)r.p;
    uint64_t lo = 0, hi = count; /* the last entry with initial location <= pc */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)hdr + (intptr_t)table[2 * mid] <= pc) lo = mid;
        else hi = mid;
    }
    if ((uintptr_t)hdr + (intptr_t)table[2 * lo] > pc) return NULL;
    return hdr + (intptr_t)table[2 * lo + 1];
}

struct hs_frame_rule hs_eh_frame_rule(uintptr_t pc, const void *eh_frame_hdr) {
    if (!eh_frame_hdr || pc == 0) return unsupported();
    uintptr_t target = pc - 1; /* a return address: the call instruction's row */
    const uint8_t *fde = find_fde(target, eh_frame_hdr);
    if (!fde) return unsupported();
    struct reader r;
    if (!entry_bounds(fde, fde + ((size_t)1 << 30), &r)) return unsupported();
    const uint8_t *cie_field = r.p;
    uint32_t cie_offset = (uint32_t)fixed(&r, 4);
    if (cie_offset == 0) return unsupported(); /* a CIE, not an FDE */
    struct cie cie;
    if (!parse_cie(cie_field - cie_offset, &cie) || cie.signal_frame) return unsupported();
    uintptr_t start = encoded(&r, cie.fde_encoding, 0);
    uintptr_t range = encoded(&r, cie.fde_encoding & 0x0f, 0);
    if (r.bad || target < start || target - start >= range) return unsupported();
    if (cie.has_augmentation_data) {
        uint64_t length = uleb(&r);
        if (r.bad || length > (uint64_t)(r.end - r.p)) return unsupported();
        r.p += length;
    }
    struct machine m;
    memset(&m, 0, sizeof m);
    m.row.rbp.how = SAME;
    m.row.ra.how = SAME;
    execute(&m, &cie, cie.insns, cie.insns_end, 0, UINTPTR_MAX);
    m.initial = m.row;
    m.depth = 0;
    execute(&m, &cie, r.p, r.end, start, target);
    if (m.bad || m.row.cfa_other || m.row.rsp_rule) return unsupported();
    if (m.row.cfa_reg != REG_RSP && m.row.cfa_reg != REG_RBP) return unsupported();
    struct hs_frame_rule rule = {.supported = true,
                                 .cfa_from_rbp = m.row.cfa_reg == REG_RBP,
                                 .cfa_offset = m.row.cfa_offset};
    if (m.row.ra.how == UNDEFINED) {
        rule.outermost = true;
    } else if (m.row.ra.how != OFFSET || m.row.ra.offset != -8) {
        return unsupported();
    }
    if (m.row.rbp.how == OFFSET) rule.rbp_offset = m.row.rbp.offset;
    else if (m.row.rbp.how == OTHER) return unsupported();
    if (m.row.rbp.how == OFFSET && m.row.rbp.offset >= 0) return unsupported(); /* saved below the CFA */
    return rule;
}
