"""The local web viewer for human comparisons (Flask).

It talks to the rest of prefrl only through the run's store and clip files: it reads pending
queries, draws their clips in the background, and commits each answer to the store before the
page is told the answer was taken.
"""

from __future__ import annotations

import hmac
import json
import re
from pathlib import Path

from flask import Flask, abort, g, jsonify, request, send_from_directory

from prefrl.preferences import Answer, ConflictingAnswer, PreferenceStore
from prefrl.render.clips import clip_name
from prefrl.viewer.clips import ClipWorker
from prefrl.viewer.stats import annotation_stats

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 4096
ANNOTATOR_PATTERN = re.compile(r"^[\w .@'-]{1,64}$")
CLIP_PATTERN = re.compile(r"^seg-\d+\.webm$")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _annotator(value) -> str:
    if not isinstance(value, str) or not ANNOTATOR_PATTERN.match(value.strip()):
        raise ApiError(400, "annotator must be a name of 1-64 letters, digits, spaces or . @ ' -")
    return value.strip()


def _query_id(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ApiError(400, "query_id must be a positive integer")
    return value


def create_app(run_dir: Path, clip_dir: Path, token: str | None = None, render: bool = True) -> Flask:
    """The viewer for one run. With `token`, every request must carry it (`?token=` or the
    `X-Prefrl-Token` header): required when listening beyond loopback."""
    run_dir, clip_dir = Path(run_dir), Path(clip_dir)
    config = json.loads((run_dir / "config.json").read_text())
    store_path = run_dir / "preferences.sqlite"
    clips = ClipWorker(config["env"], store_path, clip_dir) if render else None
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["prefrl_clips"] = clips

    class _Store:
        """One SQLite connection per request (connections are not shared between threads)."""

        def __getattr__(self, name):
            if "store" not in g:
                g.store = PreferenceStore(store_path)
            return getattr(g.store, name)

    store = _Store()

    @app.teardown_appcontext
    def close_store(_exc):
        opened = g.pop("store", None)
        if opened is not None:
            opened.close()

    def query_json(query) -> dict:
        names = [clip_name(query.left_id), clip_name(query.right_id)]
        if clips is not None:
            clips.request([query.left_id, query.right_id])
        ready = all((clip_dir / n).is_file() for n in names)
        return {"id": query.id, "left": f"clips/{names[0]}", "right": f"clips/{names[1]}", "ready": ready}

    def progress() -> dict:
        return {"answered": store.count(), "pending": store.pending_count(), "budget": config["labels"]}

    @app.before_request
    def check_token():
        if token is None:
            return None
        given = request.args.get("token") or request.headers.get("X-Prefrl-Token") or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            return jsonify(error="missing or wrong access token; use the link the viewer printed"), 401
        return None

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return jsonify(error=exc.message), exc.status

    @app.errorhandler(413)
    def too_large(_):
        return jsonify(error=f"request body over {MAX_BODY_BYTES} bytes"), 413

    @app.errorhandler(404)
    def not_found(_):
        return jsonify(error="not found"), 404

    @app.errorhandler(405)
    def wrong_method(_):
        return jsonify(error="method not allowed"), 405

    @app.get("/")
    def index():
        return send_from_directory(STATIC, "index.html")

    @app.get("/static/<name>")
    def static_file(name: str):
        return send_from_directory(STATIC, name)

    @app.get("/clips/<name>")
    def clip(name: str):
        if not CLIP_PATTERN.match(name):
            abort(404)
        return send_from_directory(clip_dir, name, mimetype="video/webm", max_age=3600)

    @app.get("/api/next")
    def next_queries():
        annotator = _annotator(request.args.get("annotator", ""))
        queries = store.next_queries(annotator, limit=2)
        return jsonify(queries=[query_json(q) for q in queries], progress=progress(), env=config["env"])

    @app.post("/api/answer")
    def answer():
        body = _json_body()
        query_id = _query_id(body.get("query_id"))
        annotator = _annotator(body.get("annotator"))
        choice = body.get("choice")
        if choice not in [a.value for a in Answer]:
            raise ApiError(400, "choice must be one of left, right, equal, incomparable")
        try:
            comparison_id, new = store.answer_query(query_id, Answer(choice), annotator)
        except KeyError:
            raise ApiError(404, f"no query {query_id} in this run") from None
        except ConflictingAnswer as exc:
            raise ApiError(409, str(exc)) from None
        # Committed: only now is the page told the answer was taken.
        return jsonify(ok=True, comparison_id=comparison_id, new=new, progress=progress())

    @app.post("/api/undo")
    def undo():
        annotator = _annotator(_json_body().get("annotator"))
        query_id = store.undo_last(annotator)
        if query_id is None:
            raise ApiError(404, f"{annotator} has no answer to undo")
        return jsonify(ok=True, query_id=query_id, progress=progress())

    @app.get("/api/stats")
    def stats():
        return jsonify(annotation_stats(store) | {"progress": progress()})

    @app.get("/stats")
    def stats_page():
        return send_from_directory(STATIC, "stats.html")

    return app
