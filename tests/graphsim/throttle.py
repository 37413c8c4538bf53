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
        self.buckets = {}          # key -> [tokens, last refill time]

    def set_mode(self, mode):
        with self.lock:
            self.mode = mode
            self.buckets.clear()

    def check(self, keys):
        """keys: [(bucket key, rate)]. Returns 0.0 if admitted, else seconds to wait."""
        if self.mode == "off" or not keys:
            return 0.0
        strict = self.mode == "strict"
        now = self.clock()
        wait = 0.0
        with self.lock:
            state = []
            for key, rate in keys:
                cap = 1.0 if strict else max(1.0, rate)
                b = self.buckets.get(key)
                if b is None:
                    b = self.buckets[key] = [cap, now]
                else:
                    b[0] = min(cap, b[0] + (now - b[1]) * rate)
                    b[1] = now
                if b[0] < 1.0:
                    wait = max(wait, (1.0 - b[0]) / rate)
                state.append(b)
            if wait > 0.0:
                return wait
            for b in state:
                b[0] -= 1.0
            if len(self.buckets) > 100000:      # forget idle buckets (they are full anyway)
                self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 10}
        return 0.0
