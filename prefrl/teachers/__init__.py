"""Teachers: who answers the comparisons."""

from prefrl.teachers.base import Teacher
from prefrl.teachers.human import HumanTeacher
from prefrl.teachers.oracle import SyntheticOracle
from prefrl.teachers.scripted import ScriptedAnnotator


def make_teacher(config) -> Teacher:
    """The teacher a `TrainConfig` names."""
    if config.teacher == "oracle":
        return SyntheticOracle()
    if config.teacher == "human":
        return HumanTeacher(max_pending=config.max_pending)
    if config.teacher == "scripted":
        return ScriptedAnnotator(max_pending=config.max_pending)
    raise ValueError(f"unknown teacher {config.teacher!r}; choose 'oracle', 'human' or 'scripted'")


__all__ = ["HumanTeacher", "ScriptedAnnotator", "SyntheticOracle", "Teacher", "make_teacher"]
