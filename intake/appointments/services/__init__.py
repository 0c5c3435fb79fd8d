"""The appointment lifecycle, one module a part: booking, the practice's decisions, the
client's own changes and reminders. The steps they share (ending an appointment, telling both
parties) and every message they show are stated once, in `lifecycle`."""

from .booking import (
    Booked,
    active_ahead,
    book,
    current_booking,
    meeting_format,
    meeting_formats,
)
from .changes import cancel_by_client, cancel_or_ask_desk, inside_window, request_change, reschedule
from .decisions import accept_proposal, cancel, confirm, decline, expire_holds, propose
from .lifecycle import (
    CLIENT,
    PARTNER,
    AlreadyBooked,
    BookingError,
    NoRoom,
    NotAFit,
    StateError,
    TimeNotOpen,
    TimeTaken,
    TooManyBookings,
    client_summary,
    has_room,
    invite_data,
    join_line,
    join_link,
    location_of,
)
from .reminders import send_join_reminders, send_reminders

__all__ = [
    "CLIENT", "PARTNER", "AlreadyBooked", "Booked", "BookingError", "NoRoom", "NotAFit",
    "StateError", "TimeNotOpen", "TimeTaken", "TooManyBookings", "accept_proposal",
    "active_ahead", "book", "client_summary", "join_line",
    "cancel", "cancel_by_client", "cancel_or_ask_desk", "confirm", "current_booking",
    "decline", "expire_holds", "has_room", "inside_window", "invite_data", "join_link",
    "location_of", "meeting_format", "meeting_formats", "propose", "request_change",
    "reschedule", "send_join_reminders", "send_reminders",
]
