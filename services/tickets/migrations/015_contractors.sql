-- tickets 015: contractors and their supervision (监管评定, issue L): the
-- cleaning, greening, pest-control and security contractors of a property,
-- their inspections scored on weighted criteria, and the property's
-- rectification threshold. Limits mirror services/tickets/contractor_rules.h.
-- Scores are kept in tenths and weights in hundredths (integers): the
-- weighted mean is computed exactly (contractor_rules.c).

-- Per property; a property without a row has the threshold 80.0
-- (CON_THRESHOLD_DEFAULT_X10).
CREATE TABLE contractor_settings (
  property_id   uuid PRIMARY KEY,
  threshold_x10 int NOT NULL CHECK (threshold_x10 BETWEEN 0 AND 1000),
  updated_by    text,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contractors (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL,
  name        text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 100),
  service     text NOT NULL CHECK (service IN ('cleaning', 'greening', 'pest_control', 'security', 'other')),
  contact     text CHECK (octet_length(contact) BETWEEN 1 AND 100),
  phone       text CHECK (octet_length(phone) BETWEEN 1 AND 24),   -- normalised (common/pii.h)
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL,
  created_by  text NOT NULL,
  updated_at  timestamptz NOT NULL,
  UNIQUE (property_id, name)
);
-- the list, newest first
CREATE INDEX contractors_list ON contractors (property_id, created_at DESC, id DESC);

-- period: the month of inspected_at in the property's timezone (its first
-- day), fixed at the write, so the reports group by a column.
-- rectification_ticket_id: the ticket (整改) opened in the same transaction
-- when score_x10 was below threshold_x10 (the threshold then).
CREATE TABLE contractor_inspections (
  id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id             uuid NOT NULL,
  contractor_id           uuid NOT NULL REFERENCES contractors (id),
  area                    text NOT NULL CHECK (octet_length(area) BETWEEN 1 AND 100),
  inspected_at            timestamptz NOT NULL,
  period                  date NOT NULL CHECK (extract(day FROM period) = 1),
  score_x10               int NOT NULL CHECK (score_x10 BETWEEN 0 AND 1000),
  threshold_x10           int NOT NULL CHECK (threshold_x10 BETWEEN 0 AND 1000),
  note                    text CHECK (octet_length(note) BETWEEN 1 AND 2000),
  rectification_ticket_id uuid,
  created_at              timestamptz NOT NULL,
  created_by              text NOT NULL
);
-- the list (newest inspected first), a contractor's, and a month's
CREATE INDEX contractor_inspections_list ON contractor_inspections (property_id, inspected_at DESC, id DESC);
CREATE INDEX contractor_inspections_by_contractor
  ON contractor_inspections (contractor_id, inspected_at DESC, id DESC);
CREATE INDEX contractor_inspections_period ON contractor_inspections (property_id, period, contractor_id);

CREATE TABLE contractor_inspection_criteria (
  inspection_id uuid NOT NULL REFERENCES contractor_inspections (id) ON DELETE CASCADE,
  position      int NOT NULL CHECK (position BETWEEN 0 AND 49),
  name          text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 100),
  weight_x100   int NOT NULL CHECK (weight_x100 BETWEEN 1 AND 100000),
  score_x10     int NOT NULL CHECK (score_x10 BETWEEN 0 AND 1000),
  PRIMARY KEY (inspection_id, position),
  UNIQUE (inspection_id, name)
);
