"""Serving the viewer: loopback by default; any other address needs an access token."""

from __future__ import annotations

import ipaddress
import json
import secrets
from pathlib import Path

from prefrl.config import ConfigError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_run_dir(run_dir: Path) -> dict:
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file() or not (run_dir / "preferences.sqlite").is_file():
        raise ConfigError(f"{run_dir} has no config.json and preferences.sqlite; "
                          f"pass a run folder written by `prefrl train`")
    return json.loads((run_dir / "config.json").read_text())


def serve(run_dir: Path, host: str = "127.0.0.1", port: int = 8000, videos_dir: Path = Path("videos"),
          token: str | None = None) -> None:
    """Run the viewer until interrupted. Clips go to `videos_dir/<run name>/`."""
    from prefrl.viewer.app import create_app

    run_dir = Path(run_dir).resolve()
    check_run_dir(run_dir)
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be within 1-65535, got {port}")
    if not is_loopback(host) and not token:
        token = secrets.token_urlsafe(16)
    app = create_app(run_dir, Path(videos_dir) / run_dir.name, token=token)
    link = f"http://{host if ':' not in host else f'[{host}]'}:{port}/" + (f"?token={token}" if token else "")
    print(f"prefrl viewer for {run_dir.name}: open {link}", flush=True)
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port") from None
