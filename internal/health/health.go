// Package health checks RD's dependencies (PostgreSQL, Redis, Temporal, S3)
// the same way wherever it is asked: the API's /readyz and the worker probe.
package health

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Check is one dependency and how to ping it.
type Check struct {
	// Name is what reports call the dependency, e.g. "postgres".
	Name string
	// Ping returns nil when the dependency answers. It should honour ctx's
	// deadline; Run reports a timeout either way.
	Ping func(ctx context.Context) error
}

// Result states.
const (
	StatusOK    = "ok"
	StatusError = "error"
)

// Result is the outcome of one Check.
type Result struct {
	Name      string  `json:"name"`
	Status    string  `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// Run pings every check concurrently, each bounded by timeout, so a report
// takes as long as the slowest check rather than their sum. Results keep the
// order of checks.
func Run(ctx context.Context, checks []Check, timeout time.Duration) []Result {
	results := make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { results[i] = run(ctx, c, timeout) })
	}
	wg.Wait()
	return results
}

// Failed names the checks that did not answer.
func Failed(results []Result) []string {
	var failed []string
	for _, r := range results {
		if r.Status != StatusOK {
			failed = append(failed, r.Name)
		}
	}
	return failed
}

func run(ctx context.Context, c Check, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := ping(ctx, c.Ping)
	r := Result{Name: c.Name, Status: StatusOK, LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", timeout)
		}
		r.Status, r.Error = StatusError, err.Error()
	}
	return r
}

// ping calls p but returns at ctx's deadline even if p ignores ctx, and turns
// a panic into an error: one misbehaving check must neither hang a report nor
// crash the process. A p that ignores ctx leaks its goroutine until it returns.
func ping(ctx context.Context, p func(context.Context) error) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("check panicked: %v", v)
			}
		}()
		done <- p(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
