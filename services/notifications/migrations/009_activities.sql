-- notifications 009: community activities (社区活动) and their sign-ups.
-- registered is the people signed up (the sum of the registrations'
-- people), kept on the activity row: a sign-up locks that row (FOR UPDATE),
-- decides against capacity and adds its people in the same transaction, so
-- concurrent sign-ups queue on the row and never overbook; the CHECK says
-- the same once more. capacity NULL = unlimited.
CREATE TABLE activities (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id     uuid NOT NULL,
  title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description     text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
  place           text NOT NULL CHECK (length(place) BETWEEN 1 AND 200),
  starts_at       timestamptz NOT NULL,
  ends_at         timestamptz NOT NULL,
  capacity        int CHECK (capacity BETWEEN 1 AND 100000),
  registered      int NOT NULL DEFAULT 0,
  audience        text NOT NULL,
  announcement_id uuid,
  status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cancelled')),
  cancel_reason   text,
  cancelled_at    timestamptz,
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_at > starts_at),
  CHECK (registered >= 0 AND (capacity IS NULL OR registered <= capacity))
);
CREATE INDEX activities_property_starts ON activities (property_id, starts_at DESC, id);

-- One registration per unit and activity (a second sign-up answers the
-- first); unregistering deletes it and gives its people back.
CREATE TABLE activity_registrations (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  activity_id   uuid NOT NULL REFERENCES activities (id),
  property_id   uuid NOT NULL,
  unit_id       uuid NOT NULL,
  party_id      uuid NOT NULL,
  people        int NOT NULL CHECK (people BETWEEN 1 AND 10),
  registered_by text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  attended_at   timestamptz,
  UNIQUE (activity_id, unit_id)
);
CREATE INDEX activity_registrations_activity ON activity_registrations (activity_id, created_at, id);
CREATE INDEX activity_registrations_party ON activity_registrations (party_id);

-- A cancelled activity tells its registered parties: their rows are
-- notifications of source_kind 'activity' (source_id the activity).
ALTER TABLE notifications DROP CONSTRAINT notifications_source_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_source_kind_check
  CHECK (source_kind IN ('event', 'announcement', 'activity'));
