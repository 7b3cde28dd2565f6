-- tickets 002: a make-up workday (调休) opens with the hours of the weekday
-- it stands in for ("as" in the calendar JSON of sla_clock.h). NULL: Monday.
ALTER TABLE sla_calendar_days ADD COLUMN as_weekday text
  CHECK (as_weekday IN ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'));
