"""A fast counting SMTP sink (PIPELINING) for the delivery benchmarks, with optional faults.

    python bench/sink.py [--port 2525] [--refuse-every N] [--tempfail 3] [--permfail 50] [--drop-every N]

Prints the messages and recipients it accepted every second. The server itself is
poplist.testing.counting_sink (the fault tests use the same one).
"""

from __future__ import annotations

import argparse
import time

from poplist.testing.counting_sink import Faults, fraction, run_counting_sink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--refuse-every", type=int, default=0, help="421 at the greeting of every Nth connection")
    parser.add_argument("--tempfail", type=int, default=0, help="451 to 1/N of recipients")
    parser.add_argument("--permfail", type=int, default=0, help="550 to 1/N of recipients")
    parser.add_argument("--drop-every", type=int, default=0, help="drop every Nth connection in the middle of DATA")
    args = parser.parse_args()

    def rcpt(address: str) -> bytes | None:
        if args.permfail and fraction(address, args.permfail):
            return b"550 5.1.1 no such user"
        if args.tempfail and fraction(address + "t", args.tempfail):
            return b"451 4.3.0 try again later"
        return None

    faults = Faults(refuse_every=args.refuse_every, rcpt=rcpt, drop_every=args.drop_every)
    with run_counting_sink(port=args.port, faults=faults) as sink:
        print(f"listening on {sink.host}:{sink.port}", flush=True)
        try:
            while True:
                time.sleep(1)
                print(f"transactions {sink.transactions}  recipients {sink.delivered}", flush=True)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
