-- A device authorization records who asked for it: the client address (as
-- the request edge determined it, trusted proxies included) and the
-- User-Agent of the POST to /oauth2/device_authorization. The console's
-- approval page shows them, so a person sent a link to approve someone
-- else's sign-in can see it is not theirs (RFC 8628 §5.4). Codes created
-- before this migration have neither and say so. client_id and created_at
-- were recorded from the start.

-- +goose Up
ALTER TABLE device_codes ADD COLUMN requester_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE device_codes ADD COLUMN requester_agent TEXT NOT NULL DEFAULT '';
