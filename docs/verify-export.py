#!/usr/bin/env python3
"""Check a motcua case export (the zip from `motcua snapshots export` or the review UI)
without the device: Python 3.8+ standard library plus the `cryptography` package (PyPI) for
ed25519.

    python3 verify-export.py case.zip [--device-key BASE64] [--hub-key BASE64 ...]
                                      [--allow-unsigned] [--allow-untrusted]

What it proves, in order (the rules are in docs/storage.md, "Case export"):
  1. every JPEG matches the SHA-256 in manifest.json, and names itself (its motcua-snapshot
     comment) as a snapshot of this record;
  2. every listed capture's fields hash to its body hash, and the chain links from the first
     listed entry to the stated head: hash = SHA-256(prev_hash_hex || body_hash_hex);
  3. manifest.sig is the device's ed25519 signature over the exact bytes of manifest.json,
     and signed_head is that head signed by the same key (--device-key: the key must be this
     one, e.g. as the hub shows it);
  4. the hub's receipt (if any) is for this device and key, the proven chain passes through
     the anchored head, and (--hub-key) the hub signed it.
Exit status 0 and "OK: ..." when everything checked holds AND the signing key is vouched for
(--device-key matches, or a --hub-key verifies the hub's receipt for that key); 1 and
"FAIL: ..." otherwise. An unsigned export, or a key nothing vouches for, fails unless
--allow-unsigned / --allow-untrusted is given (then the output says so).
"""
import argparse
import base64
import hashlib
import json
import sys
import zipfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ENCODING = "motcua-footage-chain/1"
FORMATS = ("motcua-case-export/1", "motcua-case-export/2")
META_TAG = b"motcua-snapshot/1\n"


class Fail(Exception):
    pass


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def canonical(f):
    """The chain's canonical bytes of an entry: tag, then each field length-prefixed."""
    rec = "-" if f.get("record_id") is None else "r:" + f["record_id"]
    parts = [ENCODING, str(f["seq"]), f["kind"], str(f["snapshot_id"]), f["sha256"],
             str(f["bytes"]), str(f["counter"]), rec, str(f["captured_at_ms"]),
             str(f["recorded_at_ms"]), f["reason"]]
    out = b""
    for p in parts:
        b = p.encode("utf-8")
        out += len(b).to_bytes(4, "big") + b
    return out


def link(prev_hash, body_hash):
    return sha256_hex((prev_hash + body_hash).encode("ascii"))


def verify_sig(key_b64, message, sig_b64, what):
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(key_b64, validate=True))
        key.verify(base64.b64decode(sig_b64.strip(), validate=True), message)
    except (InvalidSignature, ValueError) as e:
        raise Fail(f"{what}: signature does not verify ({type(e).__name__})")


