"""Teachers: who answers the comparisons."""

from prefrl.teachers.base import Teacher
from prefrl.teachers.human import HumanTeacher
from prefrl.teachers.oracle import SyntheticOracle


def make_teacher(config) -> Teacher:
    """The teacher a `TrainConfig` names."""
    if config.teacher == "oracle":
        return SyntheticOracle()
    if config.teacher == "human":
        return HumanTeacher(max_pending=config.max_pending)
    raise ValueError(f"unknown teacher {config.teacher!r}; choose 'oracle' or 'human'")


__all__ = ["HumanTeacher", "SyntheticOracle", "Teacher", "make_teacher"]
