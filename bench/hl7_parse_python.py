#!/usr/bin/env python3
"""Time Debian's python3-hl7 on the corpus that bench/bench_hl7.c writes.

usage: hl7_parse_python.py CORPUS_FILE [PASSES]

The corpus holds one message per line (segments ending in CR, an LF after
each message). Each pass parses every message with hl7.parse() and then reads
every value it split out (segments, fields, repetitions, components,
sub-components), so the work matches benchside's parse plus cursor walk. The
file is read and decoded once before timing. Prints one JSON object: best and
median pass, in MB (10^6 bytes of message text, CRs included, LFs between
messages not) and messages per second.

python3-hl7 is Debian's package (scripts/install-deps): run this with the
interpreter it is installed for, /usr/bin/python3.
"""
import json
import sys
import time

import hl7


def walk(node, seen):
    """Count the strings under node (python-hl7 containers are lists)."""
    for part in node:
        if isinstance(part, str):
            seen[0] += 1
            seen[1] += len(part)
        else:
            walk(part, seen)


def parse_all(messages):
    segments = 0
    seen = [0, 0]  # values, characters
    for text in messages:
        msg = hl7.parse(text)
        segments += len(msg)
        for seg in msg:
            walk(seg, seen)
    return segments, seen[0], seen[1]


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: hl7_parse_python.py CORPUS_FILE [PASSES]")
    passes = int(sys.argv[2]) if len(sys.argv) == 3 else 3
    if not 1 <= passes <= 1000:
        sys.exit("PASSES must be 1 to 1000")
    with open(sys.argv[1], "rb") as fh:
        data = fh.read()
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    nbytes = sum(len(m) for m in raw)
    messages = [m.decode("utf-8") for m in raw]

    first = parse_all(messages)  # warm-up, and the figures every pass repeats
    times = []
    for _ in range(passes):
        t0 = time.perf_counter()
        seen = parse_all(messages)
        times.append(time.perf_counter() - t0)
        if seen != first:
            sys.exit("hl7_parse_python.py: passes disagree")
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
    print(json.dumps({
        "parser": "python3-hl7@%s" % hl7.__version__,
        "runtime": "python %d.%d.%d" % sys.version_info[:3],
        "passes": passes,
        "messages": len(messages),
        "message_bytes": nbytes,
        "segments": first[0],
        "values": first[1],
        "mb_per_s": round(nbytes / 1e6 / times[0], 1),
        "messages_per_s": round(len(messages) / times[0]),
        "median_mb_per_s": round(nbytes / 1e6 / median, 1),
        "median_messages_per_s": round(len(messages) / median),
    }))


if __name__ == "__main__":
    main()
