package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/signing"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

type apiClient struct {
	base string
	key  string
}

func (c apiClient) post(t *testing.T, path string, body map[string]any) (int, map[string]any) {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		req.Header.Set("X-API-Key", c.key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func newKey(t *testing.T, st *store.Store, env store.Environment) string {
	t.Helper()
	k, err := (&service.Integrators{Store: st}).CreateAPIKey(context.Background(), "e2e "+string(env), "rm", env)
	require.NoError(t, err)
	return k.Plain
}

// Scrapes end to end through the real API, admission lane, Temporal server,
// sandbox publisher and S3 server: never more in flight than the gate, every
// job finishes, and every batch downloads with the counts and hashes the API
// reports.
func TestScrapeEndToEnd(t *testing.T) {
	env := devEnvFor(t)
	env["DEV_SANDBOX_ADDR"] = freeAddr(t)
	env["ADMISSION_PER_TASK_CONCURRENCY"] = "8"
	env["ADMISSION_TICK_INTERVAL"] = "300ms"
	startStack(t, env)
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DatabaseURL: env["DATABASE_URL"]})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	base := "http://" + env["API_ADDR"]
	prod := apiClient{base: base, key: newKey(t, st, store.EnvironmentProduction)}
	test := apiClient{base: base, key: newKey(t, st, store.EnvironmentTest)}

	t.Run("bad input gets the envelope", func(t *testing.T) {
		code, body := apiClient{base: base, key: "rd_live_nope"}.post(t, "/request-reviews", map[string]any{})
		require.Equal(t, http.StatusUnauthorized, code)
		require.Equal(t, "INVALID_API_KEY", body["meta"].(map[string]any)["error_code"])
		code, body = prod.post(t, "/request-reviews", map[string]any{"foreign_key": "x", "external_location_id": "l",
			"publisher_key": "no-such-publisher", "url": "http://example.test/"})
		require.Equal(t, http.StatusUnprocessableEntity, code)
		require.Equal(t, "UNKNOWN_PUBLISHER", body["meta"].(map[string]any)["error_code"])
	})

	receiver := newWebhookReceiver(t)
	for _, c := range []apiClient{prod, test} {
		code, body := c.post(t, "/webhooks/endpoints", map[string]any{"url": receiver.url, "event_types": []string{"DATA_RESULT"}})
		require.Equal(t, http.StatusCreated, code, "%v", body)
		receiver.addSecret(body["secret"].(string))
	}

	var taskIDs []string
	submit := func(c apiClient, i int) {
		code, body := c.post(t, "/request-reviews", map[string]any{
			"foreign_key": fmt.Sprintf("fk-%d", i), "external_location_id": fmt.Sprintf("loc-%d", i%5),
			"publisher_key": "sandbox", "url": fmt.Sprintf("http://%s/biz/acme-%d", env["DEV_SANDBOX_ADDR"], 20+i),
		})
		require.Equal(t, http.StatusAccepted, code, "%v", body)
		taskIDs = append(taskIDs, body["task_id"].(string))
	}
	var peak atomic.Int64
	stopSampling := sampleInFlight(t, st, &peak)
	for i := range 30 {
		if i%3 == 0 {
			submit(test, i)
		} else {
			submit(prod, i)
		}
	}

	t.Run("a repeat within ten minutes returns the first task", func(t *testing.T) {
		code, body := prod.post(t, "/request-reviews", map[string]any{"foreign_key": "fk-1", "external_location_id": "loc-1",
			"publisher_key": "sandbox", "url": fmt.Sprintf("http://%s/biz/acme-21", env["DEV_SANDBOX_ADDR"])})
		require.Equal(t, http.StatusAccepted, code)
		require.Equal(t, taskIDs[1], body["task_id"])
		require.Equal(t, true, body["duplicate"])
	})

	waitAllFinished(t, st, 3*time.Minute)
	stopSampling()
	require.LessOrEqual(t, peak.Load(), int64(8), "never more in flight than the gate")
	require.Positive(t, peak.Load())

	for i, id := range taskIDs {
		task := retrieveAll(t, prod, test, i, id)
		require.Equal(t, "COMPLETED", task["status"], "task %s: %v", id, task)
		require.EqualValues(t, 20+i, task["review_count"])
	}

	t.Run("each task's DATA_RESULT reaches the subscribed receiver, signed", func(t *testing.T) {
		got := receiver.waitFor(t, len(taskIDs), time.Minute)
		for i, id := range taskIDs {
			data, ok := got[id]
			require.True(t, ok, "no DATA_RESULT for task %s", id)
			require.Equal(t, "COMPLETED", data["status"])
			require.EqualValues(t, 20+i, data["review_count"])
			require.Equal(t, fmt.Sprintf("fk-%d", i), data["foreign_key"])
		}
	})
}

