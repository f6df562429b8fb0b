"""``nbws.Classroom``: interactive teaching from one notebook (see :mod:`.room`)."""

from __future__ import annotations

from .room import Classroom, Poll, Question

__all__ = ["Classroom", "Poll", "Question"]
