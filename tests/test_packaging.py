import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_for_installation():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "prefrl").rglob("__init__.py")}
    assert found <= listed, f"not installed by `pip install .`: {sorted(found - listed)}"
    assert config["package-dir"]["prefrl_envs"] == "envs"
