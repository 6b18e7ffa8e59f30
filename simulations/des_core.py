"""The dispatching core of the discrete-event simulations: queues and servers.

Work waits in *queues* (one per kind of qualification, `des_site`);
*servers* (a person's shift, a door) each belong to a *profile*, the set
of queues they may serve. The core keeps, per queue, a heap of waiting
tasks by key (lowest first) and, per profile, the servers that are free
now. It is shared by the site simulation (`simulations.des`) and the
single-queue check (`simulations.queueing`), so the Erlang-C test
exercises the very code that dispatches brokers and doors.

Time is SimPy's: each task's end is one `Timeout` whose callback the
subclass handles, and each opening or closing of a server's window is
one more. Nothing else is scheduled, which keeps a replication of a
2,000-shipment day to some ten thousand events.

A server that is busy when its window closes finishes the task in hand
(a clerk finishes the file); the minutes past the window are counted as
overrun. A server whose window opens while busy takes no new work until
the task ends.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import simpy


class DispatchCore:
    """Queues, servers and the dispatch rule, on a SimPy environment.

    Parameters
    ----------
    queue_servers
        Per queue, the profiles that may serve it, in the order a task
        is offered to them (the first free server of the first profile
        with one takes it).
    profile_queues
        Per profile, the queues it may serve; a free server takes the
        lowest key among their heads.
    server_profile
        Per server, its profile.
    queue_group
        Per queue, the group its waiting tasks are counted in.
    num_groups
        How many groups.
    """

    def __init__(
        self,
        queue_servers: Sequence[Sequence[int]],
        profile_queues: Sequence[Sequence[int]],
        server_profile: Sequence[int],
        queue_group: Sequence[int],
        num_groups: int,
    ) -> None:
        self.env = simpy.Environment()
        self.queue_servers = [list(p) for p in queue_servers]
        self.profile_queues = [list(q) for q in profile_queues]
        self.server_profile = list(server_profile)
        self.queue_group = list(queue_group)
        self.heaps: list[list[tuple[float, int]]] = [[] for _ in queue_servers]
        self.free: list[dict[int, None]] = [{} for _ in profile_queues]
        num_servers = len(server_profile)
        self.available = [False] * num_servers
        self.busy = [False] * num_servers
        self.busy_min = [0.0] * num_servers
        self.overrun_min = [0.0] * num_servers
        self.window_end = [0.0] * num_servers
        self.waiting = [0] * num_groups
        # Per task: its queue and when it became ready.
        self.task_queue: list[int] = []
        self.task_ready: list[float] = []
        self.task_start: list[float] = []
        self.task_server: list[int] = []
        # Planned work per server, by planned start (plan dispatch only).
        self.own: dict[int, list[tuple[float, int]]] = {}

    # ------------------------------------------------------------ servers

    def schedule_windows(
        self, server: int, windows: Sequence[tuple[float, float]]
    ) -> None:
        """Open and close a server at its windows (clipped at time 0)."""
        env = self.env
        for start, end in windows:
            if end <= 0:
                continue
            opening = env.timeout(max(0.0, start - env.now), (server, end))
            opening.callbacks.append(self._on_open)
            closing = env.timeout(end - env.now, server)
            closing.callbacks.append(self._on_close)

    def _on_open(self, event: simpy.Event) -> None:
        server, end = event._value
        self.available[server] = True
        self.window_end[server] = end
        if not self.busy[server]:
            self.server_free(server)

    def _on_close(self, event: simpy.Event) -> None:
        server = event._value
        self.available[server] = False
        self.free[self.server_profile[server]].pop(server, None)

    def server_free(self, server: int) -> None:
        """A server can take work: the best waiting task, or it waits."""
        task = self.next_task(server)
        if task < 0:
            self.free[self.server_profile[server]][server] = None
        else:
            self.start(task, server)

    def next_task(self, server: int) -> int:
        """Pop the server's next task: its own planned work first, then the
        lowest-keyed head of the queues it serves; -1 if none."""
        own = self.own.get(server)
        if own:
            task = heapq.heappop(own)[1]
            self.waiting[self.queue_group[self.task_queue[task]]] -= 1
            return task
        heaps = self.heaps
        best_queue = -1
        best_head: tuple[float, int] | None = None
        for q in self.profile_queues[self.server_profile[server]]:
            heap = heaps[q]
            if heap and (best_head is None or heap[0] < best_head):
                best_head = heap[0]
                best_queue = q
        if best_head is None:
            return -1
        heapq.heappop(heaps[best_queue])
        self.waiting[self.queue_group[best_queue]] -= 1
        return best_head[1]

    def occupy(self, task: int, server: int, duration_min: float) -> None:
        """Keep a server busy with a task for `duration_min`; its end calls
        `on_end` with ``(task, server)``."""
        now = self.env.now
        self.busy[server] = True
        self.task_start[task] = now
        self.task_server[task] = server
        # Busy minutes count inside the window; the rest is overrun.
        overrun = max(0.0, now + duration_min - max(self.window_end[server], now))
        self.busy_min[server] += duration_min - overrun
        self.overrun_min[server] += overrun
        end = self.env.timeout(duration_min, (task, server))
        end.callbacks.append(self.on_end)

    def release(self, server: int) -> None:
        """A server's task ended: it takes new work if its window is open."""
        self.busy[server] = False
        if self.available[server]:
            self.server_free(server)

    # -------------------------------------------------------------- tasks

    def new_task(self, queue: int, ready: float) -> int:
        """Register a task of a queue, ready at `ready`; its id."""
        self.task_queue.append(queue)
        self.task_ready.append(ready)
        self.task_start.append(-1.0)
        self.task_server.append(-1)
        return len(self.task_queue) - 1

    def submit(self, task: int, key: float, planned_server: int = -1) -> None:
        """A task is ready: to a free server, or to wait by key.

        With `planned_server` (a plan assigns the task), only that server
        takes it, in the order of `key` (the planned start) among its
        planned tasks.
        """
        queue = self.task_queue[task]
        if planned_server >= 0:
            idle = self.free[self.server_profile[planned_server]]
            if planned_server in idle:
                del idle[planned_server]
                self.start(task, planned_server)
                return
            heapq.heappush(self.own.setdefault(planned_server, []), (key, task))
            self.waiting[self.queue_group[queue]] += 1
            return
        free = self.free
        for profile in self.queue_servers[queue]:
            idle = free[profile]
            if idle:
                server = next(iter(idle))
                del idle[server]
                self.start(task, server)
                return
        heapq.heappush(self.heaps[queue], (key, task))
        self.waiting[self.queue_group[queue]] += 1

    def drain_waiting(self) -> list[int]:
        """Take every waiting task out of the queues (for a re-plan)."""
        tasks = [task for heap in self.heaps for _, task in heap]
        tasks += [task for heap in self.own.values() for _, task in heap]
        for heap in self.heaps:
            heap.clear()
        self.own.clear()
        self.waiting = [0] * len(self.waiting)
        return sorted(tasks)

    def start(self, task: int, server: int) -> None:
        """Start a task on a server (subclasses call `occupy`)."""
        raise NotImplementedError

    def on_end(self, event: simpy.Event) -> None:
        """A task ended; the event's value is ``(task, server)``."""
        raise NotImplementedError
