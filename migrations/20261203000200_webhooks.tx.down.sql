-- Undo 20261203000200_webhooks.tx.up.sql in reverse order.
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoint_secrets;
DROP TABLE webhook_endpoints;
