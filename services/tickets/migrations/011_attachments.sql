-- Attachments of tickets (photos of a leak, a scanned form): the file's bytes
-- in the tickets schema, so that a backup or a database of this service
-- alone carries them. size and sha256 are computed from the stored bytes by
-- the INSERT itself (attachments.c). JPEG, PNG, WebP and PDF are compressed
-- already: stored out of line without another compression attempt.
CREATE TABLE attachments (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id  uuid NOT NULL,
  ticket_id    uuid NOT NULL REFERENCES tickets (id),
  content_type text NOT NULL
               CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
  filename     text NOT NULL CHECK (octet_length (filename) BETWEEN 1 AND 255),
  size         integer NOT NULL CHECK (size BETWEEN 1 AND 10485760),
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  content      bytea NOT NULL,
  uploaded_by  text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE attachments ALTER COLUMN content SET STORAGE EXTERNAL;
CREATE INDEX attachments_ticket ON attachments (property_id, ticket_id, created_at DESC, id DESC);
