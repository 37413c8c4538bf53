"""Token-bucket throttling at the documented Microsoft Teams service limits.

graph-facts.md §5.2 (per app per tenant; the simulator has one tenant):
  GET 1:1/group chat message(s), hostedContents  20 rps per app, and 1 rps per chat
  chats/getAllMessages (and its /delta)           200 rps per app
  List chats / Get chat                           5 rps per user
  Other GET API calls (users, members, shares)    30 rps per app

Mode "doc": each bucket holds one second of its rate (a burst of `rate`).
Mode "strict": each bucket holds a single request (no burst at all), the
harshest honest reading of a requests-per-second limit.

A refused request does not take a token, so a client that waits the
Retry-After it was given is let through (barring other traffic).
"""

import threading
import time

RATES = {
    "chat_messages": 20.0,
    "chat_messages_per_chat": 1.0,
    "all_messages": 200.0,
    "chats_per_user": 5.0,
    "other": 30.0,
}


class Throttler:
    def __init__(self, mode="doc", clock=time.monotonic):
        self.mode = mode
        self.clock = clock
        self.lock = threading.Lock()
        self.buckets = {}          # key -> when it next holds a whole token

    def set_mode(self, mode):
        with self.lock:
            self.mode = mode
            self.buckets.clear()

    def check(self, keys, now=None):
        """keys: [(bucket key, rate)]; now: when the request arrived (default:
        the clock). Returns 0.0 if admitted, else seconds to wait.

        Each bucket is kept as its theoretical arrival time (the moment it
        next holds a whole token), so a request is judged by when it
        arrived even if a later one was judged first: the server's own
        delays between arrival and judgement are not the client's doing."""
        if self.mode == "off" or not keys:
            return 0.0
        strict = self.mode == "strict"
        if now is None:
            now = self.clock()
        wait = 0.0
        with self.lock:
            state = []
            for key, rate in keys:
                burst = 0.0 if strict else (max(1.0, rate) - 1.0) / rate
                tat = self.buckets.get(key, now)
                wait = max(wait, tat - burst - now)
                state.append((key, max(tat, now) + 1.0 / rate))
            if wait > 1e-9:
                return wait
            for key, tat in state:
                self.buckets[key] = tat
            if len(self.buckets) > 100000:      # forget idle buckets (they are full anyway)
                self.buckets = {k: v for k, v in self.buckets.items() if v > now - 10}
        return 0.0
