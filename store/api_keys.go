package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Environment is the integrator environment an API key belongs to. It fixes
// the key's scrape priority, and the api_keys table refuses any other value.
type Environment string

// The environments an API key can belong to.
const (
	EnvironmentProduction Environment = "production"
	EnvironmentTest       Environment = "test"
)

// Scrape priorities by environment: lower is dispatched sooner, so the whole
// production tier drains before any test-tier job gets a slot.
const (
	ScrapePriorityProduction = 100
	ScrapePriorityTest       = 1000
)

// ScrapePriority returns the scrape priority of keys in e:
// ScrapePriorityProduction or ScrapePriorityTest, and 0 for an unknown
// environment (which the database refuses anyway).
func (e Environment) ScrapePriority() int {
	switch e {
	case EnvironmentProduction:
		return ScrapePriorityProduction
	case EnvironmentTest:
		return ScrapePriorityTest
	}
	return 0
}

// APIKey is a row of api_keys: an integrator's credential. The secret itself
// is never stored: only its public prefix, used to find the row, and the
// SHA-256 of the whole key, compared in constant time by the caller.
type APIKey struct {
	bun.BaseModel `bun:"table:api_keys"`

	// ID identifies the key; InsertAPIKey makes a UUIDv7 when it is zero.
	ID uuid.UUID `bun:"id,pk,type:uuid"`
	// Prefix is the key's public leading part, unique over all keys ever
	// issued (revoked ones included), so a prefix never points at two hashes.
	Prefix string `bun:"prefix"`
	// KeyHash is the SHA-256 of the full key: exactly 32 bytes.
	KeyHash []byte `bun:"key_hash,type:bytea"`
	// Name is a human label, like "RM production".
	Name string `bun:"name"`
	// Integrator names the platform the key belongs to.
	Integrator string `bun:"integrator"`
	// Environment is production or test.
	Environment Environment `bun:"environment"`
	// ScrapePriority must match Environment (100 or 1000); InsertAPIKey
	// fills it from Environment when it is zero.
	ScrapePriority int `bun:"scrape_priority"`
	// CreatedAt is set by the database on insert.
	CreatedAt time.Time `bun:"created_at,nullzero"`
	// RevokedAt is when the key stopped authenticating; nil while active.
	RevokedAt *time.Time `bun:"revoked_at"`
	// RateLimitPerMinute overrides the deployment's default request rate
	// for this key; nil uses the default.
	RateLimitPerMinute *int `bun:"rate_limit_per_minute"`
}

// InsertAPIKey inserts key and fills in the ID, ScrapePriority and CreatedAt
// the row got.
//
// It returns an error wrapping ErrConflict when the prefix (constraint
// api_keys_prefix_key) or the ID is taken, and ErrInvalid when the
// environment is unknown, the priority does not match it, the hash is not 32
// bytes, or a text field is empty.
func InsertAPIKey(ctx context.Context, db bun.IDB, key *APIKey) error {
	if key.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("store: insert api key: %w", err)
		}
		key.ID = id
	}
	if key.ScrapePriority == 0 {
		key.ScrapePriority = key.Environment.ScrapePriority()
	}
	if _, err := db.NewInsert().Model(key).Returning("*").Exec(ctx); err != nil {
		return fmt.Errorf("store: insert api key: %w", interpretError(err))
	}
	return nil
}

// FindAPIKeyByPrefix returns the active (not revoked) key with prefix. The
// caller still has to compare the presented key's hash with KeyHash.
//
// It returns an error wrapping ErrNotFound when no active key has the prefix;
// a revoked key is not found, so authentication cannot tell it from a typo.
func FindAPIKeyByPrefix(ctx context.Context, db bun.IDB, prefix string) (*APIKey, error) {
	key := new(APIKey)
	err := db.NewSelect().Model(key).
		Where("prefix = ?", prefix).
		Where("revoked_at IS NULL"). // lets the planner use api_keys_active_prefix_idx
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: find api key by prefix: %w", interpretError(err))
	}
	return key, nil
}

// RevokeAPIKey stops the key with id from authenticating as of at, and
// returns the key as stored. Revoking a revoked key keeps the first
// revocation time and succeeds, so retries are safe.
//
// It returns an error wrapping ErrNotFound when no key has that id.
func RevokeAPIKey(ctx context.Context, db bun.IDB, id uuid.UUID, at time.Time) (*APIKey, error) {
	key := new(APIKey)
	res, err := db.NewUpdate().Model(key).
		Set("revoked_at = COALESCE(revoked_at, ?)", at).
		Where("id = ?", id).
		Returning("*").
		Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: revoke api key: %w", interpretError(err))
	}
	if err := requireOneRow(res); err != nil {
		return nil, fmt.Errorf("store: revoke api key %s: %w", id, err)
	}
	return key, nil
}
