"""A tiny SMTP sink on loopback for the CI scripts: it speaks enough of RFC 5321 (220, EHLO/HELO,
MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT) for Postfix's smtp client and
Python's smtplib to hand it messages, accepts every one, and writes each to the output directory
as NNNN.eml with its envelope beside it as NNNN.json ({"from": ..., "to": [...]}).

    python3 .ci/smtp_sink.py --port 12525 --out /tmp/sink

The checks read what it wrote back with `received(directory)`.
"""

import argparse
import asyncio
import email
import email.policy
import glob
import json
import os
import re

COUNT = 0


def received(directory):
    """The messages the sink wrote to `directory`, in order: (envelope, parsed message)."""
    out = []
    for path in sorted(glob.glob(os.path.join(directory, "*.eml"))):
        with open(path[: -len(".eml")] + ".json") as f:
            envelope = json.load(f)
        with open(path, "rb") as f:
            out.append((envelope, email.message_from_bytes(f.read(), policy=email.policy.default)))
    return out


def address(arg):
    """The address between angle brackets of a MAIL FROM or RCPT TO argument."""
    found = re.search(r"<([^>]*)>", arg)
    return found.group(1) if found else arg.split(":", 1)[-1].strip()


async def session(reader, writer, out):
    global COUNT

    def say(line):
        writer.write(line.encode() + b"\r\n")

    say("220 sink.localdomain ESMTP CI sink")
    sender, recipients = None, []
    try:
        while True:
            raw = await asyncio.wait_for(reader.readline(), timeout=120)
            if not raw:
                break
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                say("250-sink.localdomain")
                say("250-8BITMIME")
                say("250-SMTPUTF8")
                say("250 SIZE 52428800")
            elif verb == "HELO":
                say("250 sink.localdomain")
            elif verb == "MAIL":
                sender, recipients = address(line), []
                say("250 2.1.0 ok")
            elif verb == "RCPT":
                recipients.append(address(line))
                say("250 2.1.5 ok")
            elif verb == "DATA":
                if sender is None or not recipients:
                    say("503 5.5.1 MAIL and RCPT first")
                    continue
                say("354 go ahead")
                await writer.drain()
                data = []
                while True:
                    chunk = await asyncio.wait_for(reader.readline(), timeout=120)
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                COUNT += 1
                name = os.path.join(out, f"{COUNT:04d}")
                with open(name + ".eml.part", "wb") as f:
                    f.write(b"".join(data))
                with open(name + ".json", "w") as f:
                    json.dump({"from": sender, "to": recipients}, f)
                # Renamed last: a reader never sees half a message.
                os.rename(name + ".eml.part", name + ".eml")
                sender, recipients = None, []
                say("250 2.0.0 queued")
            elif verb == "RSET":
                sender, recipients = None, []
                say("250 2.0.0 ok")
            elif verb == "NOOP":
                say("250 2.0.0 ok")
            elif verb == "QUIT":
                say("221 2.0.0 bye")
                await writer.drain()
                break
            else:
                say("502 5.5.2 not implemented")
            await writer.drain()
    except (asyncio.TimeoutError, ConnectionError):
        pass
    writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    server = await asyncio.start_server(
        lambda r, w: session(r, w, args.out), "127.0.0.1", args.port
    )
    print(f"sink listening on 127.0.0.1:{args.port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
