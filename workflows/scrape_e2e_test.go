package workflows_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/blob"
	"github.com/reviewdata/rd/internal/devs3"
	"github.com/reviewdata/rd/internal/netguard"
	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/internal/publisher/sandbox"
	"github.com/reviewdata/rd/internal/temporalx"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/store"
	temporaldev "github.com/reviewdata/rd/temporal-dev"
	"github.com/reviewdata/rd/worker"
	"github.com/reviewdata/rd/workflows"
)

// e2e is a scrape worker on the real embedded Temporal server, over a fresh
// database, an in-memory S3 server and a sandbox publisher on real HTTP.
type e2e struct {
	ctx        context.Context
	st         *store.Store
	blob       *blob.Store
	client     client.Client
	queue      string
	sandboxURL string
}

func setupE2E(t *testing.T) *e2e {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	st := pgtest.NewStore(t)
	s3, err := devs3.Start("127.0.0.1:0", "")
	require.NoError(t, err)
	t.Cleanup(func() { _ = s3.Stop(context.Background()) })
	bl, err := blob.New(blob.Config{Bucket: "rd-e2e", Endpoint: s3.URL(), AccessKeyID: "k", SecretAccessKey: "s"})
	require.NoError(t, err)
	require.NoError(t, bl.EnsureBucket(ctx))
	pub := httptest.NewServer(sandbox.NewHandler())
	t.Cleanup(pub.Close)
	drivers, err := activities.DefaultDrivers(netguard.NewClient(netguard.Config{AllowPrivate: true, Timeout: 10 * time.Second}))
	require.NoError(t, err)

	c := temporaldev.Shared(t).NewClient(t)
	e := &e2e{ctx: ctx, st: st, blob: bl, client: c, queue: "scrape-e2e-" + randomHex(4), sandboxURL: pub.URL}
	e.runWorkers(t, &activities.ScrapeActivities{Store: st, Blob: bl, Drivers: drivers, BatchSize: 50})
	return e
}

