-- The host's side, for hosts without systems of their own: the customer directory and a
-- billing ledger, in the same database as the work orders.

-- Customers, their sites and servers, and which sites have an active Site Maintenance
-- subscription (rules E1, P4, E3).
CREATE TABLE customers (
    id TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE customer_targets (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    kind        TEXT NOT NULL CHECK (kind IN ('site', 'server')),
    name        TEXT NOT NULL,
    maintained  INTEGER NOT NULL DEFAULT 0 CHECK (maintained IN (0, 1)),
    CHECK (maintained = 0 OR kind = 'site'),   -- only sites are maintained
    PRIMARY KEY (customer_id, kind, name)
) WITHOUT ROWID;

-- The billing ledger: invoices and refunds, each once per idempotency key.
CREATE TABLE billing_invoices (
    position        INTEGER PRIMARY KEY,        -- the invoice number: inv-<position>
    idempotency_key TEXT NOT NULL UNIQUE,
    order_id        TEXT NOT NULL,
    amount          TEXT NOT NULL,              -- an exact decimal, as text
    currency        TEXT NOT NULL
);
CREATE TABLE billing_refunds (
    position        INTEGER PRIMARY KEY,        -- the receipt number: rf-<position>
    idempotency_key TEXT NOT NULL UNIQUE,
    payment_id      TEXT NOT NULL,
    amount          TEXT NOT NULL,              -- an exact decimal, as text
    currency        TEXT NOT NULL
);
