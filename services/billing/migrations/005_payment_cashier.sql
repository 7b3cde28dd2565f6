-- The cashier a receipt names (收款人): the username (or API key name) the
-- payment was recorded under, from the request's caller; the id alone
-- (created_by) means nothing on paper. NULL for payments made before.
ALTER TABLE payments ADD COLUMN created_by_name text;
