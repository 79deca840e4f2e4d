-- The grant a login came from (authorization_code or the device grant), so that an access
-- policy decides its refreshes by the rules for that grant alone. Logins before this were all
-- authorization codes.
ALTER TABLE grants ADD COLUMN grant_type TEXT NOT NULL DEFAULT 'authorization_code';

-- Why a server's access policy refused a device request its user allowed (RFC 8628 §3.5
-- access_denied, with the policy's description); NULL when the user denied it.
ALTER TABLE device_authorizations ADD COLUMN refusal TEXT;
