package app

import (
	"fmt"
	"time"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/netguard"
	"github.com/reviewdata/rd/internal/secrets"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/service"
)

// WebhookConfig tunes webhook delivery.
type WebhookConfig struct {
	// AllowPrivate lets endpoints be created on, and deliveries reach,
	// loopback and private addresses. Defaults to false; only the dev
	// stack sets it.
	AllowPrivate bool
	// Schedule is the wait before each attempt; its length is the number
	// of attempts. Defaults to webhook.DefaultSchedule (8 attempts over
	// about 27.6 hours); tests shorten it.
	Schedule []time.Duration
}

// openSecrets parses SECRETS_KEYS. Every process needs it: the API
// encrypts the secrets it creates, workers decrypt them to sign.
func openSecrets(keys string) (*secrets.Keyring, error) {
	k, err := secrets.ParseKeys(keys)
	if err != nil {
		return nil, fmt.Errorf("config: SECRETS_KEYS: %w", err)
	}
	return k, nil
}

// openWebhooks builds what both the API and the workers use to deliver
// webhooks: the workflow starter and the service. Call it once Store,
// Temporal and Secrets are open.
func (d *Deps) openWebhooks(cfg WebhookConfig) error {
	policy := webhook.Policy{Schedule: cfg.Schedule}
	if err := policy.Validate(); err != nil {
		return fmt.Errorf("config: WEBHOOK_SCHEDULE: %w", err)
	}
	d.WebhookStarter = &webhook.Starter{Client: d.Temporal, Policy: policy}
	d.Webhooks = &service.Webhooks{
		Store:   d.Store,
		Secrets: d.Secrets,
		Starter: d.WebhookStarter,
		Config:  service.WebhooksConfig{AllowPrivate: cfg.AllowPrivate},
	}
	return nil
}

// newWebhookActivities builds the delivery activities over one HTTP client
// for the whole worker process: netguard's, which refuses private addresses
// at dial time (unless AllowPrivate) and follows no redirect.
func newWebhookActivities(cfg WebhookConfig, d *Deps) *activities.WebhookActivities {
	return &activities.WebhookActivities{
		Store:   d.Store,
		Secrets: d.Secrets,
		HTTP: netguard.NewClient(netguard.Config{
			AllowPrivate: cfg.AllowPrivate,
			Timeout:      activities.DefaultWebhookHTTPTimeout,
		}),
		Starter: d.WebhookStarter,
	}
}
