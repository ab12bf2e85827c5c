-- Orders saved before this migration: their target, from the event that requested them.
UPDATE work_orders AS o SET target_kind = e.payload -> 'target' ->> 'kind',
                            target = e.payload -> 'target' ->> 'name'
    FROM work_order_events AS e WHERE e.order_id = o.id AND e.seq = 1;
-- A database holding two orders in works on one target fails here: settle one first.
CREATE UNIQUE INDEX work_orders_target_busy ON work_orders (target_kind, target)
    WHERE state = 'in_progress';
CREATE INDEX work_orders_by_target ON work_orders (target_kind, target, position);
