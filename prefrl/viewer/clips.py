"""Clips drawn in the viewer's background thread, so neither the agent nor the page waits on them.

Clips asked for by the page come first; between requests the worker draws the clips of pending
queries ahead of time. Only queried segments are ever drawn, from the state saved with them.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

from prefrl.preferences import PreferenceStore
from prefrl.render.clips import SegmentClipRenderer, clip_name

log = logging.getLogger(__name__)
LOOKAHEAD_QUERIES = 10
"""Pending queries whose clips are drawn ahead of time."""


class ClipWorker:
    def __init__(self, env_id: str, store_path: Path, clip_dir: Path) -> None:
        self.env_id = env_id
        self.store_path = Path(store_path)
        self.clip_dir = Path(clip_dir)
        self.clip_dir.mkdir(parents=True, exist_ok=True)
        self._requests: queue.Queue[int] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prefrl-clips", daemon=True)
        self._thread.start()

    def request(self, segment_ids) -> None:
        for sid in segment_ids:
            if not (self.clip_dir / clip_name(sid)).is_file():
                self._requests.put(int(sid))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        # The renderer (and its GL context) lives in this thread only.
        renderer = SegmentClipRenderer(self.env_id)
        store = PreferenceStore(self.store_path)
        try:
            while not self._stop.is_set():
                try:
                    wanted = [self._requests.get(timeout=0.5)]
                except queue.Empty:
                    wanted = [sid for q in store.next_queries("", limit=LOOKAHEAD_QUERIES)
                              for sid in (q.left_id, q.right_id)]
                missing = [sid for sid in dict.fromkeys(wanted)
                           if not (self.clip_dir / clip_name(sid)).is_file()]
                if not missing:
                    continue
                for segment in store.segments(missing).values():
                    renderer.render(segment, self.clip_dir)
        except Exception:  # keep the viewer serving; the page shows clips as not ready
            log.exception("clip rendering stopped")
        finally:
            store.close()
            renderer.close()