def jpeg_meta(data):
    """The motcua-snapshot comment of a JPEG (segments before the scan), or None."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:
            break
        n = int.from_bytes(data[i + 2:i + 4], "big")
        seg = data[i + 4:i + 2 + n]
        if marker == 0xFE and seg.startswith(META_TAG):
            return json.loads(seg[len(META_TAG):])
        i += 2 + n
    return None


def check(path, device_key=None, hub_keys=(), allow_unsigned=False, allow_untrusted=False):
    z = zipfile.ZipFile(path)
    manifest_bytes = z.read("manifest.json")
    m = json.loads(manifest_bytes)
    if m.get("format") not in FORMATS or m["chain"]["encoding"] != ENCODING:
        raise Fail("unknown format")
    record = m["record_id"]
    for s in m["snapshots"]:
        data = z.read(s["file"])
        if sha256_hex(data) != s["sha256"]:
            raise Fail(f"{s['file']} does not match its SHA-256")
        meta = jpeg_meta(data)
        if meta is not None and meta.get("record_id") != record:
            raise Fail(f"{s['file']} describes itself as a snapshot of {meta.get('record_id')}")
    chain = m["chain"]
    prev = chain["start_prev_hash"]
    proven = {}
    hashes = {}
    for e in chain["entries"]:
        f = e.get("fields")
        if f is not None:
            if sha256_hex(canonical(f)) != e["body_hash"]:
                raise Fail(f"entry {e['seq']}: fields do not match its body hash")
            if f["seq"] != e["seq"]:
                raise Fail(f"entry {e['seq']}: fields name another sequence")
            proven[f["seq"]] = f
        if link(prev, e["body_hash"]) != e["hash"]:
            raise Fail(f"entry {e['seq']}: broken link")
        prev = e["hash"]
        hashes[e["seq"]] = e["hash"]
    if prev != chain["head_hash"]:
        raise Fail("the chain does not reach the stated head")
    for s in m["snapshots"]:
        f = proven.get(s["id"])
        if (f is None or f["sha256"] != s["sha256"] or f["record_id"] != record
                or f["kind"] not in ("capture", "recover")):
            raise Fail(f"snapshot {s['id']} has no proven capture entry for record {record}")
    notes = []
    trusted = False  # is the signing key tied to the device by something the checker trusts?
    dev = m.get("device")
    if dev is None:
        if device_key or hub_keys or not allow_unsigned:
            raise Fail("the export is UNSIGNED: nothing ties it to a device "
                       "(--allow-unsigned checks its chain alone)")
        notes.append("UNSIGNED (no device signature; chain checked alone)")
        trusted = True
    else:
        if device_key and device_key != dev["key"]:
            raise Fail(f"signed by key {dev['key']}, not the expected device key")
        names = set(z.namelist())
        if "manifest.sig" not in names:
            raise Fail("the export names a device but has no manifest.sig")
        verify_sig(dev["key"], manifest_bytes, z.read("manifest.sig").decode("ascii"),
                   "manifest.sig")
        h = m.get("signed_head")
        if (h is None or h["key"] != dev["key"] or h["seq"] != chain["head_seq"]
                or h["hash"] != chain["head_hash"]):
            raise Fail("signed_head is not the proven chain head by this device")
        msg = f"motcua-footage-head-v1\n{dev['name']}\n{h['seq']}\n{h['hash']}\n{h['at']}"
        verify_sig(dev["key"], msg.encode("utf-8"), h["signature"], "signed_head")
        notes.append(f"signed by device {dev['name']} key {dev['key']}"
                     + ("" if device_key else " (key not compared: no --device-key)"))
        trusted = bool(device_key)
        r = m.get("anchor")
        if r is None:
            if hub_keys:
                raise Fail("the export carries no anchored head to check against the hub")
            notes.append("no anchored head")
        else:
            if r["key"] != dev["key"] or r["device"] != dev["name"]:
                raise Fail("anchor: the receipt is for another device")
            msg = f"motcua-footage-head-v1\n{r['device']}\n{r['seq']}\n{r['hash']}\n{r['at']}"
            verify_sig(r["key"], msg.encode("utf-8"), r["signature"], "anchor head")
            if hashes.get(r["seq"]) != r["hash"]:
                raise Fail(f"anchor: the proven chain does not pass through the anchored "
                           f"head (entry {r['seq']})")
            receipt = (f"motcua-anchor-receipt-v1\n{r['device']}\n{r['key']}\n{r['seq']}\n"
                       f"{r['hash']}\n{r['at']}\n{r['signature']}\n{r['received_at']}\n"
                       f"{r['hub_seq']}").encode("utf-8")
            if hub_keys:
                for k in hub_keys:
                    try:
                        verify_sig(k, receipt, r["hub_signature"], "hub receipt")
                        break
                    except Fail:
                        pass
                else:
                    raise Fail("anchor: the hub signature does not verify with a given hub key")
                trusted = True  # the hub's receipt vouches for this device key
                notes.append(f"anchored at entry {r['seq']}, receipt signed by the hub "
                             f"at {r['received_at']}")
            else:
                notes.append(f"anchored at entry {r['seq']} (hub signature not checked: "
                             f"no --hub-key)")
    if not trusted:
        if not allow_untrusted:
            raise Fail("nothing ties the signing key to the device: give --device-key (the "
                       "key the hub shows for it) or --hub-key (the hub's receipt vouches for "
                       "the key); --allow-untrusted checks the export's own consistency only")
        notes.append("UNTRUSTED: the signing key was not compared with anything")
    return (f"{len(m['snapshots'])} snapshot(s) of {record}, chain head {chain['head_seq']}; "
            + "; ".join(notes))


def main():
    ap = argparse.ArgumentParser(description="Check a motcua case export without the device.")
    ap.add_argument("zip")
    ap.add_argument("--device-key", help="the device's ed25519 public key (base64)")
    ap.add_argument("--hub-key", action="append", default=[],
                    help="a hub signing key (base64); may be given more than once")
    ap.add_argument("--allow-unsigned", action="store_true",
                    help="accept an export without a device signature (chain checked alone)")
    ap.add_argument("--allow-untrusted", action="store_true",
                    help="accept a signature by a key neither --device-key nor a hub receipt "
                         "vouches for (checks the export's own consistency only)")
    a = ap.parse_args()
    try:
        print("OK: " + check(a.zip, a.device_key, a.hub_key, a.allow_unsigned,
                             a.allow_untrusted))
    except (Fail, KeyError, ValueError, zipfile.BadZipFile) as e:
        print(f"FAIL: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
