package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/store"
)

func TestInterpretError(t *testing.T) {
	t.Parallel()

	pgErr := func(code string) error {
		return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, ConstraintName: "some_constraint"})
	}
	tests := []struct {
		name string
		err  error
		want error // nil: the error must come back unchanged
	}{
		{"SQLNoRows", sql.ErrNoRows, store.ErrNotFound},
		{"PgxNoRows", pgx.ErrNoRows, store.ErrNotFound},
		{"UniqueViolation", pgErr("23505"), store.ErrConflict},
		{"ExclusionViolation", pgErr("23P01"), store.ErrConflict},
		{"ForeignKeyViolation", pgErr("23503"), store.ErrInvalid},
		{"CheckViolation", pgErr("23514"), store.ErrInvalid},
		{"NotNullViolation", pgErr("23502"), store.ErrInvalid},
		{"InvalidTextRepresentation", pgErr("22P02"), store.ErrInvalid},
		{"StringTooLong", pgErr("22001"), store.ErrInvalid},
		{"SyntaxErrorUnchanged", pgErr("42601"), nil},
		{"SerializationFailureUnchanged", pgErr("40001"), nil},
		{"ContextCanceledUnchanged", context.Canceled, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := store.InterpretError(tt.err)
			if tt.want == nil {
				require.Equal(t, tt.err, got)
				return
			}
			require.ErrorIs(t, got, tt.want)
			// The driver error stays reachable for logs and ConstraintName.
			require.ErrorIs(t, got, tt.err)
		})
	}

	t.Run("Nil", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, store.InterpretError(nil))
	})
}

func TestConstraintName(t *testing.T) {
	t.Parallel()
	require.Equal(t, "api_keys_prefix_key",
		store.ConstraintName(fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "23505", ConstraintName: "api_keys_prefix_key"})))
	require.Empty(t, store.ConstraintName(errors.New("not from postgres")))
	require.Empty(t, store.ConstraintName(nil))
}

// TestErrorsFromRealServer checks the translation against what PostgreSQL and
// the driver really return, not just hand-built errors.
func TestErrorsFromRealServer(t *testing.T) {
	t.Parallel()

	t.Run("UniqueViolationIsConflict", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		key := newAPIKey(t)
		require.NoError(t, store.InsertAPIKey(bundle.ctx, bundle.tx, key))

		dup := newAPIKey(t)
		dup.Prefix = key.Prefix
		err := store.InsertAPIKey(bundle.ctx, bundle.tx, dup)
		require.ErrorIs(t, err, store.ErrConflict)
		require.Equal(t, "api_keys_prefix_key", store.ConstraintName(err))
	})

	t.Run("NoRowsIsNotFound", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		_, err := store.FindAPIKeyByPrefix(bundle.ctx, bundle.tx, "rd_nosuchkey")
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}
