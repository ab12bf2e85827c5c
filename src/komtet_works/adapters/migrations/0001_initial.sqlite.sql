-- Work orders: the current state of each order, for queries; the events are the truth.
CREATE TABLE work_orders (
    position       INTEGER PRIMARY KEY,           -- insertion order: "oldest first"
    id             TEXT NOT NULL UNIQUE,
    customer_id    TEXT NOT NULL,
    state          TEXT NOT NULL,
    version        INTEGER NOT NULL CHECK (version > 0),
    claim_deadline INTEGER,                       -- microseconds since the epoch, UTC
    due            INTEGER,                       -- microseconds since the epoch, UTC
    updated_at     TEXT NOT NULL                  -- the last event's instant, ISO 8601
);
CREATE INDEX work_orders_by_customer ON work_orders (customer_id, position);
CREATE INDEX work_orders_by_state ON work_orders (state, position);
CREATE INDEX work_orders_by_claim_deadline ON work_orders (claim_deadline)
    WHERE state = 'completed';
CREATE INDEX work_orders_by_due ON work_orders (due)
    WHERE state IN ('scheduled', 'in_progress');

-- The append-only event log: the audit trail an order is rebuilt from.
CREATE TABLE work_order_events (
    order_id   TEXT NOT NULL REFERENCES work_orders (id),
    seq        INTEGER NOT NULL CHECK (seq > 0),  -- the order's version after this event
    type       TEXT NOT NULL,
    at         TEXT NOT NULL,                     -- ISO 8601 with offset
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    before     TEXT,
    after      TEXT NOT NULL,
    payload    TEXT NOT NULL,                     -- the whole event, adapters.codec JSON
    PRIMARY KEY (order_id, seq)
) WITHOUT ROWID;
CREATE TRIGGER work_order_events_no_update BEFORE UPDATE ON work_order_events
BEGIN
    SELECT RAISE(ABORT, 'work_order_events is append-only');
END;
CREATE TRIGGER work_order_events_no_delete BEFORE DELETE ON work_order_events
BEGIN
    SELECT RAISE(ABORT, 'work_order_events is append-only');
END;

-- The transactional outbox: messages committed with the change that caused them.
CREATE TABLE outbox (
    position    INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,             -- Message.id, stable across resends
    order_id    TEXT NOT NULL REFERENCES work_orders (id),
    customer_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    sent_at     TEXT
);
CREATE INDEX outbox_pending ON outbox (position) WHERE sent_at IS NULL;
