package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// APIKeyFilter narrows ListAPIKeys. The zero value lists every active key.
type APIKeyFilter struct {
	// Integrator, when not empty, keeps only that integrator's keys.
	Integrator string
	// Prefix, when not empty, keeps only the key with that prefix (the
	// part of a key that logs and support tickets show).
	Prefix string
	// IncludeRevoked also lists revoked keys.
	IncludeRevoked bool
}

// ListAPIKeys returns the keys f selects, newest first; an empty slice when
// there are none.
func ListAPIKeys(ctx context.Context, db bun.IDB, f APIKeyFilter) ([]APIKey, error) {
	keys := []APIKey{}
	q := db.NewSelect().Model(&keys).Order("created_at DESC", "id DESC")
	if f.Integrator != "" {
		q = q.Where("integrator = ?", f.Integrator)
	}
	if f.Prefix != "" {
		q = q.Where("prefix = ?", f.Prefix)
	}
	if !f.IncludeRevoked {
		q = q.Where("revoked_at IS NULL")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", interpretError(err))
	}
	return keys, nil
}

// GetAPIKey returns the key with id, revoked or not.
//
// It returns an error wrapping ErrNotFound when no key has that id.
func GetAPIKey(ctx context.Context, db bun.IDB, id uuid.UUID) (*APIKey, error) {
	key := new(APIKey)
	if err := db.NewSelect().Model(key).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: get api key %s: %w", id, interpretError(err))
	}
	return key, nil
}

// SetAPIKeyRateLimit sets the per-minute rate limit override of the key with
// id (nil restores the default) and returns the key as stored.
//
// It returns an error wrapping ErrNotFound when no key has that id, and
// ErrInvalid when perMinute is outside 1..1,000,000.
func SetAPIKeyRateLimit(ctx context.Context, db bun.IDB, id uuid.UUID, perMinute *int) (*APIKey, error) {
	key := new(APIKey)
	res, err := db.NewUpdate().Model(key).
		Set("rate_limit_per_minute = ?", perMinute).
		Where("id = ?", id).
		Returning("*").
		Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: set rate limit of api key %s: %w", id, interpretError(err))
	}
	if err := requireOneRow(res); err != nil {
		return nil, fmt.Errorf("store: set rate limit of api key %s: %w", id, err)
	}
	return key, nil
}
