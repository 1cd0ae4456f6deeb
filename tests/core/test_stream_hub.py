"""The process's registry of event streams: caps, wake-ups from other threads, shutdown."""

import asyncio
import threading
import uuid

import pytest

from app.core.errors import StreamsFull, TooManyStreams
from app.core.stream_hub import StreamHub
from tests.event_loop import run_async


def test_caps_per_user_and_per_process() -> None:
    async def run() -> None:
        hub = StreamHub(max_per_user=2, max_streams=3)
        alice, bob = uuid.uuid4(), uuid.uuid4()
        first, _second = hub.open(alice), hub.open(alice)
        with pytest.raises(TooManyStreams):
            hub.open(alice)
        hub.open(bob)
        with pytest.raises(StreamsFull):
            hub.open(bob)
        hub.close(first)
        hub.close(first)  # twice changes nothing
        assert hub.count == 2
        hub.open(alice)

    run_async(run)


def test_a_notification_from_another_thread_wakes_only_that_users_streams() -> None:
    async def run() -> None:
        hub = StreamHub(max_per_user=5, max_streams=10)
        alice, bob = uuid.uuid4(), uuid.uuid4()
        mine, theirs = hub.open(alice), hub.open(bob)
        thread = threading.Thread(target=hub.notify_payload, args=(str(alice),))
        thread.start()
        await asyncio.wait_for(mine.wake.wait(), 1)
        thread.join()
        assert not theirs.wake.is_set()
        hub.notify_payload("not a user id")  # ignored
        hub.notify(bob, recheck=True)
        await asyncio.wait_for(theirs.wake.wait(), 1)
        assert theirs.recheck

    run_async(run)


def test_close_all_wakes_and_closes_every_stream() -> None:
    async def run() -> None:
        hub = StreamHub(max_per_user=5, max_streams=10)
        streams = [hub.open(uuid.uuid4()) for _ in range(3)]
        hub.close_all()
        for stream in streams:
            await asyncio.wait_for(stream.wake.wait(), 1)
            assert stream.closed

    run_async(run)
