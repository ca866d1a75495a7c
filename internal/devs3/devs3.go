// Package devs3 serves the S3 API on a local address for the dev stack and
// tests, backed by a file (or memory). RD's blob client talks to it through
// the real AWS SDK, unchanged; production points the same client at S3.
package devs3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	bolt "go.etcd.io/bbolt"
)

// Server is a running S3-compatible server.
type Server struct {
	http    *http.Server
	addr    string
	closeDB func() error
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves S3.
// With file set, objects persist in that bolt database; with "" they live in
// memory and vanish with the process.
func Start(addr, file string) (*Server, error) {
	backend, closeDB, err := newBackend(file)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = closeDB()
		return nil, fmt.Errorf("devs3: listen on %s: %w", addr, err)
	}
	faker := gofakes3.New(backend, gofakes3.WithAutoBucket(false))
	srv := &http.Server{Handler: faker.Server(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &Server{http: srv, addr: ln.Addr().String(), closeDB: closeDB}, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// URL is the endpoint to give the blob client.
func (s *Server) URL() string { return "http://" + s.addr }

// Stop closes the listener and the backing file, waiting for requests in
// flight until ctx ends.
func (s *Server) Stop(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	return errors.Join(err, s.closeDB())
}

func newBackend(file string) (gofakes3.Backend, func() error, error) {
	if file == "" {
		return s3mem.New(), func() error { return nil }, nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return nil, nil, fmt.Errorf("devs3: create folder for %s: %w", file, err)
	}
	// A timeout so a second dev stack on the same folder fails instead of
	// waiting forever for the file lock.
	db, err := bolt.Open(file, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, nil, fmt.Errorf("devs3: open %s (is another dev stack running?): %w", file, err)
	}
	return s3bolt.New(db), db.Close, nil
}
