-- gateway: who may call the API, and the answers kept for Idempotency-Key.
-- Secrets (tokens, API keys) are stored only as their SHA-256; passwords as
-- argon2id strings (libsodium crypto_pwhash_str).

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text NOT NULL CHECK (username ~ '^[A-Za-z0-9._-]{3,64}$'),
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'manager', 'agent', 'technician', 'integration')),
    property_ids  uuid[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled      boolean NOT NULL DEFAULT false
);
-- "Admin" and "admin" are one user: logins compare in lower case
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

CREATE TABLE tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX tokens_user_id ON tokens (user_id);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    key_hash     bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    role         text NOT NULL CHECK (role IN ('admin', 'manager', 'agent', 'technician', 'integration')),
    property_ids uuid[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

-- One record per (caller, key). status NULL: the first request is still in
-- flight. response: the body exactly as first sent (text, not jsonb, so a
-- replay is byte for byte the same).
CREATE TABLE idempotency (
    key        text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    caller_id  text NOT NULL,
    route      text NOT NULL,
    body_hash  bytea NOT NULL,
    status     int,
    response   text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller_id, key)
);
CREATE INDEX idempotency_created_at ON idempotency (created_at);
