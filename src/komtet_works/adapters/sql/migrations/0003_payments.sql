-- Money across the billing edge (rules K2, K3, K5).

-- The payments intake: every payment the billing system reported, once per payment id.
CREATE TABLE payments (
    position         {position},
    id               TEXT NOT NULL UNIQUE,      -- the billing system's id: one order for ever
    order_id         TEXT NOT NULL,             -- the order it was first reported for
    amount           {decimal} NOT NULL,
    currency         TEXT NOT NULL,
    received_at      TEXT NOT NULL,             -- ISO 8601 with its offset
    refused          TEXT,                      -- NULL: applied; else the refusal's code
    refund_reference TEXT                       -- an unapplied payment's refund receipt
);
-- Reports of a known payment id for another order or amount, kept for staff.
CREATE TABLE payment_conflicts (
    position    {position},
    payment_id  TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    amount      {decimal} NOT NULL,
    currency    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    code        TEXT NOT NULL
);

-- The billing outbox: commands committed with the change that owes them.
CREATE TABLE billing_commands (
    position {position},
    id       TEXT NOT NULL UNIQUE,              -- the command's idempotency key
    order_id TEXT NOT NULL,
    kind     TEXT NOT NULL,
    payload  TEXT NOT NULL,                     -- the command's other fields, JSON
    done_at  TEXT,
    result   TEXT                               -- billing's reference, once done
);
CREATE INDEX billing_commands_pending ON billing_commands (position) WHERE done_at IS NULL;
CREATE INDEX billing_commands_of_order ON billing_commands (order_id, position)
    WHERE done_at IS NULL;

-- The shipped billing ledger's payments and voided invoices (for reconciliation).
CREATE TABLE billing_payments (
    position  {position},
    reference TEXT NOT NULL UNIQUE,             -- the payment id billing gave
    order_id  TEXT NOT NULL,
    amount    {decimal} NOT NULL,
    currency  TEXT NOT NULL
);
CREATE TABLE billing_voids (
    position        {position},
    idempotency_key TEXT NOT NULL UNIQUE,
    invoice         TEXT NOT NULL
);
