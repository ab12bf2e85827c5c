-- work_order_events is append-only.
CREATE TRIGGER work_order_events_no_update BEFORE UPDATE ON work_order_events
BEGIN
    SELECT RAISE(ABORT, 'work_order_events is append-only');
END;
CREATE TRIGGER work_order_events_no_delete BEFORE DELETE ON work_order_events
BEGIN
    SELECT RAISE(ABORT, 'work_order_events is append-only');
END;
