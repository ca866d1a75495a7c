package api

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Config configures the HTTP API. The zero value is usable: every field has a
// default.
type Config struct {
	// Addr is the host:port the server listens on. Defaults to
	// "127.0.0.1:8080" (loopback, so that exposing the API is a deliberate
	// choice such as ":8080").
	Addr string
	// MaxBodyBytes caps every request body, chunked or not; a larger body is
	// answered 413 PAYLOAD_TOO_LARGE. Defaults to 1 MiB.
	MaxBodyBytes int64
	// ReadHeaderTimeout bounds reading the request headers (slowloris
	// protection). Defaults to 5s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the whole request, body included. Defaults
	// to 30s.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request headers to the
	// end of the response. Defaults to 30s.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for the next
	// request. Defaults to 120s.
	IdleTimeout time.Duration
	// ShutdownTimeout bounds how long Serve waits for in-flight requests when
	// its context is cancelled. Defaults to 15s.
	ShutdownTimeout time.Duration
	// CheckTimeout bounds each readiness check run by GET /readyz. Defaults
	// to 2s.
	CheckTimeout time.Duration
	// Version is the API version published in the OpenAPI document. Defaults
	// to "dev".
	Version string
}

// WithDefaults returns a copy of c with every zero field set to its default.
// It returns an error naming each invalid field and how to fix it.
func (c Config) WithDefaults() (Config, error) {
	c = c.applyDefaults()
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("api: Addr %q is not host:port (%v); use e.g. \"127.0.0.1:8080\" or \":8080\"", c.Addr, err))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("api: MaxBodyBytes is %d; use a positive byte count, or 0 for the 1 MiB default", c.MaxBodyBytes))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ReadHeaderTimeout", c.ReadHeaderTimeout},
		{"ReadTimeout", c.ReadTimeout},
		{"WriteTimeout", c.WriteTimeout},
		{"IdleTimeout", c.IdleTimeout},
		{"ShutdownTimeout", c.ShutdownTimeout},
		{"CheckTimeout", c.CheckTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("api: %s is %s; use a positive duration, or 0 for the default", d.name, d.v))
		}
	}
	return c, errors.Join(errs...)
}

// applyDefaults fills zero fields only; it never fails, which lets NewServer
// use it without an error return.
func (c Config) applyDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	setDefault(&c.ReadHeaderTimeout, 5*time.Second)
	setDefault(&c.ReadTimeout, 30*time.Second)
	setDefault(&c.WriteTimeout, 30*time.Second)
	setDefault(&c.IdleTimeout, 120*time.Second)
	setDefault(&c.ShutdownTimeout, 15*time.Second)
	setDefault(&c.CheckTimeout, 2*time.Second)
	if c.Version == "" {
		c.Version = "dev"
	}
	return c
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}
