"""Imports every model so that migrations and the app see all tables."""

from .appointments.models import Appointment, Proposal
from .audit import AuditEvent
from .calendars.models import BusyInterval, ExternalCalendar
from .couples.models import Partner
from .health import WorkerJob
from .intakes.models import Intake
from .mail.models import OutboxMessage
from .scheduling.models import FreedTime, TimeOff, WeeklyHours
from .staff.models import StaffSession, User
from .therapists.models import Therapist
from .waitlist.models import WaitlistEntry, WaitlistOffer

__all__ = [
    "Appointment", "AuditEvent", "BusyInterval", "ExternalCalendar", "FreedTime", "Intake",
    "OutboxMessage", "Partner", "Proposal", "StaffSession", "Therapist", "TimeOff", "User",
    "WaitlistEntry", "WaitlistOffer", "WeeklyHours", "WorkerJob",
]
