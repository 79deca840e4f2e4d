-- Resource indicators (RFC 8707): an authorization server may issue access tokens for audiences
-- beside its default one, a client choosing with `resource`; a policy rule may narrow which of
-- them its requests may name, and whether one token may be for several at once.
ALTER TABLE authorization_servers ADD COLUMN extra_audiences TEXT NOT NULL DEFAULT ''; -- space-separated
ALTER TABLE policy_rules ADD COLUMN audiences TEXT;  -- space-separated; NULL for any of its server's
ALTER TABLE policy_rules ADD COLUMN several_audiences INTEGER NOT NULL DEFAULT 0 CHECK (several_audiences IN (0, 1));
