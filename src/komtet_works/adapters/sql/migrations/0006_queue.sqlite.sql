-- Orders queued before this migration: the billable hours of their latest estimate (a
-- paid order's current quote; supplements are refused once paid).
UPDATE work_orders SET billable_microhours = COALESCE((
    SELECT CAST(ROUND(CAST(json_extract(e.payload, '$.quote.billable_hours') AS REAL)
                      * 1000000) AS INTEGER)
    FROM work_order_events AS e
    WHERE e.order_id = work_orders.id AND e.type = 'EstimateIssued'
    ORDER BY e.seq DESC LIMIT 1), 0)
WHERE state IN ('paid', 'scheduled', 'in_progress');
