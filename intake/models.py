"""Imports every model so that migrations and the app see all tables."""

from .appointments.models import Appointment
from .intakes.models import Intake
from .mail.models import OutboxMessage
from .scheduling.models import TimeOff, WeeklyHours
from .therapists.models import Therapist

__all__ = ["Appointment", "Intake", "OutboxMessage", "Therapist", "TimeOff", "WeeklyHours"]
