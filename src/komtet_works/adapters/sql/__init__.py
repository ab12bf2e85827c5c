"""The SQL stores, written once for SQLite and PostgreSQL.

- `statements`: every statement, as a template both databases share;
- `dialect`: what differs between them (parameter markers, JSON list parameters, row
  locks, how an instant is kept), as data;
- `stores`: the work orders with their outbox, the customer directory and the billing
  ledger, over a `stores.Database`;
- `rows`: what a row means, both ways;
- `migrations`: the versioned scripts, one per version and dialect.

`komtet_works.adapters.sqlite` and `komtet_works.adapters.postgres` hold each
technology's connection, transactions and driver errors, and name the public classes.
"""
