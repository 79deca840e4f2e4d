-- Token exchange (RFC 8693): an allow rule for the token-exchange grant may let the client
-- impersonate the subject (the new token names no actor, §1.1) instead of acting for it.
ALTER TABLE policy_rules ADD COLUMN impersonation INTEGER NOT NULL DEFAULT 0 CHECK (impersonation IN (0, 1));
