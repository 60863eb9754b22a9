"""Query selection and label schedules."""

from prefrl.query.schedule import LabelSchedule
from prefrl.query.selectors import DisagreementSelector, RandomSelector, make_selector

__all__ = ["DisagreementSelector", "LabelSchedule", "RandomSelector", "make_selector"]
