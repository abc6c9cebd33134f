"""Treatment services: fixed sites with places and a FIFO waiting list."""

from __future__ import annotations

from collections import deque


class TreatmentService:
    """One treatment site: `places` places, clients and a first-in-first-out waiting list."""

    def __init__(self, cell_index: int, x: int, y: int, places: int):
        self.cell_index = cell_index
        self.x, self.y = x, y
        self.places = places
        self.clients: set[int] = set()
        self.waiting: deque[int] = deque()

    @property
    def free_places(self) -> int:
        return max(0, self.places - len(self.clients))

    def join(self, user: int) -> None:
        self.waiting.append(user)

    def admit(self) -> list[int]:
        """Admit from the head of the waiting list while places are free."""
        admitted = []
        while self.waiting and self.free_places > 0:
            user = self.waiting.popleft()
            self.clients.add(user)
            admitted.append(user)
        return admitted

    def leave(self, user: int) -> None:
        self.clients.discard(user)

    def drop_from_list(self, user: int) -> None:
        # A membership test, not remove() in a try: most callers are not on the list, and
        # raising and catching the ValueError costs more than the scan.
        if user in self.waiting:
            self.waiting.remove(user)
