-- The webhooks' outbox: each delivery is written in the transaction of
-- the entry it carries, and sent once that is committed.
CREATE TABLE webhook_deliveries (
    seq          bigserial PRIMARY KEY,
    webhook      text NOT NULL,
    entry        bigint NOT NULL REFERENCES entries (seq),
    -- What is posted: {"webhook", "event", "entry", "effect"}.
    body         text NOT NULL,
    -- pending, delivered or failing.
    status       text NOT NULL DEFAULT 'pending',
    attempts     bigint NOT NULL DEFAULT 0,
    -- When it is tried next (seconds since 1970 UTC).
    next_attempt bigint NOT NULL DEFAULT 0,
    last_error   text,
    delivered_at bigint
);
-- A webhook's deliveries still to make, in order.
CREATE INDEX webhook_deliveries_waiting ON webhook_deliveries (webhook, seq)
    WHERE delivered_at IS NULL;
