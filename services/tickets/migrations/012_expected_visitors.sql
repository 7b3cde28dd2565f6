-- tickets 012: visitors announced by a resident from the phone (issue K):
-- still a row of the desk's register (status registered until the desk
-- checks them in as usual), flagged by expected_at (when they are due; the
-- register's ?date= lists them on that day), with a short pass code the
-- visitor shows at the desk, and the party who announced them.
ALTER TABLE visitors ADD COLUMN expected_at timestamptz;
ALTER TABLE visitors ADD COLUMN pass_code text CHECK (pass_code ~ '^[0-9]{6}$');
ALTER TABLE visitors ADD COLUMN announced_by uuid;
ALTER TABLE visitors ADD CONSTRAINT visitors_expected CHECK ((expected_at IS NULL) = (pass_code IS NULL));
CREATE INDEX visitors_expected_day ON visitors (property_id, expected_at) WHERE expected_at IS NOT NULL;
