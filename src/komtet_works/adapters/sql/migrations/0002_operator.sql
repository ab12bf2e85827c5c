-- The host's side, for hosts without systems of their own: the customer directory and a
-- billing ledger, in the same database as the work orders.

-- Customers, their sites and servers, and which sites have an active Site Maintenance
-- subscription (rules E1, P4, E3).
CREATE TABLE customers (
    id TEXT PRIMARY KEY
){without_rowid};
CREATE TABLE customer_targets (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    kind        TEXT NOT NULL CHECK (kind IN ('site', 'server')),
    name        TEXT NOT NULL,
    maintained  {boolean} NOT NULL DEFAULT FALSE CHECK (maintained IN (FALSE, TRUE)),
    CHECK (maintained = FALSE OR kind = 'site'),   -- only sites are maintained
    PRIMARY KEY (customer_id, kind, name)
){without_rowid};

-- The billing ledger: invoices and refunds, each once per idempotency key.
CREATE TABLE billing_invoices (
    position        {position},                 -- the invoice number: inv-<position>
    idempotency_key TEXT NOT NULL UNIQUE,
    order_id        TEXT NOT NULL,
    amount          {decimal} NOT NULL,
    currency        TEXT NOT NULL
);
CREATE TABLE billing_refunds (
    position        {position},                 -- the receipt number: rf-<position>
    idempotency_key TEXT NOT NULL UNIQUE,
    payment_id      TEXT NOT NULL,
    amount          {decimal} NOT NULL,
    currency        TEXT NOT NULL
);
