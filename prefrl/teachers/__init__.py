"""Teachers: who answers the comparisons."""

from prefrl.teachers.base import Teacher
from prefrl.teachers.oracle import SyntheticOracle

__all__ = ["SyntheticOracle", "Teacher"]
