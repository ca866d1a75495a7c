package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Store sentinels. Query functions return errors that wrap one of these (test
// with errors.Is) together with the driver error, so the PostgreSQL detail
// stays in logs while callers branch on the sentinel.
var (
	// ErrNotFound means the row asked for does not exist (or is soft-deleted
	// or revoked, where a function's doc says so).
	ErrNotFound = errors.New("store: not found")

	// ErrConflict means the write collides with an existing row: a unique
	// or exclusion constraint refused it. ConstraintName tells which one.
	ErrConflict = errors.New("store: conflict")

	// ErrInvalid means the schema refused the values: a CHECK (for example an
	// unknown enum value), NOT NULL or foreign key constraint, or a value
	// PostgreSQL cannot parse or store. ConstraintName tells which one, when
	// a constraint did.
	ErrInvalid = errors.New("store: invalid")
)

// SQLSTATE codes interpretError maps; see the PostgreSQL manual, appendix A.
const (
	codeUniqueViolation     = "23505"
	codeExclusionViolation  = "23P01"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
	codeNotNullViolation    = "23502"
	classDataException      = "22"
)

// interpretError translates driver errors into store sentinels. It is the one
// place that knows pgx and SQLSTATE codes (River's interpretError): every
// query function passes its error through here. Errors it does not recognise
// (lost connections, cancelled contexts, syntax errors) come back unchanged.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch {
	case pgErr.Code == codeUniqueViolation, pgErr.Code == codeExclusionViolation:
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case pgErr.Code == codeForeignKeyViolation,
		pgErr.Code == codeCheckViolation,
		pgErr.Code == codeNotNullViolation,
		strings.HasPrefix(pgErr.Code, classDataException):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}

// ConstraintName returns the name of the constraint or index that refused a
// write, or "" when err did not come from a constraint. Services use it to
// turn an ErrConflict into a precise domain error (a duplicate prefix rather
// than any duplicate).
func ConstraintName(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.ConstraintName
	}
	return ""
}

// requireOneRow turns an UPDATE that matched nothing into ErrNotFound.
func requireOneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
