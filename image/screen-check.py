#!/usr/bin/env python3
"""screen-check.py PNG [home|technician|not-home|attract]: is this the motcua kiosk drawing (not a blank
or console screen), and which screen?
screen-check.py PNG match:NAME NAME=REF.png...: which reference render (`motcua screenshot` of
the same screens on the host) the screendump is closest to; exit 0 when it is NAME. Closeness
is the share of sampled pixels within 24 per channel of the reference (the status line's clock,
fonts and the center name may differ; screens differ in far more).

Decodes the PNG (8-bit greyscale/RGB/RGBA, non-interlaced, as QEMU's screendump and Slint's
renderer write) with the standard library only, and counts pixels in the kiosk's own colours:
the top bar's primary blue (#0b4f8a) and the page background (#eef2f6). Prints the shares and
exits 0 when both are present in kiosk-like amounts (primary >= 2 %, background >= 5 %).
With a screen name it also tells the home screen (its dark "now serving" strip, #10243a, covers
>= 2 %: 6.4-8.6 % seen) from the technician screen (no strip, primary < 14 %: 7.5-12 % seen).
Calibrated on `motcua screenshot` renderings and on the boot test's own screendumps, with the
demo catalog (9 field tiles) and the test catalog (3 tiles: only 12.5 % primary blue, so the
tiles' blue alone cannot tell home from technician).
"attract" instead wants the kiosk's dim attract screen: dark on average (mean luminance < 60),
no page background showing, and its light text (#c8d4e0, #8fa3b8) present (>= 0.05 %), so a
black or console screen is not taken for it.
"""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or interlace != 0 or ctype not in (0, 2, 6):
        raise ValueError(f"{path}: unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    bpp = {0: 1, 2: 3, 6: 4}[ctype]
    raw, stride = zlib.decompress(idat), w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line)); prev = line
    return w, h, bpp, rows


def near(px, rgb, tol=10):
    return all(abs(p - q) <= tol for p, q in zip(px, rgb))


def pixel(img, x, y):
    w, h, bpp, rows = img
    row = rows[min(h - 1, y)]
    x = min(w - 1, x)
    return row[x * bpp:x * bpp + 3] if bpp >= 3 else row[x:x + 1] * 3


def close(p, q):
    return all(abs(a - b) <= 24 for a, b in zip(p, q))


def match(path, want, refs):
    img = decode(path)
    named = [(r.split("=", 1)[0], decode(r.split("=", 1)[1])) for r in refs]
    w, h = img[0], img[1]
    at = lambda im, x, y: pixel(im, x * im[0] // w, y * im[1] // h)
    # Only the sampled pixels where the references disagree decide (the status line's clock
    # and other common parts do not dilute a small difference such as typed text).
    spots = [(x, y) for y in range(0, h, 4) for x in range(0, w, 4)
             if not all(close(at(named[0][1], x, y), at(r, x, y)) for _, r in named[1:])]
    if not spots:
        print("the references do not differ"); sys.exit(1)
    scores = {n: sum(close(at(img, x, y), at(r, x, y)) for x, y in spots) / len(spots) for n, r in named}
    best = max(scores, key=scores.get)
    text = ", ".join(f"{n} {100 * v:.0f} %" for n, v in sorted(scores.items(), key=lambda kv: -kv[1]))
    print(f"closest {best} ({text}; {len(spots)} discriminating samples)")
    sys.exit(0 if best == want else 1)


def main():
    if len(sys.argv) > 2 and sys.argv[2].startswith("match:"):
        return match(sys.argv[1], sys.argv[2][6:], sys.argv[3:])
    w, h, bpp, rows = decode(sys.argv[1])
    primary, bg, strip, total, lum, text = 0, 0, 0, 0, 0, 0
    for row in rows[::2]:
        for x in range(0, w, 2):
            px = row[x * bpp:x * bpp + 3] if bpp >= 3 else row[x:x + 1] * 3
            total += 1
            primary += near(px, (0x0B, 0x4F, 0x8A))
            bg += near(px, (0xEE, 0xF2, 0xF6))
            strip += near(px, (0x10, 0x24, 0x3A), 12)
            lum += (299 * px[0] + 587 * px[1] + 114 * px[2]) // 1000
            text += near(px, (0xC8, 0xD4, 0xE0), 16) or near(px, (0x8F, 0xA3, 0xB8), 16)
    p, b, d = 100 * primary / total, 100 * bg / total, 100 * strip / total
    m, t = lum / total, 100 * text / total
    print(f"{w}x{h}: primary blue {p:.1f} %, background {b:.1f} %, serving strip {d:.1f} %, "
          f"mean luminance {m:.0f}, attract text {t:.2f} %")
    ok = p >= 2 and b >= 5
    want = sys.argv[2] if len(sys.argv) > 2 else None
    if want == "attract":
        ok = m < 60 and b < 0.5 and t >= 0.05
    elif want == "home":
        ok = ok and d >= 2
    elif want == "not-home":
        ok = ok and d < 0.5
    elif want == "technician":
        ok = ok and d < 0.5 and p < 14
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
