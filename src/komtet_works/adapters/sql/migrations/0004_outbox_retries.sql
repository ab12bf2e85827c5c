-- The relay's bookkeeping per message (rules N4-N6): a message that fails is tried again
-- later, and parked as dead after the policy's attempts; a worker's claim keeps the others
-- off a message while it is being sent.
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at {indexed_instant};  -- NULL: due now
ALTER TABLE outbox ADD COLUMN claimed_until {indexed_instant};    -- a relay worker's lease
ALTER TABLE outbox ADD COLUMN last_error TEXT;                    -- class: text, no personal data
ALTER TABLE outbox ADD COLUMN dead_at {instant};                  -- parked for the operator
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (position) WHERE sent_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_waiting_of_order ON outbox (order_id, position)
    WHERE sent_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_dead ON outbox (position) WHERE dead_at IS NOT NULL AND sent_at IS NULL;
