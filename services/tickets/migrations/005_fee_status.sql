-- tickets 005: a paid repair's fee has a status (issue G). A technician's fee
-- on resolve is proposed and billed only once a manager approves it
-- (approve_fee), or dropped (reject_fee); a manager's fee is approved at once.
-- Fees written before this migration were billed when they were written.
ALTER TABLE tickets ADD COLUMN fee_status text
  CHECK (fee_status IN ('proposed', 'approved', 'rejected'));
UPDATE tickets SET fee_status = 'approved' WHERE fee_amount IS NOT NULL;
ALTER TABLE tickets ADD CONSTRAINT tickets_fee_status_with_amount
  CHECK ((fee_amount IS NULL) = (fee_status IS NULL));
