-- The staff's queue of the completion-date suggestion (rule L4, issue 12): what each order
-- adds to it, kept on its row, so that the suggestion sums a partial covering index of the
-- queued orders alone instead of loading every queued order to read its quote.
-- `billable_microhours`: the current quote's billable hours in whole millionths of an hour
-- (exact in both databases; `domain.scheduling.queued_microhours`) while the order is
-- paid, scheduled or in progress; NULL while it is in any other state (not queued).  The
-- index's condition is on the column, not the state, so that no other query's states
-- imply it and it serves the queue only.
-- `urgent_microhours`: the same while the order is queued and urgent (D-URGENCY), else
-- NULL: an urgent order queues behind these only.  Orders stored before it are normal.
ALTER TABLE work_orders ADD COLUMN billable_microhours BIGINT;
ALTER TABLE work_orders ADD COLUMN urgent_microhours BIGINT;
CREATE INDEX work_orders_queue ON work_orders (billable_microhours, id)
    WHERE billable_microhours IS NOT NULL;
CREATE INDEX work_orders_urgent_queue ON work_orders (urgent_microhours, id)
    WHERE urgent_microhours IS NOT NULL;
