-- A write with an Idempotency-Key runs once in this service (common/idem.h):
-- the key is claimed here in the write's own transaction and the answer stored
-- with it, so a retry whose first answer was lost gets that answer, not a
-- second run. Kept 24 hours (idem_cleanup). The same text in every service.
CREATE TABLE idempotency (
    caller_id   text NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    status      int,
    reply       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller_id, key)
);
CREATE INDEX idempotency_created_at ON idempotency (created_at);
