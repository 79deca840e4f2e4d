-- The latest time an event was counted at, per limit and key; see
-- migrations/sqlite/0009_rate_limit_clock.sql for why.
ALTER TABLE rate_limits ADD COLUMN seen_at BIGINT NOT NULL DEFAULT 0;
