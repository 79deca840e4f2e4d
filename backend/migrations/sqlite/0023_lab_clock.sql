-- The clock lab (demo mode): how far every instance's clock is moved ahead of the system's, so
-- that a lab run moves them all (each reads it with the revocation list). One row at most.
CREATE TABLE lab_clock (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    offset_secs BIGINT NOT NULL CHECK (offset_secs >= 0),
    set_at      BIGINT NOT NULL
);
