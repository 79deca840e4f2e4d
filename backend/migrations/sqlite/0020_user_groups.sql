-- Users are in groups (names, space-separated, sorted; '' for none), which the rules of access
-- policies match beside roles ('' for any user) and which a custom claim can carry. (Not
-- `groups`, a keyword of window frames in both databases.)
ALTER TABLE users ADD COLUMN group_names TEXT NOT NULL DEFAULT '';
ALTER TABLE policy_rules ADD COLUMN group_names TEXT NOT NULL DEFAULT '';
