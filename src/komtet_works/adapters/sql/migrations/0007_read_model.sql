-- The read model (issue 12): each order's current state as adapters.codec writes it
-- (`dumps_order`), in the format `snapshot_format` names (`codec.ORDER_FORMAT`), written
-- in the transaction that appends its events.  Loading an order reads this row, never its
-- history, so it costs the same however long the history is; the events stay the audit.
-- Orders saved before this migration have no snapshot: they are replayed from their
-- events until their next save writes one, as are orders whose snapshot is in a format
-- this code does not write.
ALTER TABLE work_orders ADD COLUMN snapshot {json};
ALTER TABLE work_orders ADD COLUMN snapshot_format TEXT;
