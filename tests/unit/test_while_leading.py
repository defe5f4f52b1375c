"""A worker on the bus polls system feeds only while it leads (cli/serving.py while_leading)."""

from __future__ import annotations

import asyncio

from plantwire.cli.serving import while_leading


def test_the_feed_runs_only_while_leading_and_stops_with_the_worker() -> None:
    leading = {"now": False}
    runs: list[str] = []

    async def feed(halt: asyncio.Event) -> None:
        runs.append("start")
        await halt.wait()
        runs.append("stop")

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(while_leading(feed, lambda: leading["now"], stop, every=0.01))
        await asyncio.sleep(0.05)
        assert runs == []  # not the leader: no polling
        leading["now"] = True
        await asyncio.sleep(0.05)
        assert runs == ["start"]
        leading["now"] = False  # leadership moved to another worker
        await asyncio.sleep(0.05)
        assert runs == ["start", "stop"]
        leading["now"] = True
        await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 1)
        assert runs == ["start", "stop", "start", "stop"]

    asyncio.run(scenario())
