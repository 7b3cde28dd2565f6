-- notifications 007: a webhook dies with the API key that created it (issue G,
-- "Trust and limits"). When the gateway revokes a key it calls
-- notifications.webhooks.disable_for_key: every webhook whose owner_id is that
-- key is disabled for good (owner_revoked_at; enabling it again is refused),
-- its waiting deliveries fail, and the key is remembered so that a create
-- still in flight with the key, authenticated just before the revocation, is
-- refused too (both take the same advisory lock on the owner).
ALTER TABLE webhooks ADD COLUMN owner_revoked_at timestamptz;

CREATE TABLE revoked_api_keys (
  key_id     text PRIMARY KEY,
  revoked_at timestamptz NOT NULL DEFAULT now()
);