// webhookReceiver is an integrator's endpoint: it verifies every delivery
// with the exported Standard Webhooks check and keeps DATA_RESULT payloads
// by task_id.
type webhookReceiver struct {
	url     string
	mu      sync.Mutex
	secrets []string
	got     map[string]map[string]any
	bad     int
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	r := &webhookReceiver{got: map[string]map[string]any{}}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/rd"
	return r
}

func (r *webhookReceiver) addSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = append(r.secrets, s)
}

func (r *webhookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if signing.Verify(r.secrets, req.Header, body, time.Minute) != nil {
		r.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var event struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	if json.Unmarshal(body, &event) == nil && event.Type == "DATA_RESULT" {
		r.got[event.Data["task_id"].(string)] = event.Data
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *webhookReceiver) waitFor(t *testing.T, n int, within time.Duration) map[string]map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		count, bad := len(r.got), r.bad
		r.mu.Unlock()
		require.Zero(t, bad, "a delivery failed signature verification")
		if count >= n {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.got)
}

// sampleInFlight records the peak number of jobs in flight until stopped.
func sampleInFlight(t *testing.T, st *store.Store, peak *atomic.Int64) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			c, err := store.CountInFlight(context.Background(), st.DB)
			if err == nil && int64(c.Total) > peak.Load() {
				peak.Store(int64(c.Total))
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func waitAllFinished(t *testing.T, st *store.Store, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var open int
		err := st.DB.NewRaw("SELECT count(*) FROM scrape_jobs WHERE status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')").Scan(context.Background(), &open)
		require.NoError(t, err)
		if open == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("scrape jobs still open after %s", within)
}

// retrieveAll pages through a task's batches two at a time, downloading
// each and checking its lines and hash against what the API reports.
func retrieveAll(t *testing.T, prod, test apiClient, i int, taskID string) map[string]any {
	t.Helper()
	c := prod
	if i%3 == 0 {
		c = test
	}
	cursor, reviews := "", 0
	var task map[string]any
	for {
		code, body := c.post(t, "/retrieve-task", map[string]any{"task_id": taskID, "page_size": 1, "cursor": cursor})
		require.Equal(t, http.StatusOK, code, "%v", body)
		task = body["task"].(map[string]any)
		for _, b := range task["batches"].([]any) {
			reviews += checkBatch(t, b.(map[string]any))
		}
		next, _ := task["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	require.EqualValues(t, task["review_count"], reviews, "batches add up to the task's reviews")
	return task
}

func checkBatch(t *testing.T, b map[string]any) int {
	t.Helper()
	resp, err := http.Get(b["url"].(string))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "batch %v downloads", b["url"])
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	sum := sha256.Sum256(raw)
	require.Equal(t, b["sha256"], hex.EncodeToString(sum[:]))
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var review map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &review))
		require.NotEmpty(t, review["review_id"])
		lines++
	}
	require.EqualValues(t, b["review_count"], lines)
	return lines
}

