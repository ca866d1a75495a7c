package temporalx

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// Task queues. Each names a kind of work with its own cost profile
// (DESIGN.md, "Task queues").
const (
	QueueAdmission       = "admission"
	QueueWebhookDelivery = "webhook-delivery"
	QueueMaintenance     = "maintenance"
)

// Config says how to reach Temporal.
type Config struct {
	// HostPort of the frontend. Defaults to "127.0.0.1:7233".
	HostPort string
	// Namespace RD runs in. Defaults to "default".
	Namespace string
	// WorkerHeartbeatInterval is how often workers report themselves to the
	// server; admission counts live workers from these. Defaults to 5s.
	WorkerHeartbeatInterval time.Duration
}

func (c *Config) applyDefaults() {
	if c.HostPort == "" {
		c.HostPort = "127.0.0.1:7233"
	}
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	if c.WorkerHeartbeatInterval == 0 {
		c.WorkerHeartbeatInterval = 5 * time.Second
	}
}

// NewClient returns a client that connects on first use, so a process whose
// Temporal is briefly away still starts (the API keeps accepting work; the
// database row is the truth). Use Ping to check the connection.
func NewClient(cfg Config, logger *slog.Logger) (client.Client, error) {
	cfg.applyDefaults()
	c, err := client.NewLazyClient(client.Options{
		HostPort:                cfg.HostPort,
		Namespace:               cfg.Namespace,
		Logger:                  sdklog.NewStructuredLogger(logger.With("component", "temporal-sdk")),
		WorkerHeartbeatInterval: cfg.WorkerHeartbeatInterval,
	})
	if err != nil {
		return nil, fmt.Errorf("temporal: client for %s: %w", cfg.HostPort, err)
	}
	return c, nil
}

// Ping checks that the frontend answers.
func Ping(ctx context.Context, c client.Client) error {
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("temporal: health check: %w", err)
	}
	return nil
}

// IsScrapeQueue reports whether workers on queue run scrapes: the
// per-publisher scrape-<publisher> queues and the shared scraping-* pools.
func IsScrapeQueue(queue string) bool {
	return strings.HasPrefix(queue, "scrape-") || strings.HasPrefix(queue, "scraping-")
}

// NamespaceOrDefault is the namespace RD runs in.
func (c Config) NamespaceOrDefault() string {
	c.applyDefaults()
	return c.Namespace
}
