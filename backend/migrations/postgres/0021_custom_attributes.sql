-- Users have custom attributes (Okta's profile attributes): a JSON object of names and strings
-- ('{}' for none), which a custom claim can carry by name (server_claims.custom_attribute; its
-- value is then 'null', as for the attributes every user has).
ALTER TABLE users ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE server_claims ADD COLUMN custom_attribute TEXT;
