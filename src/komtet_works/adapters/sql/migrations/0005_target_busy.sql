-- One order in works per target (rule T1): each order's target, and a partial unique
-- index that lets at most one order per target be in the states of
-- `lifecycle.WORKS_UNDER_WAY` ('in_progress'), whoever's customer it is.  Two staff
-- processes starting works on one target at once cannot both commit.
ALTER TABLE work_orders ADD COLUMN target_kind TEXT;
ALTER TABLE work_orders ADD COLUMN target TEXT;
