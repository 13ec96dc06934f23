#!/usr/bin/env python3
"""Writes fuzz/corpus/dwarf/: DWARF sections cut from the fixtures' executables
(the first compilation units; the main package's),
as the dwarf target reads them: records of [section index, 2-byte length,
bytes], the sections in fuzz/targets.rs' DWARF_SECTIONS order.
Usage: fuzz/make-dwarf-seeds.py   (needs zstd on PATH)"""
import os, struct, subprocess, zlib

SECTIONS = [".debug_info", ".debug_abbrev", ".debug_str", ".debug_line_str", ".debug_loclists",
            ".debug_loc", ".debug_rnglists", ".debug_ranges", ".debug_addr", ".debug_str_offsets", ".debug_line"]
root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

def sections(elf):
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3a)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    names = hdrs[shstrndx][4]
    out = {}
    for h in hdrs:
        name = elf[names + h[0]:elf.index(b"\0", names + h[0])].decode()
        data = elf[h[4]:h[4] + h[5]]
        if h[2] & 0x800:  # SHF_COMPRESSED: a 24-byte Elf64_Chdr, then zlib
            data = zlib.decompress(data[24:])
        out[name] = data
    return out

def units(info):
    """(offset, size, name) of each compilation unit; Go writes the name first."""
    i, out = 0, []
    while i < len(info):
        length, version = struct.unpack_from("<IH", info, i)
        j = i + (12 if version >= 5 else 11)
        while info[j] & 0x80:
            j += 1
        j += 1
        out.append((i, length + 4, info[j:info.index(b"\0", j)].decode(errors="replace")))
        i += length + 4
    return out

def programs(line, n):
    """The first n line programs (Go writes one per unit, in unit order)."""
    i = 0
    for _ in range(n):
        length, = struct.unpack_from("<I", line, i)
        i += length + 4
    return line[:i]

def records(parts):
    out = b""
    for name, data in parts:
        for k in range(0, len(data), 65535):
            chunk = data[k:k + 65535]
            out += bytes([SECTIONS.index(name)]) + struct.pack("<H", len(chunk)) + chunk
    return out

for v in ["go1.21.13", "go1.27.3"]:
    elf = subprocess.run(["zstd", "-dc", os.path.join(root, "fixtures", v, "crashzoo.zst")],
                         check=True, capture_output=True).stdout
    s = sections(elf)
    us = units(s[".debug_info"])
    pick = {"first": us[:4], "main": [u for u in us if u[2] == "main"]}
    for label, chosen in pick.items():
        info = b"".join(s[".debug_info"][o:o + n] for o, n, _ in chosen)
        parts = [(".debug_abbrev", s[".debug_abbrev"]), (".debug_info", info)]
        for extra in SECTIONS[2:-1]:
            if extra in s:
                parts.append((extra, s[extra][:8192]))
        # The line programs up to the last unit's (units are parsed with theirs).
        last = max(us.index(u) for u in chosen)
        parts.append((".debug_line", programs(s[".debug_line"], last + 1)))
        out = os.path.join(root, "fuzz", "corpus", "dwarf", f"{v}-{label}")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(records(parts))
        print(out, os.path.getsize(out), [n for _, _, n in chosen])
