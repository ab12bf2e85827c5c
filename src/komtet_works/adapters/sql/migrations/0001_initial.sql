-- Work orders: the current state of each order, for queries; the events are the truth.
CREATE TABLE work_orders (
    position       {position},                    -- insertion order: "oldest first"
    id             TEXT NOT NULL UNIQUE,
    customer_id    TEXT NOT NULL,
    state          TEXT NOT NULL,
    version        INTEGER NOT NULL CHECK (version > 0),
    claim_deadline {indexed_instant},
    due            {indexed_instant},
    updated_at     {instant} NOT NULL             -- the last event's instant
);
CREATE INDEX work_orders_by_customer ON work_orders (customer_id, position);
CREATE INDEX work_orders_by_state ON work_orders (state, position);
CREATE INDEX work_orders_by_claim_deadline ON work_orders (claim_deadline)
    WHERE state = 'completed';
CREATE INDEX work_orders_by_due ON work_orders (due)
    WHERE state IN ('scheduled', 'in_progress');

-- The append-only event log: the audit trail an order is rebuilt from (the triggers that
-- keep it append-only are in each dialect's script).
CREATE TABLE work_order_events (
    order_id   TEXT NOT NULL REFERENCES work_orders (id),
    seq        INTEGER NOT NULL CHECK (seq > 0),  -- the order's version after this event
    type       TEXT NOT NULL,
    at         {instant} NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    before     TEXT,
    after      TEXT NOT NULL,
    payload    {json} NOT NULL,                   -- the whole event, adapters.codec JSON
    PRIMARY KEY (order_id, seq)
){without_rowid};

-- The transactional outbox: messages committed with the change that caused them.
CREATE TABLE outbox (
    position    {position},
    id          TEXT NOT NULL UNIQUE,             -- Message.id, stable across resends
    order_id    TEXT NOT NULL REFERENCES work_orders (id),
    customer_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  {instant} NOT NULL,
    sent_at     {instant}
);
CREATE INDEX outbox_pending ON outbox (position) WHERE sent_at IS NULL;
