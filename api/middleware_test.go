package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	b := setup(t, Config{})

	for _, tt := range []struct {
		name     string
		incoming string
		kept     bool
	}{
		{"UUID", "0190b6f4-3c9e-7cc1-9d3a-2b6f1c0e8a11", true},
		{"token", "trace.ABC_123-x", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"absent", "", false},
		{"300 characters", strings.Repeat("a", 300), false},
		{"65 characters", strings.Repeat("a", 65), false},
		{"space", "abc def", false},
		{"slash", "abc/def", false},
		{"non-ASCII", "abcé", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			header := http.Header{}
			if tt.incoming != "" {
				header.Set(RequestIDHeader, tt.incoming)
			}

			resp, _ := b.do(t, http.MethodGet, "/things/42", "", header)

			require.Equal(t, http.StatusOK, resp.StatusCode)
			got := resp.Header.Get(RequestIDHeader)
			if tt.kept {
				require.Equal(t, tt.incoming, got)
			} else {
				parsed, err := uuid.Parse(got)
				require.NoError(t, err, "a replaced ID is a fresh UUID")
				require.Equal(t, uuid.Version(7), parsed.Version())
			}
			line := b.logLine(t, got, "http request")
			require.Equal(t, "INFO", line["level"])
			require.Equal(t, "GET", line["method"])
			require.Equal(t, "/things/42", line["path"])
			require.Equal(t, "/things/{id}", line["route"])
			require.Equal(t, float64(200), line["status"])
			require.IsType(t, float64(0), line["duration_ms"])
			require.Greater(t, line["bytes"], float64(0))
			require.NotContains(t, line, "error")
		})
	}
}

func TestValidRequestID(t *testing.T) {
	t.Parallel()

	require.True(t, validRequestID("a"))
	require.True(t, validRequestID(uuid.NewString()))
	require.False(t, validRequestID(""))
	require.False(t, validRequestID("line\nbreak"))
	require.False(t, validRequestID("tab\there"))
	require.False(t, validRequestID(`quote"`))
}
