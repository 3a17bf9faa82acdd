#!/usr/bin/env python3
"""Publish Zibrato records in the original 2013 text format, one record per message:

    level|mtype|name|value[|unix_ts|source]

mtype is Counter, Gauge or Timer. A legacy Timer value is in SECONDS (receivers
convert to milliseconds). Current receivers accept these messages unchanged, so
an app written against the 2013 Python client keeps working. New code should
prefer publish_native.py (batched, tags, sets, sample rates).

    python3 publish_legacy.py --broker tcp://127.0.0.1:5550 --type Timer --name db.query --value 0.0125 --count 10

Needs pyzmq (Debian/Ubuntu: apt install python3-zmq; else pip install pyzmq).
"""
import argparse
import sys
import time

LEVELS = ["debug", "info", "warn", "error", "crit"]
MTYPES = ["Counter", "Gauge", "Timer"]


def format_legacy(level, mtype, name, value, unix_ts=None, source=None):
    """The 2013 wire text. The timestamp may be empty when a source follows."""
    if "|" in name or (source and "|" in source):
        raise ValueError("'|' may not appear in a name or source")
    # repr() is the shortest text that reads back as the same double; 3.0 goes out as 3.
    num = str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
    text = "%s|%s|%s|%s" % (level, mtype, name, num)
    if unix_ts is not None or source is not None:
        text += "|" + ("" if unix_ts is None else "%d" % unix_ts)
    if source is not None:
        text += "|" + source
    return text.encode("utf-8")


def wait_for_subscriber(sock, level, timeout_ms):
    """An XPUB socket hears the broker's subscriptions (b"\\x01" + prefix). ZeroMQ drops
    messages no subscriber wants, so wait until someone wants this level."""
    want = level.encode("ascii") + b"|"
    deadline = time.monotonic() + timeout_ms / 1000.0
    while time.monotonic() < deadline:
        if sock.poll(50):
            msg = sock.recv()
            if msg[:1] == b"\x01" and want.startswith(msg[1:]):
                return True
    return False


def main(argv=None):
    p = argparse.ArgumentParser(description="Publish legacy (2013) Zibrato text messages over ZeroMQ.")
    p.add_argument("--broker", default="tcp://127.0.0.1:5550", help="broker publisher endpoint (default %(default)s)")
    p.add_argument("--level", default="info", choices=LEVELS)
    p.add_argument("--type", default="Counter", choices=MTYPES, help="Timer values are in seconds")
    p.add_argument("--name", default="python.legacy.example")
    p.add_argument("--value", default="1", help="a value, or comma-separated values used in turn")
    p.add_argument("--count", type=int, default=1, help="messages to send (default %(default)s)")
    p.add_argument("--source", default=None)
    p.add_argument("--timestamp", action="store_true", help="add the current unix time to each message")
    p.add_argument("--wait-ms", type=int, default=5000, help="how long to wait for a subscriber (default %(default)s)")
    a = p.parse_args(argv)

    try:
        import zmq
    except ImportError:
        sys.stderr.write("publish_legacy.py: needs pyzmq to send (Debian/Ubuntu: apt install python3-zmq; else pip install pyzmq)\n")
        return 2

    values = [float(v) for v in a.value.split(",")]
    ctx = zmq.Context()
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.LINGER, 5000)  # let queued messages leave before close
    sock.connect(a.broker)
    if not wait_for_subscriber(sock, a.level, a.wait_ms):
        print("warning: no subscriber for level %s after %d ms; ZeroMQ will drop these messages" % (a.level, a.wait_ms), file=sys.stderr)
    for i in range(a.count):
        ts = int(time.time()) if a.timestamp else None
        sock.send(format_legacy(a.level, a.type, a.name, values[i % len(values)], ts, a.source))
    sock.close()
    ctx.term()
    print("sent %d legacy %s messages (%s) to %s" % (a.count, a.type, a.name, a.broker))
    return 0


if __name__ == "__main__":
    sys.exit(main())
