"""Smoke test for a running broker (e.g. one started by start.sh).

usage: python scripts/kafka/smoke_test.py [BOOTSTRAP]   (default: $KAFKA_BOOTSTRAP_SERVERS
       or 127.0.0.1:9092)

Creates a 4-partition topic with the admin client, produces one message and
consumes it back with aiokafka, then deletes the topic. Exit 0 on success.
"""

import asyncio
import os
import sys
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic


async def main(bootstrap: str) -> None:
    topic = f"claimsim-smoke-{uuid.uuid4().hex[:8]}"
    payload = f"hello {uuid.uuid4()}".encode()

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
        for _ in range(50):  # metadata propagates asynchronously
            desc = await admin.describe_topics([topic])
            if desc and len(desc[0]["partitions"]) == 4:
                break
            await asyncio.sleep(0.1)
        nparts = len(desc[0]["partitions"])
        assert nparts == 4, desc
        print(f"created topic {topic} with {nparts} partitions")

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            md = await producer.send_and_wait(topic, payload, key=b"k", partition=2)
            print(f"produced to partition {md.partition} offset {md.offset}")
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"{topic}-group",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            msg = await asyncio.wait_for(consumer.getone(), 30)
            assert msg.value == payload, msg
            print(f"consumed {msg.value!r} from partition {msg.partition} offset {msg.offset}")
            await consumer.commit()
        finally:
            await consumer.stop()

        await admin.delete_topics([topic])
    finally:
        await admin.close()
    print("smoke test OK")


if __name__ == "__main__":
    bs = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    asyncio.run(main(bs))
