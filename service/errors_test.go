package service_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/service"
)

func TestConstructors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		err    *service.Error
		status int
	}{
		{"NotFound", service.NotFound(service.CodeNotFound, "m"), http.StatusNotFound},
		{"Conflict", service.Conflict(service.CodeConflict, "m"), http.StatusConflict},
		{"Invalid", service.Invalid(service.CodeValidationFailed, "m"), http.StatusUnprocessableEntity},
		{"Unauthorized", service.Unauthorized(service.CodeUnauthorized, "m"), http.StatusUnauthorized},
		{"Forbidden", service.Forbidden(service.CodeForbidden, "m"), http.StatusForbidden},
		{"Unavailable", service.Unavailable(service.CodeUnavailable, "m"), http.StatusServiceUnavailable},
		{"RateLimited", service.RateLimited(service.CodeRateLimited, "m"), http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.status, tt.err.Status)
			require.Equal(t, "m", tt.err.Message)
			require.Nil(t, tt.err.Details)
			require.NoError(t, tt.err.Err)
		})
	}
}

func TestErrorMessageAndUnwrap(t *testing.T) {
	t.Parallel()

	cause := errors.New("unique violation")
	err := service.Conflict("DUPLICATE_LOCATION", "location already exists").WithErr(cause)

	require.Equal(t, "DUPLICATE_LOCATION: location already exists: unique violation", err.Error())
	require.ErrorIs(t, err, cause)
	require.Equal(t, "NOT_FOUND: gone", service.NotFound(service.CodeNotFound, "gone").Error())

	var target *service.Error
	require.ErrorAs(t, errors.Join(errors.New("other"), err), &target)
	require.Equal(t, "DUPLICATE_LOCATION", target.Code)
}

func TestWithDetailsCopies(t *testing.T) {
	t.Parallel()

	base := service.Conflict(service.CodeConflict, "taken").WithDetails(map[string]any{"a": 1})
	decorated := base.WithDetails(map[string]any{"b": 2, "a": 3})

	require.Equal(t, map[string]any{"a": 1}, base.Details, "the original must not change")
	require.Equal(t, map[string]any{"a": 3, "b": 2}, decorated.Details)
	require.Equal(t, base.Status, decorated.Status)
	require.Equal(t, base.Code, decorated.Code)
}
