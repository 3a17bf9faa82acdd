#!/usr/bin/env python3
"""Publish Zibrato records from Python in the native batch format (docs/wire-format.md).

    python3 publish_native.py --broker tcp://127.0.0.1:5550 --name jobs.done --count 100
    python3 publish_native.py --type timer --name db.query --value 12.5,3.25 --count 10 --tag env=prod
    python3 publish_native.py --check-vectors ../../test/vectors   # byte-exact self test

Needs pyzmq (Debian/Ubuntu: apt install python3-zmq; else pip install pyzmq).
Nothing here is Zibrato-specific beyond the byte layout: it is the recipe for
a publisher in any language.
"""
import argparse
import glob
import json
import os
import re
import struct
import sys
import time

LEVELS = ["debug", "info", "warn", "error", "crit"]
TYPES = {"counter": 1, "gauge": 2, "timer": 3, "set": 4, "gaugeDelta": 5}
WIRE_VERSION = 2
SERIES_FLAG_SAMPLED = 1
# Version 3 only: a description and a unit follow the tags (docs/wire-format.md).
SERIES_FLAG_DESCRIBED = 2


def short_string(s):
    b = s.encode("utf-8")
    if len(b) > 255:
        raise ValueError("%r is longer than 255 UTF-8 bytes" % s[:40])
    return bytes([len(b)]) + b


def encode_series(mtype, name, source="", tags=None, sample_rate=1.0, description="", unit=""):
    """One series table entry: type, flags, [rate], name, source, tags sorted by key, [description, unit]."""
    if not name:
        raise ValueError("a metric name may not be empty")
    described = bool(description or unit)
    flags = (SERIES_FLAG_SAMPLED if sample_rate < 1 else 0) | (SERIES_FLAG_DESCRIBED if described else 0)
    out = bytes([TYPES[mtype], flags])
    if sample_rate < 1:
        if not sample_rate > 0:
            raise ValueError("sample rate must be in (0, 1]")
        out += struct.pack("<d", sample_rate)
    out += short_string(name) + short_string(source)
    tags = tags or {}
    # Writers sort tags by key. JavaScript sorts by UTF-16 code unit; sorting the
    # UTF-16-BE bytes gives the same order for every string.
    keys = sorted(tags, key=lambda k: k.encode("utf-16-be"))
    if len(keys) > 64:
        raise ValueError("at most 64 tags")
    out += bytes([len(keys)])
    for k in keys:
        out += short_string(k) + short_string(str(tags[k]))
    if described:
        out += short_string(description) + short_string(unit)
    return out


def encode_batch(records, sent_at_ms, publisher_id=bytes(8), sequence=0, version=WIRE_VERSION):
    """records: dicts with type, name, value and optional source, tags, sampleRate.
    A series enters the table the first time a record uses it; records keep their order.
    Version 2 adds publisher_id (8 bytes, random per process start) and sequence (records this
    publisher sent on this level before the batch) so receivers can count gaps; version 1 has neither."""
    table, slots, body = b"", {}, b""
    for r in records:
        entry = encode_series(r["type"], r["name"], r.get("source", ""), r.get("tags"), r.get("sampleRate", 1.0), r.get("seriesDescription", ""), r.get("unit", ""))
        if entry not in slots:
            slots[entry] = len(slots)
            table += entry
        body += struct.pack("<Hd", slots[entry], float(r["value"]))
    header = struct.pack("<BBHId", version, 0, len(slots), len(records), float(sent_at_ms))
    if version >= 2:
        if len(publisher_id) != 8 or not 0 <= sequence < 2 ** 53:
            raise ValueError("publisher_id is 8 bytes and 0 <= sequence < 2^53")
        header += bytes(publisher_id) + struct.pack("<Q", sequence)
    return header + table + body


