// Package app wires RD's processes from configuration: it is the part of
// cmd/ that both binaries (rd and the dev all-in-one) share.
package app

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/api"
	"github.com/reviewdata/rd/internal/blob"
	"github.com/reviewdata/rd/internal/logging"
	"github.com/reviewdata/rd/internal/temporalx"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/store"
	"github.com/reviewdata/rd/worker"
)

// Config is every setting of every RD process, read once from the
// environment by Load. Each part belongs to the package that uses it.
type Config struct {
	Log      logging.Config
	API      api.Config
	Store    store.Config
	RedisURL string
	Temporal temporalx.Config
	Blob     blob.Config
	Worker   worker.Config
	// Admission holds the admission lane's knobs.
	Admission activities.AdmissionPolicy
	// Scrape tunes the scrape workers.
	Scrape ScrapeConfig
	// SecretsKeys is the SECRETS_KEYS list that encrypts secrets at rest.
	SecretsKeys string
	// Webhook tunes webhook delivery.
	Webhook WebhookConfig
	// Auth is operator authentication and the API's rate limits.
	Auth AuthConfig
}

// EnvVar documents one environment variable and how it lands in Config.
type EnvVar struct {
	Name    string
	Default string
	Doc     string
	apply   func(c *Config, v string) error
}

// EnvVars lists every variable RD reads, in the order the README shows them.
// A test checks the README's table names each one.
var EnvVars = []EnvVar{
	{"LOG_FORMAT", "json (text in the dev stack)", "Log format: `json` or `text`.",
		func(c *Config, v string) error { c.Log.Format = v; return nil }},
	{"LOG_LEVEL", "info", "Lowest level logged: `debug`, `info`, `warn` or `error`.",
		func(c *Config, v string) error { return c.Log.Level.UnmarshalText([]byte(v)) }},
	{"API_ADDR", "127.0.0.1:8080", "Address the API listens on.",
		func(c *Config, v string) error { c.API.Addr = v; return nil }},
	{"API_MAX_BODY_BYTES", "1048576", "Largest request body accepted; larger ones get 413.",
		func(c *Config, v string) (err error) {
			c.API.MaxBodyBytes, err = strconv.ParseInt(v, 10, 64)
			return err
		}},
	{"API_READ_TIMEOUT", "30s", "Time allowed to read a whole request.",
		func(c *Config, v string) (err error) { c.API.ReadTimeout, err = time.ParseDuration(v); return err }},
	{"API_WRITE_TIMEOUT", "30s", "Time allowed to write a response.",
		func(c *Config, v string) (err error) { c.API.WriteTimeout, err = time.ParseDuration(v); return err }},
	{"DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/rd?sslmode=disable", "PostgreSQL, the source of truth.",
		func(c *Config, v string) error { c.Store.DatabaseURL = v; return nil }},
	{"DATABASE_MAX_CONNS", "10", "Connections in each process's pool.",
		func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 32)
			c.Store.MaxConns = int32(n)
			return err
		}},
	{"REDIS_URL", "redis://127.0.0.1:6379/0", "Redis, for rate limits, locks and short-lived state.",
		func(c *Config, v string) error { c.RedisURL = v; return nil }},
	{"AUTH_JWT_KEYS", "(required by `rd api`; random per start in the dev stack)",
		"Comma-separated `kid:base64secret` HMAC keys for operator tokens, from `rd admin jwt-key generate`; the first signs, all verify. Rotate by putting a new key first and dropping the old one after AUTH_ACCESS_TTL.",
		func(c *Config, v string) (err error) { c.Auth.JWTKeys, err = ParseJWTKeys(v); return err }},
	{"AUTH_ACCESS_TTL", "15m", "Lifetime of operator access tokens.",
		func(c *Config, v string) (err error) { c.Auth.AccessTTL, err = parsePositiveDuration(v); return err }},
	{"AUTH_REFRESH_TTL", "168h", "Lifetime of a refresh token; each refresh issues a new one.",
		func(c *Config, v string) (err error) { c.Auth.RefreshTTL, err = parsePositiveDuration(v); return err }},
	{"RATE_LIMIT_API_KEY_PER_MINUTE", "600", "Requests a minute one integrator API key may make (a minute's worth may come at once); a key's own limit overrides it.",
		func(c *Config, v string) (err error) { c.Auth.APIKeyPerMinute, err = parsePositiveInt(v); return err }},
	{"RATE_LIMIT_LOGIN_PER_IP_PER_MINUTE", "20", "Login attempts a minute from one client address.",
		func(c *Config, v string) (err error) {
			c.Auth.LoginPerIPPerMinute, err = parsePositiveInt(v)
			return err
		}},
	{"RATE_LIMIT_LOGIN_LOCKOUT_THRESHOLD", "5", "Failed logins that lock an account.",
		func(c *Config, v string) (err error) { c.Auth.LockoutThreshold, err = parsePositiveInt(v); return err }},
	{"RATE_LIMIT_LOGIN_LOCKOUT_WINDOW", "15m", "Time over which failed logins are counted, from the first.",
		func(c *Config, v string) (err error) {
			c.Auth.LockoutWindow, err = parsePositiveDuration(v)
			return err
		}},
	{"RATE_LIMIT_LOGIN_LOCKOUT_DURATION", "15m", "How long a locked account refuses logins.",
		func(c *Config, v string) (err error) {
			c.Auth.LockoutDuration, err = parsePositiveDuration(v)
			return err
		}},
	{"TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend (host:port).",
		func(c *Config, v string) error { c.Temporal.HostPort = v; return nil }},
	{"TEMPORAL_NAMESPACE", "default", "Temporal namespace RD runs in.",
		func(c *Config, v string) error { c.Temporal.Namespace = v; return nil }},
	{"S3_BUCKET", "rd-dev", "Bucket for review batches and archives (3-63 characters).",
		func(c *Config, v string) error { c.Blob.Bucket = v; return nil }},
	{"S3_REGION", "us-east-1", "Region of the bucket.",
		func(c *Config, v string) error { c.Blob.Region = v; return nil }},
	{"S3_ENDPOINT", "(AWS S3; http://127.0.0.1:9000 in the dev stack)", "Endpoint of an S3-compatible server; path-style addressing is used when set.",
		func(c *Config, v string) error { c.Blob.Endpoint = v; return nil }},
	{"S3_ACCESS_KEY_ID", "(AWS default chain)", "Static S3 credentials; set with S3_SECRET_ACCESS_KEY.",
		func(c *Config, v string) error { c.Blob.AccessKeyID = v; return nil }},
	{"S3_SECRET_ACCESS_KEY", "(AWS default chain)", "Static S3 credentials; set with S3_ACCESS_KEY_ID.",
		func(c *Config, v string) error { c.Blob.SecretAccessKey = v; return nil }},
	{"S3_PUBLIC_BASE_URL", "(S3_ENDPOINT/S3_BUCKET; the bucket's AWS URL without an endpoint)",
		"Base of the public (CDN) URLs of review batches: a batch's URL is this, `/` and its key.",
		func(c *Config, v string) error { c.Blob.PublicBaseURL = v; return nil }},
	{"SCRAPE_BATCH_SIZE", "100", "Reviews per batch file a scrape writes to S3.",
		func(c *Config, v string) (err error) { c.Scrape.BatchSize, err = parseBatchSize(v); return err }},
	{"SCRAPE_HTTP_TIMEOUT", "30s", "Time allowed for one request to a publisher, body included.",
		func(c *Config, v string) (err error) {
			c.Scrape.HTTPTimeout, err = parsePositiveDuration(v)
			return err
		}},
	{"SCRAPE_ALLOW_PRIVATE", "false (true in the dev stack)", "Let scrapers reach loopback and private addresses (the sandbox publisher).",
		func(c *Config, v string) (err error) { c.Scrape.AllowPrivate, err = strconv.ParseBool(v); return err }},
	{"ADMISSION_PER_TASK_CONCURRENCY", "50", "Scrapes one worker process runs at once; the admission gate is this times the running workers.",
		func(c *Config, v string) (err error) {
			c.Admission.PerTaskConcurrency, err = strconv.Atoi(v)
			return err
		}},
	{"ADMISSION_BROWSER_CAP", "10", "Browser-backed scrapes in flight across the fleet.",
		func(c *Config, v string) (err error) { c.Admission.BrowserCap, err = strconv.Atoi(v); return err }},
	{"ADMISSION_TICK_INTERVAL", "5s", "How often admission looks at the backlog when no doorbell rings.",
		func(c *Config, v string) (err error) {
			c.Admission.TickInterval, err = time.ParseDuration(v)
			return err
		}},
	{"ADMISSION_MIN_WORKERS", "1", "Lower clamp of the desired worker count.",
		func(c *Config, v string) (err error) { c.Admission.MinWorkers, err = strconv.Atoi(v); return err }},
	{"ADMISSION_MAX_WORKERS", "12", "Upper clamp of the desired worker count.",
		func(c *Config, v string) (err error) { c.Admission.MaxWorkers, err = strconv.Atoi(v); return err }},
	{"ADMISSION_SCALE_IN_COOLDOWN", "5m", "How long the desired worker count stands before it may drop.",
		func(c *Config, v string) (err error) {
			c.Admission.ScaleInCooldown, err = time.ParseDuration(v)
			return err
		}},
	{"SECRETS_KEYS", "(required; a fixed dev key in the dev stack)", "Comma-separated Fernet keys from `rd admin secrets-key generate` that encrypt secrets at rest (webhook signing secrets, …); the first encrypts, all decrypt.",
		func(c *Config, v string) error { c.SecretsKeys = v; return nil }},
	{"WEBHOOK_ALLOW_PRIVATE", "false (true in the dev stack)", "Let webhook endpoints be loopback or private addresses; never in production.",
		func(c *Config, v string) (err error) { c.Webhook.AllowPrivate, err = strconv.ParseBool(v); return err }},
	{"WEBHOOK_SCHEDULE", "0s,5s,5m,30m,2h,5h,10h,10h", "Wait before each webhook attempt; the count of entries is the number of attempts before a dead letter. Shorten only for tests.",
		func(c *Config, v string) (err error) { c.Webhook.Schedule, err = webhook.ParseSchedule(v); return err }},
	{"WORKER_QUEUES", "admission,maintenance,webhook-delivery", "Comma-separated task queues `rd worker` polls (its --queues flag wins).",
		func(c *Config, v string) error { c.Worker.Queues = SplitList(v); return nil }},
}

// Defaults that differ from the packages' own zero-value defaults because
// they name this deployment rather than a library choice.
const (
	defaultDatabaseURL = "postgres://postgres:postgres@127.0.0.1:5432/rd?sslmode=disable"
	defaultRedisURL    = "redis://127.0.0.1:6379/0"
	defaultBucket      = "rd-dev"
)

// Load reads the environment through getenv. An unparsable value is an error
// naming the variable; unset variables keep their defaults.
func Load(getenv func(string) string) (Config, error) {
	cfg := Config{
		Log:      logging.Config{Format: "json", Level: slog.LevelInfo},
		Store:    store.Config{DatabaseURL: defaultDatabaseURL},
		RedisURL: defaultRedisURL,
		Blob:     blob.Config{Bucket: defaultBucket},
	}
	for _, v := range EnvVars {
		val := strings.TrimSpace(getenv(v.Name))
		if val == "" {
			continue
		}
		if err := v.apply(&cfg, val); err != nil {
			return Config{}, fmt.Errorf("config: %s%s: %w", v.Name, shownValue(v.Name, val), err)
		}
	}
	return cfg, nil
}

// SplitList splits a comma-separated list, dropping blanks.
func SplitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
