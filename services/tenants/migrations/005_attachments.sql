-- Files of units (floor plans, meter photos) and of parties (ID copies,
-- contracts: personal data, read only by roles with full PII and audited in
-- pii_reads), in the tenants schema, so that a backup or a database of this
-- service alone carries them. Each file belongs to exactly one unit or one
-- party of its property (the foreign keys say the parent exists there). size
-- and sha256 are computed from the stored bytes by the INSERT itself
-- (attachments.c). JPEG, PNG, WebP and PDF are compressed already: stored
-- out of line without another compression attempt.
CREATE TABLE attachments (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id  uuid NOT NULL,
  unit_id      uuid,
  party_id     uuid,
  content_type text NOT NULL
               CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
  filename     text NOT NULL CHECK (octet_length (filename) BETWEEN 1 AND 255),
  size         integer NOT NULL CHECK (size BETWEEN 1 AND 10485760),
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  content      bytea NOT NULL,
  uploaded_by  text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT attachments_one_parent CHECK ((unit_id IS NULL) <> (party_id IS NULL)),
  CONSTRAINT attachments_unit FOREIGN KEY (property_id, unit_id) REFERENCES units (property_id, id),
  CONSTRAINT attachments_party FOREIGN KEY (property_id, party_id) REFERENCES parties (property_id, id)
);
ALTER TABLE attachments ALTER COLUMN content SET STORAGE EXTERNAL;
CREATE INDEX attachments_unit_time ON attachments (property_id, unit_id, created_at DESC, id DESC)
  WHERE unit_id IS NOT NULL;
CREATE INDEX attachments_party_time ON attachments (property_id, party_id, created_at DESC, id DESC)
  WHERE party_id IS NOT NULL;
