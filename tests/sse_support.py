"""A Server-Sent Events client for tests: reads a stream on a thread of its own and parses
it by the WHATWG rules we rely on (`event`, `data`, `id`, comments), into a queue."""

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2


@dataclass
class Event:
    event: str
    data: str
    id: str | None


@dataclass
class EventStream:
    """GET `path` as a stream; `events` fills as events arrive, `comments` counts comments."""

    base_url: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    content_type: str | None = None
    body: str = ""
    comments: int = 0
    closed: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)
    events: "queue.Queue[Event]" = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        self._client = httpx2.Client(base_url=self.base_url, timeout=httpx2.Timeout(5, read=None))
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.opened.wait(10), "the stream did not answer"

    def _run(self) -> None:
        try:
            with self._client.stream(
                "GET", self.path, headers=self.headers, params=self.params
            ) as response:
                self.status = response.status_code
                self.content_type = response.headers.get("content-type")
                if response.status_code != 200:
                    self.body = response.read().decode()
                    return
                self.opened.set()
                self._parse(response)
        except httpx2.HTTPError:
            pass
        finally:
            self._client.close()
            self.opened.set()
            self.closed.set()

    def _parse(self, response: Any) -> None:
        name, data, event_id = "message", [], None
        for line in response.iter_lines():
            if line == "":
                if data:
                    self.events.put(Event(name, "\n".join(data), event_id))
                name, data, event_id = "message", [], None
            elif line.startswith(":"):
                self.comments += 1
            else:
                key, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if key == "event":
                    name = value
                elif key == "data":
                    data.append(value)
                elif key == "id":
                    event_id = value

    def next(self, timeout: float = 5.0) -> Event:
        return self.events.get(timeout=timeout)

    def take(self, count: int, timeout: float = 5.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        return [self.next(max(0.01, deadline - time.monotonic())) for _ in range(count)]

    def close(self) -> None:
        self._client.close()
        self._thread.join(5)
