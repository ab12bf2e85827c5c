-- Orders queued before this migration: the billable hours of their latest estimate (a
-- paid order's current quote; supplements are refused once paid).
UPDATE work_orders AS o SET billable_microhours = COALESCE((
    SELECT CEIL((e.payload -> 'quote' ->> 'billable_hours')::numeric * 1000000)::bigint
    FROM work_order_events AS e
    WHERE e.order_id = o.id AND e.type = 'EstimateIssued'
    ORDER BY e.seq DESC LIMIT 1), 0)
WHERE o.state IN ('paid', 'scheduled', 'in_progress');
