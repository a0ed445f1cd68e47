"""Local calendar dates of photos and moments.

Days, months and years are the photographer's wall clock (the ISO text's own fields, whatever
its offset), so a photo taken at 23:30 in Lisbon on 31 May belongs to May even though it is
June in UTC. Without the text the UTC time of the epoch seconds is used.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def local_datetime(iso_text: str | None, epoch_s: float | None) -> datetime | None:
    if iso_text:
        try:
            return datetime.fromisoformat(iso_text).replace(tzinfo=None)
        except ValueError:
            pass
    if epoch_s is None:
        return None
    return datetime.fromtimestamp(epoch_s, UTC).replace(tzinfo=None)


def local_date(iso_text: str | None, epoch_s: float | None) -> str | None:
    moment = local_datetime(iso_text, epoch_s)
    return moment.date().isoformat() if moment else None


def parse_day(value: str | date | datetime) -> str:
    """A user's date bound ("2023-05-01", a date or a datetime) as the ISO day string it means."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = value.strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise ValueError(f"not a date: {value!r} (expected YYYY-MM-DD)") from None


def month_span_label(start_day: str, end_day: str) -> str:
    """'May 2023', 'May–June 2023' or 'December 2023 – January 2024' for two ISO days."""
    y1, m1 = int(start_day[:4]), int(start_day[5:7])
    y2, m2 = int(end_day[:4]), int(end_day[5:7])
    if (y1, m1) == (y2, m2):
        return f"{MONTHS[m1 - 1]} {y1}"
    if y1 == y2:
        return f"{MONTHS[m1 - 1]}–{MONTHS[m2 - 1]} {y1}"
    return f"{MONTHS[m1 - 1]} {y1} – {MONTHS[m2 - 1]} {y2}"
