-- The latest time an event was counted at, per limit and key, in microseconds. Concurrent
-- requests read the clock in one order and reach the database in another; counting each event
-- at no earlier than the latest time already counted keeps a key's clock moving forward, so
-- "this event used up the allowance" is true of exactly one event, not of two that raced.
ALTER TABLE rate_limits ADD COLUMN seen_at INTEGER NOT NULL DEFAULT 0;
