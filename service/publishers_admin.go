package service

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/reviewdata/rd/store"
)

// PublisherAdmin manages publisher configurations, the routing brain per
// publisher_key, for admins.
type PublisherAdmin struct {
	// Store is the database. Required.
	Store *store.Store
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

var errPublisherNotFound = NotFound(CodeNotFound, "no live publisher configuration has this publisher_key")

// List returns every live configuration, ordered by publisher_key.
func (s *PublisherAdmin) List(ctx context.Context) ([]store.PublisherConfiguration, error) {
	return store.ListPublisherConfigurations(ctx, s.Store.DB)
}

// Get returns the live configuration of key, or a 404 NOT_FOUND *Error.
func (s *PublisherAdmin) Get(ctx context.Context, key string) (*store.PublisherConfiguration, error) {
	pc, err := store.GetPublisherConfiguration(ctx, s.Store.DB, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errPublisherNotFound.WithErr(err)
	}
	return pc, err
}

// Create stores pc as a new live configuration. It returns a 409
// DUPLICATE_PUBLISHER_KEY *Error when its key is already configured, and a
// 422 VALIDATION_FAILED *Error naming the constraint a field breaks.
func (s *PublisherAdmin) Create(ctx context.Context, pc *store.PublisherConfiguration) error {
	return s.write(ctx, pc.PublisherKey, func(ctx context.Context, tx bun.Tx) error {
		_, err := store.GetPublisherConfiguration(ctx, tx, pc.PublisherKey)
		if err == nil {
			return Conflict(CodeDuplicatePublisherKey, "publisher_key is already configured").
				WithDetails(map[string]any{"publisher_key": pc.PublisherKey})
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		pc.ID = uuid.Nil
		return store.UpsertPublisherConfiguration(ctx, tx, pc)
	})
}

// Update replaces every field of key's live configuration with pc's (key
// itself cannot change). It returns a 404 NOT_FOUND or 422
// VALIDATION_FAILED *Error.
func (s *PublisherAdmin) Update(ctx context.Context, key string, pc *store.PublisherConfiguration) error {
	return s.write(ctx, key, func(ctx context.Context, tx bun.Tx) error {
		if _, err := store.GetPublisherConfiguration(ctx, tx, key); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errPublisherNotFound.WithErr(err)
			}
			return err
		}
		pc.PublisherKey, pc.ID = key, uuid.Nil
		return store.UpsertPublisherConfiguration(ctx, tx, pc)
	})
}

// Delete soft-deletes key's live configuration on behalf of actor. It
// returns a 404 NOT_FOUND *Error when there is none.
func (s *PublisherAdmin) Delete(ctx context.Context, key string, actor uuid.UUID) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	// Under the key's lock, so that an Update that saw the row cannot
	// write it back live after the delete.
	return s.write(ctx, key, func(ctx context.Context, tx bun.Tx) error {
		err := store.SoftDeletePublisherConfiguration(ctx, tx, key, &actor, now())
		if errors.Is(err, store.ErrNotFound) {
			return errPublisherNotFound.WithErr(err)
		}
		return err
	})
}

// write runs fn in a transaction holding a lock on key, so that two
// concurrent creates of one key cannot both see it free and an update
// cannot resurrect a configuration deleted meanwhile, and maps schema
// refusals to 422.
func (s *PublisherAdmin) write(ctx context.Context, key string, fn func(context.Context, bun.Tx) error) error {
	err := s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('rd:publisher:' || ?))", key); err != nil {
			return err
		}
		return fn(ctx, tx)
	})
	if errors.Is(err, store.ErrInvalid) {
		return Invalid(CodeValidationFailed, "the configuration was refused: "+store.ConstraintName(err)).WithErr(err)
	}
	return err
}
