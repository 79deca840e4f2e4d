-- The admin API revokes every grant of a user when the account is disabled or its password is
-- reset.
CREATE INDEX grants_user ON grants (user_id);