// runWorkers serves the publisher's queue and scraping-browser through
// worker.Run, as `rd worker` does, and EmitWebhook on webhook-delivery.
// With no endpoint subscribed, emitting only records the event.
func (e *e2e) runWorkers(t *testing.T, acts *activities.ScrapeActivities) {
	t.Helper()
	hooks := sdkworker.New(e.client, temporalx.QueueWebhookDelivery, sdkworker.Options{})
	hooks.RegisterActivity(&activities.WebhookActivities{Store: e.st})
	require.NoError(t, hooks.Start())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- worker.Run(ctx, e.client, worker.Config{Queues: []string{e.queue, temporalx.QueueScrapingBrowser}}, worker.Deps{Scrape: acts})
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		hooks.Stop()
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// queuedJob inserts a QUEUED job (as admission leaves it) scraping path.
func (e *e2e) queuedJob(t *testing.T, path string, browser bool) *store.ScrapeJob {
	t.Helper()
	token := randomHex(4)
	hash := sha256.Sum256([]byte(token))
	key := &store.APIKey{Prefix: "rd_" + token, KeyHash: hash[:], Name: "e2e", Integrator: "rm", Environment: store.EnvironmentProduction}
	require.NoError(t, store.InsertAPIKey(e.ctx, e.st.DB, key))
	loc, err := store.UpsertLocation(e.ctx, e.st.DB, "rm", "loc-"+token)
	require.NoError(t, err)
	site, err := store.UpsertSite(e.ctx, e.st.DB, loc.ID, "sandbox", e.sandboxURL+path)
	require.NoError(t, err)
	job := &store.ScrapeJob{
		TaskID: uuid.Must(uuid.NewV7()), RequestID: "req-" + token, APIKeyID: key.ID, Integrator: "rm",
		ForeignKey: "fk-" + token, LocationID: loc.ID, SiteID: site.ID, PublisherKey: "sandbox", URL: site.URL,
		Priority: 100, BrowserBacked: browser, TaskQueue: e.queue, Status: store.ScrapeQueued,
	}
	require.NoError(t, store.InsertScrapeJob(e.ctx, e.st.DB, job))
	return job
}

// run starts the job's workflow as admission does and waits for its result.
func (e *e2e) run(t *testing.T, job *store.ScrapeJob) workflows.ScrapeResult {
	t.Helper()
	run, err := e.client.ExecuteWorkflow(e.ctx, client.StartWorkflowOptions{
		ID: workflows.ScrapeWorkflowID(job.TaskID.String()), TaskQueue: job.TaskQueue,
	}, workflows.ScrapeWorkflowName, workflows.ScrapeInput{TaskID: job.TaskID.String()})
	require.NoError(t, err)
	var res workflows.ScrapeResult
	require.NoError(t, run.Get(e.ctx, &res))
	return res
}

// scrapeQueue returns the task queue ScrapeReviews was scheduled on.
func (e *e2e) scrapeQueue(t *testing.T, job *store.ScrapeJob) string {
	t.Helper()
	iter := e.client.GetWorkflowHistory(e.ctx, workflows.ScrapeWorkflowID(job.TaskID.String()), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskScheduledEventAttributes(); a.GetActivityType().GetName() == activities.ScrapeReviewsName {
			return a.GetTaskQueue().GetName()
		}
	}
	t.Fatalf("no %s activity in the history", activities.ScrapeReviewsName)
	return ""
}

// A QUEUED job runs to COMPLETED on the real server: batches of 50, 50 and
// 20 in S3 matching their rows, a DATA_RESULT event recorded with the batch
// URLs, and a browser-backed job's scrape routed to scraping-browser.
func TestScrapeWorkflowEndToEnd(t *testing.T) {
	e := setupE2E(t)
	job := e.queuedJob(t, "/biz/acme-120", false)

	res := e.run(t, job)
	require.Equal(t, workflows.ScrapeResult{TaskID: job.TaskID.String(), Status: store.ScrapeCompleted, ReviewCount: 120, Batches: 3}, res)
	row, err := store.GetScrapeJob(e.ctx, e.st.DB, job.TaskID)
	require.NoError(t, err)
	require.Equal(t, store.ScrapeCompleted, row.Status)
	require.Equal(t, 120, row.ReviewCount)
	require.NotNil(t, row.StartedAt)
	require.NotNil(t, row.FinishedAt)

	batches, err := store.ListScrapeBatches(e.ctx, e.st.DB, job.TaskID, 0, 10)
	require.NoError(t, err)
	require.Len(t, batches, 3)
	for i, b := range batches {
		require.Equal(t, []int{50, 50, 20}[i], b.ReviewCount)
		body, err := e.blob.Get(e.ctx, b.S3Key)
		require.NoError(t, err)
		sum := sha256.Sum256(body)
		require.Equal(t, hex.EncodeToString(sum[:]), b.SHA256)
	}
	require.Equal(t, e.queue, e.scrapeQueue(t, job), "an HTTP publisher scrapes on its own queue")

	var ev store.WebhookEvent
	require.NoError(t, e.st.DB.NewSelect().Model(&ev).
		Where("type = ?", webhook.EventDataResult).Where("subject_id = ?", job.TaskID.String()).Scan(e.ctx))
	var data webhook.DataResult
	require.NoError(t, json.Unmarshal(ev.Payload, &data))
	require.Equal(t, "COMPLETED", data.Status)
	require.Equal(t, 120, data.ReviewCount)
	require.Len(t, data.Batches, 3)
	require.Equal(t, batches[2].URL, data.Batches[2].URL)

	browser := e.queuedJob(t, "/biz/acme-30", true)
	require.Equal(t, store.ScrapeCompleted, e.run(t, browser).Status)
	require.Equal(t, temporalx.QueueScrapingBrowser, e.scrapeQueue(t, browser))
}
