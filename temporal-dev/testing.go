package temporaldev

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

var shared struct {
	once   sync.Once
	server *Server
	err    error
}

// Shared returns the one in-memory server of this test binary, starting it on
// first use. Starting a server per test would multiply start-up time and
// memory; tests isolate themselves by task queue and workflow ID instead. The
// server lives until the test binary exits.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.once.Do(func() { shared.server, shared.err = Start(Config{}) })
	if shared.err != nil {
		tb.Fatalf("start embedded Temporal server: %v", shared.err)
	}
	return shared.server
}

// NewClient dials the server for a test and closes the client when it ends.
func (s *Server) NewClient(tb testing.TB) client.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:                s.FrontendAddr(),
		Namespace:               "default",
		WorkerHeartbeatInterval: time.Second,
	})
	if err != nil {
		tb.Fatalf("dial embedded Temporal server: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}
