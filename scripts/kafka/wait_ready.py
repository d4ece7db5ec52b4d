"""Wait until a Kafka broker answers a metadata request (used by start.sh).

usage: python wait_ready.py BOOTSTRAP TIMEOUT_SECONDS [PID]

Exit 0 when the cluster metadata lists at least one broker, 1 on timeout,
2 if PID (the broker JVM) died meanwhile, 3 if aiokafka is not importable.
Writes nothing to stdout.
"""

import asyncio
import logging
import os
import sys
import time

try:
    from aiokafka.admin import AIOKafkaAdminClient
except ImportError:  # start.sh falls back to a Java probe
    sys.exit(3)


def alive(pid):
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def probe(bootstrap):
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=3000, client_id="claimsim-wait-ready"
    )
    try:
        await asyncio.wait_for(admin.start(), 5)
        cluster = await asyncio.wait_for(admin.describe_cluster(), 5)
        return bool(cluster.get("brokers"))
    finally:
        try:
            await admin.close()
        except Exception:
            pass


async def main():
    bootstrap, timeout = sys.argv[1], float(sys.argv[2])
    pid = int(sys.argv[3]) if len(sys.argv) > 3 else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return 2
        try:
            if await probe(bootstrap):
                return 0
        except Exception:
            pass
        await asyncio.sleep(0.5)
    return 1


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)  # aiokafka logs every refused connection
    sys.exit(asyncio.run(main()))
