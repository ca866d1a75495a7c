// Package redistest gives tests a real Redis connection, a key prefix of
// their own that is cleaned up afterwards, and a client that cannot connect.
//
// The server comes from TEST_REDIS_URL, else redis://127.0.0.1:6379/0. A test
// fails, never skips, when it is unreachable: a skipped Redis test passes CI
// while proving nothing.
package redistest

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Client connects to the test Redis and closes the client when tb ends.
func Client(tb testing.TB) *redis.Client {
	tb.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("TEST_REDIS_URL is not a Redis URL: %v", err)
	}
	client := redis.NewClient(opts)
	tb.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		// Addr and DB only: the URL may carry a password.
		tb.Fatalf("Redis is unreachable at %s (db %d): %v\n"+
			"Start it with `go tool task test` (or `go tool task services`), or set TEST_REDIS_URL.", opts.Addr, opts.DB, err)
	}
	return client
}

// Prefix returns a key prefix unique to tb, under which every key is
// deleted when tb ends, so tests sharing one Redis never see each other.
func Prefix(tb testing.TB, client *redis.Client) string {
	prefix := "rdtest:" + rand.Text() + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Logf("cleanup of %s*: %v", prefix, err)
		}
	})
	return prefix
}

// Unreachable returns a client for a local port nothing listens on, failing
// fast and without retries.
func Unreachable(tb testing.TB) *redis.Client {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: 500 * time.Millisecond})
	tb.Cleanup(func() { _ = client.Close() })
	return client
}