def topic(level, shard=None):
    """The level topic (info|), or with shard=(K, N) that shard's topic (info|K/N|), which
    only a backend started with --shard K/N and the unsharded backends receive."""
    if shard is None:
        return level.encode("ascii") + b"|"
    return ("%s|%d/%d|" % (level, shard[0], shard[1])).encode("ascii")


def hash_set_member(member):
    """Set members travel as a 52-bit hash (src/wire/set-member.ts: FNV-1a, two lanes over UTF-16 code units)."""
    h1, h2 = 0x811C9DC5, 0x050C5D1F
    units = member.encode("utf-16-le")
    for i in range(0, len(units), 2):
        c = units[i] | (units[i + 1] << 8)
        h1 = ((h1 ^ c) * 0x01000193) & 0xFFFFFFFF
        h2 = (((h2 ^ c) * 0x01000193) & 0xFFFFFFFF) ^ (h1 >> 15)
    return h1 + (h2 >> 12) * 0x100000000


def check_vectors(directory):
    """Encodes every test/vectors/native-*.json and compares the bytes. Returns the number of mismatches."""
    files = sorted(glob.glob(os.path.join(directory, "native-*.json")))
    if not files:
        print("no native-*.json vectors in %s" % directory, file=sys.stderr)
        return 1
    bad = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            v = json.load(f)
        problems = []
        for r in v["records"]:
            if r["type"] == "set" and hash_set_member(r["member"]) != r["value"]:
                problems.append("hash_set_member(%r) = %d, vector has %d" % (r["member"], hash_set_member(r["member"]), r["value"]))
        if v.get("version", 1) in (2, 3):
            batch = encode_batch(v["records"], v["sentAtMs"], bytes.fromhex(v["publisherId"]), v["sequence"], v["version"])
        else:
            batch = encode_batch(v["records"], v["sentAtMs"], version=1)
        shard = (v["shard"]["index"], v["shard"]["count"]) if "shard" in v else None
        got = [topic(v["level"], shard).hex(), batch.hex()]
        for i in (0, 1):
            if got[i] != v["frames"][i]:
                problems.append("frame %d differs:\n  expected %s\n  got      %s" % (i, v["frames"][i], got[i]))
        name = os.path.basename(path)
        if problems:
            bad += 1
            print("MISMATCH %s\n  %s" % (name, "\n  ".join(problems)))
        else:
            print("ok %s" % name)
    print("%d of %d vectors match" % (len(files) - bad, len(files)))
    return bad


def wait_for_subscriber(sock, level, timeout_ms):
    """An XPUB socket hears the broker's subscriptions. ZeroMQ drops messages that no
    subscriber wants, so wait until someone wants this level (or give up and send anyway)."""
    want = topic(level)
    deadline = time.monotonic() + timeout_ms / 1000.0
    while time.monotonic() < deadline:
        if sock.poll(50):
            msg = sock.recv()
            # b"\x01" + prefix is a subscription; an empty prefix means "everything".
            if msg[:1] == b"\x01" and want.startswith(msg[1:]):
                return True
    return False


def read_key_file(path):
    """Keys from a `zibrato keygen` file: `public-key = K`, `secret-key = K` or a bare public key; # comments."""
    keys = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            # Z85 keys may contain "=", so match the label, not the first "=".
            m = re.match(r"^(public-key|secret-key)\s*=\s*(\S+)$", line)
            kind, key = (m.group(1), m.group(2)) if m else ("public-key", line)
            keys.setdefault(kind, key)
    return keys


