-- notifications 002: webhooks, the subscriptions of external systems to
-- events (API.md, "Notifications and integration"), one delivery row per
-- (subscription, event) holding the exact bytes that are signed and sent, and
-- every attempt for the delivery log. The sender (sender.c) leases due rows.

CREATE TABLE webhooks (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- who created it: an admin user, or an integration API key (its id)
  owner_id             text NOT NULL,
  owner_role           text NOT NULL,
  -- NULL = every property (admin only); else the properties whose events it gets
  property_ids         uuid[],
  url                  text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
  -- event types, or '*' for all of them
  events               text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 64),
  -- the HMAC key; never returned after creation (only its last 4 characters)
  secret               text NOT NULL CHECK (length(secret) BETWEEN 16 AND 256),
  description          text CHECK (length(description) <= 200),
  enabled              boolean NOT NULL DEFAULT true,
  disabled_reason      text,
  -- deliveries that failed for good in a row; PM_WEBHOOK_DISABLE_AFTER disables
  consecutive_failures int NOT NULL DEFAULT 0,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_owner ON webhooks (owner_id, created_at DESC, id);
CREATE INDEX webhooks_list ON webhooks (created_at DESC, id);

--   pending   waiting for its next attempt (next_attempt_at), or in flight (lease_until)
--   delivered the receiver answered 2xx
--   failed    no 2xx within the retry window (PM_WEBHOOK_RETRY_WINDOW_S since retry_from)
--   paused    its webhook is disabled; enabling it turns these back to pending
CREATE TABLE webhook_deliveries (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  webhook_id      uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event_id        uuid NOT NULL,
  event_type      text NOT NULL,
  property_id     uuid,
  body            text NOT NULL,
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'delivered', 'failed', 'paused')),
  attempts        int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_until     timestamptz,
  -- the retry window starts here: creation, or a resume / redeliver
  retry_from      timestamptz NOT NULL DEFAULT now(),
  last_status     int,
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  delivered_at    timestamptz,
  UNIQUE (webhook_id, event_id)
);
-- the sender's queue
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- the delivery log of a webhook, newest first
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at DESC, id);
CREATE INDEX webhook_deliveries_paused ON webhook_deliveries (webhook_id) WHERE status = 'paused';

CREATE TABLE webhook_attempts (
  id          bigserial PRIMARY KEY,
  delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt     int NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  status_code int,
  error       text,
  duration_ms int NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
