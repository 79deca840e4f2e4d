-- Every security event keeps the X-Request-Id of the request it happened in, and every error
-- answer is an event (kind 'request_refused') whose explanation (a JSON object: endpoint,
-- status, error, description, check, expected, got, remedy, issuer, kid, jti) says why. An
-- administrator finds one by request id; a user reads those of their own requests.
ALTER TABLE security_events ADD COLUMN request_id TEXT;
ALTER TABLE security_events ADD COLUMN explanation TEXT;
CREATE INDEX security_events_request ON security_events (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX security_events_refused ON security_events (user_id, id) WHERE kind = 'request_refused';