def curve_keys(a):
    """(server, public, secret) as bytes from --curve-*-file or the ZIBRATO_CURVE_* environment, or None.
    Key values never go on the command line: `ps` shows it to every local user."""
    env = os.environ
    key_file = a.curve_key_file or env.get("ZIBRATO_CURVE_KEY_FILE")
    server_file = a.curve_server_key_file or env.get("ZIBRATO_CURVE_SERVER_KEY_FILE")
    pair = read_key_file(key_file) if key_file else {}
    public = pair.get("public-key") or env.get("ZIBRATO_CURVE_PUBLIC_KEY")
    secret = pair.get("secret-key") or env.get("ZIBRATO_CURVE_SECRET_KEY")
    server = read_key_file(server_file).get("public-key") if server_file else env.get("ZIBRATO_CURVE_SERVER_KEY")
    if not (public or secret or server):
        return None
    if not (public and secret and server):
        raise SystemExit("CURVE needs the broker's public key and this publisher's key pair (see docs/security.md)")
    return server.encode("ascii"), public.encode("ascii"), secret.encode("ascii")


def main(argv=None):
    p = argparse.ArgumentParser(description="Publish native Zibrato batches over ZeroMQ.")
    p.add_argument("--broker", default="tcp://127.0.0.1:5550", help="broker publisher endpoint (default %(default)s)")
    p.add_argument("--level", default="info", choices=LEVELS)
    p.add_argument("--type", default="counter", choices=sorted(TYPES))
    p.add_argument("--name", default="python.native.example")
    p.add_argument("--value", default="1", help="a value, or comma-separated values used in turn; for --type set, members")
    p.add_argument("--count", type=int, default=1, help="records to send (default %(default)s)")
    p.add_argument("--source", default="")
    p.add_argument("--tag", action="append", default=[], metavar="K=V", help="a tag (repeatable)")
    p.add_argument("--sample-rate", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=1000, help="records per message (default %(default)s)")
    p.add_argument("--wait-ms", type=int, default=5000, help="how long to wait for a subscriber (default %(default)s)")
    p.add_argument("--curve-key-file", help="this publisher's key pair file from zibrato keygen (env ZIBRATO_CURVE_KEY_FILE)")
    p.add_argument("--curve-server-key-file", help="the broker's public key file (env ZIBRATO_CURVE_SERVER_KEY_FILE)")
    p.add_argument("--check-vectors", metavar="DIR", help="encode the test vectors in DIR, compare bytes, exit 1 on a mismatch")
    a = p.parse_args(argv)

    if a.check_vectors:
        return 1 if check_vectors(a.check_vectors) else 0

    try:
        import zmq  # only needed to send
    except ImportError:
        sys.stderr.write("publish_native.py: needs pyzmq to send (Debian/Ubuntu: apt install python3-zmq; else pip install pyzmq)\n")
        return 2

    tags = dict(t.split("=", 1) if "=" in t else (t, "") for t in a.tag)
    values = a.value.split(",")
    to_value = (lambda v: hash_set_member(v)) if a.type == "set" else float
    records = [{"type": a.type, "name": a.name, "source": a.source, "tags": tags, "sampleRate": a.sample_rate,
                "value": to_value(values[i % len(values)])} for i in range(a.count)]

    ctx = zmq.Context()
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.LINGER, 5000)  # let queued messages leave before close
    keys = curve_keys(a)
    if keys:
        if not zmq.has("curve"):
            raise SystemExit("this libzmq has no CURVE support (built without libsodium); the broker requires keys")
        # Set before connect: the handshake uses them.
        sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = keys
    sock.connect(a.broker)
    if not wait_for_subscriber(sock, a.level, a.wait_ms):
        print("warning: no subscriber for level %s after %d ms; ZeroMQ will drop these records" % (a.level, a.wait_ms), file=sys.stderr)
    publisher_id = os.urandom(8)  # new on every start: receivers tell a restart from a loss
    sequence = 0  # records sent on this level so far
    for i in range(0, len(records), a.batch_size):
        chunk = records[i:i + a.batch_size]
        sock.send_multipart([topic(a.level), encode_batch(chunk, time.time() * 1000, publisher_id, sequence)])
        sequence += len(chunk)
    sock.close()
    ctx.term()
    print("sent %d %s records (%s) to %s" % (a.count, a.type, a.name, a.broker))
    return 0


if __name__ == "__main__":
    sys.exit(main())