// Issue 5's fairness run: 300 jobs (200 of one publisher, 100 across ten
// others, both tiers) through a gate of 20. Never more than 20 in flight;
// no tier-1000 job admitted while a tier-100 job waited; no flood job
// admitted while a minority publisher's first job waited; all finish.
func TestScrapeFairnessEndToEnd(t *testing.T) {
	env := devEnvFor(t)
	env["DEV_SANDBOX_ADDR"] = freeAddr(t)
	env["ADMISSION_PER_TASK_CONCURRENCY"] = "20"
	env["ADMISSION_TICK_INTERVAL"] = "200ms"
	startStack(t, env)
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DatabaseURL: env["DATABASE_URL"]})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	for i := range 10 {
		require.NoError(t, store.UpsertPublisherConfiguration(ctx, st.DB, &store.PublisherConfiguration{
			PublisherKey: fmt.Sprintf("minor-%d", i), DisplayName: "minor", ScraperEngine: "SAU", AuthType: "CREDENTIALS",
			TaskQueue: "scrape-sandbox", Active: true,
		}))
	}
	base := "http://" + env["API_ADDR"]
	keys := map[int]apiClient{
		100:  {base: base, key: newKey(t, st, store.EnvironmentProduction)},
		1000: {base: base, key: newKey(t, st, store.EnvironmentTest)},
	}
	submit := func(tier int, publisher string, i int) {
		code, body := keys[tier].post(t, "/request-reviews", map[string]any{
			"foreign_key": fmt.Sprintf("%s-%d", publisher, i), "external_location_id": "loc",
			"publisher_key": publisher, "url": fmt.Sprintf("http://%s/biz/acme-%d", env["DEV_SANDBOX_ADDR"], 3+i%5),
		})
		require.Equal(t, http.StatusAccepted, code, "%v", body)
	}
	var peak atomic.Int64
	stopSampling := sampleInFlight(t, st, &peak)
	for i := range 200 {
		submit([]int{100, 1000}[i%2], "sandbox", i)
	}
	for i := range 100 {
		submit([]int{100, 1000}[i%2], fmt.Sprintf("minor-%d", i%10), i)
	}
	waitAllFinished(t, st, 4*time.Minute)
	stopSampling()

	require.LessOrEqual(t, peak.Load(), int64(20), "never more in flight than the gate")
	var completed int
	require.NoError(t, st.DB.NewRaw("SELECT count(*) FROM scrape_jobs WHERE status = 'COMPLETED'").Scan(ctx, &completed))
	require.Equal(t, 300, completed)
	// A job waits from its commit, but submitted_at is its transaction's
	// start: a submit racing a tick can look "waiting" to this check while
	// still invisible to admission. A second of margin keeps the check to
	// jobs that were surely committed when the tick read the backlog.
	require.Zero(t, countViolations(t, st, `
		SELECT count(*) FROM scrape_jobs j JOIN scrape_jobs k
		  ON k.priority = 100 AND j.priority = 1000
		 AND k.submitted_at < j.admitted_at - interval '1 second' AND k.admitted_at > j.admitted_at`),
		"a tier-1000 job was admitted while a tier-100 job waited")
	require.Zero(t, countViolations(t, st, `
		WITH firsts AS (
			SELECT DISTINCT ON (publisher_key) * FROM scrape_jobs
			 WHERE publisher_key LIKE 'minor-%' ORDER BY publisher_key, submitted_at)
		SELECT count(*) FROM firsts m JOIN scrape_jobs f
		  ON f.publisher_key = 'sandbox' AND f.priority = m.priority
		 AND f.admitted_at > m.submitted_at + interval '1 second' AND f.admitted_at < m.admitted_at`),
		"the flooding publisher took a slot a minority publisher's first job was waiting for")
}

func countViolations(t *testing.T, st *store.Store, query string) int {
	t.Helper()
	var n int
	require.NoError(t, st.DB.NewRaw(query).Scan(context.Background(), &n))
	return n
}
