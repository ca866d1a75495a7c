package activities_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/blob"
	"github.com/reviewdata/rd/internal/devs3"
	"github.com/reviewdata/rd/internal/netguard"
	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/internal/publisher"
	"github.com/reviewdata/rd/internal/publisher/sandbox"
	"github.com/reviewdata/rd/store"
)

// scrapeBundle is the scrape activities over real dependencies: a fresh
// PostgreSQL database, an in-memory S3 server and a sandbox publisher served
// over real HTTP, fetched through the netguard client the worker uses.
type scrapeBundle struct {
	ctx        context.Context
	acts       *activities.ScrapeActivities
	env        *testsuite.TestActivityEnvironment
	sandboxURL string
}

func setupScrape(t *testing.T, batchSize int) *scrapeBundle {
	t.Helper()
	st := pgtest.NewStore(t)
	s3, err := devs3.Start("127.0.0.1:0", "")
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s3.Stop(ctx)
	})
	bl, err := blob.New(blob.Config{Bucket: "rd-scrape-test", Endpoint: s3.URL(), AccessKeyID: "k", SecretAccessKey: "s"})
	require.NoError(t, err)
	require.NoError(t, bl.EnsureBucket(t.Context()))
	pub := httptest.NewServer(sandbox.NewHandler())
	t.Cleanup(pub.Close)
	drivers, err := activities.DefaultDrivers(netguard.NewClient(netguard.Config{AllowPrivate: true, Timeout: 5 * time.Second}))
	require.NoError(t, err)

	acts := &activities.ScrapeActivities{Store: st, Blob: bl, Drivers: drivers, BatchSize: batchSize}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return &scrapeBundle{ctx: t.Context(), acts: acts, env: env, sandboxURL: pub.URL}
}

// newJob inserts a job for publisherKey scraping path on the sandbox.
func (b *scrapeBundle) newJob(t *testing.T, publisherKey, path string, status store.ScrapeStatus) *store.ScrapeJob {
	t.Helper()
	db := b.acts.Store.DB
	token := make([]byte, 4)
	_, _ = rand.Read(token)
	hash := sha256.Sum256(token)
	key := &store.APIKey{Prefix: "rd_" + hex.EncodeToString(token), KeyHash: hash[:], Name: "test", Integrator: "rm", Environment: store.EnvironmentProduction}
	require.NoError(t, store.InsertAPIKey(b.ctx, db, key))
	loc, err := store.UpsertLocation(b.ctx, db, "rm", "loc-"+hex.EncodeToString(token))
	require.NoError(t, err)
	site, err := store.UpsertSite(b.ctx, db, loc.ID, publisherKey, b.sandboxURL+path)
	require.NoError(t, err)
	job := &store.ScrapeJob{
		TaskID: uuid.Must(uuid.NewV7()), RequestID: "req-" + hex.EncodeToString(token), APIKeyID: key.ID,
		Integrator: "rm", ForeignKey: "fk-" + hex.EncodeToString(token), LocationID: loc.ID, SiteID: site.ID,
		PublisherKey: publisherKey, URL: site.URL, Priority: 100, TaskQueue: "scrape-" + publisherKey, Status: status,
	}
	require.NoError(t, store.InsertScrapeJob(b.ctx, db, job))
	return job
}

func task(job *store.ScrapeJob) activities.ScrapeTask {
	return activities.ScrapeTask{TaskID: job.TaskID.String()}
}

func (b *scrapeBundle) start(t *testing.T, job *store.ScrapeJob) (activities.ScrapeStart, error) {
	t.Helper()
	val, err := b.env.ExecuteActivity(b.acts.StartScrape, task(job))
	if err != nil {
		return activities.ScrapeStart{}, err
	}
	var out activities.ScrapeStart
	require.NoError(t, val.Get(&out))
	return out, nil
}

func (b *scrapeBundle) scrape(t *testing.T, job *store.ScrapeJob) (activities.ScrapeProgress, error) {
	t.Helper()
	val, err := b.env.ExecuteActivity(b.acts.ScrapeReviews, task(job))
	if err != nil {
		return activities.ScrapeProgress{}, err
	}
	var out activities.ScrapeProgress
	require.NoError(t, val.Get(&out))
	return out, nil
}

func (b *scrapeBundle) finish(t *testing.T, in activities.ScrapeFinish) activities.ScrapeOutcome {
	t.Helper()
	val, err := b.env.ExecuteActivity(b.acts.FinishScrape, in)
	require.NoError(t, err)
	var out activities.ScrapeOutcome
	require.NoError(t, val.Get(&out))
	return out
}

func (b *scrapeBundle) batches(t *testing.T, job *store.ScrapeJob) []store.ScrapeResultBatch {
	t.Helper()
	rows, err := store.ListScrapeBatches(b.ctx, b.acts.Store.DB, job.TaskID, 0, 1000)
	require.NoError(t, err)
	return rows
}

// requireBatchReadable checks one batch against its object in S3: the
// SHA-256 and review count of the row match the bytes, every line is a
// Review of the documented schema, and the public URL serves the same bytes.
func (b *scrapeBundle) requireBatchReadable(t *testing.T, row store.ScrapeResultBatch) []publisher.Review {
	t.Helper()
	body, err := b.acts.Blob.Get(b.ctx, row.S3Key)
	require.NoError(t, err)
	sum := sha256.Sum256(body)
	require.Equal(t, hex.EncodeToString(sum[:]), row.SHA256, "batch %d checksum", row.BatchNumber)
	var reviews []publisher.Review
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var r publisher.Review
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		require.NotEmpty(t, r.ReviewID)
		require.Equal(t, publisher.ContentHash(r), r.ContentHash)
		reviews = append(reviews, r)
	}
	require.NoError(t, sc.Err())
	require.Len(t, reviews, row.ReviewCount, "batch %d count", row.BatchNumber)

	resp, err := http.Get(row.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	downloaded, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, body, downloaded, "the public URL serves the batch")
	return reviews
}

// 120 reviews at batch size 50 make three batches of 50, 50 and 20 at the
// deterministic keys, readable from S3 with matching checksums; running the
// scrape again rewrites the same three objects and rows; finishing records
// COMPLETED with the count. The publisher key has no driver of its own, so
// the generic JSON-LD driver reads the sandbox.
func TestScrapeWritesBatchesIdempotently(t *testing.T) {
	t.Parallel()
	b := setupScrape(t, 50)
	job := b.newJob(t, "acme-reviews", "/biz/acme-120", store.ScrapeQueued)

	start, err := b.start(t, job)
	require.NoError(t, err)
	require.Equal(t, activities.ScrapeStart{Status: store.ScrapeInProgress, PublisherKey: "acme-reviews"}, start)

	for run := 1; run <= 2; run++ {
		progress, err := b.scrape(t, job)
		require.NoError(t, err, "run %d", run)
		require.Equal(t, 120, progress.Reviews)
		require.Equal(t, 3, progress.Batches)

		rows := b.batches(t, job)
		require.Len(t, rows, 3, "run %d leaves exactly three batches", run)
		seen := map[string]bool{}
		for i, row := range rows {
			require.Equal(t, i+1, row.BatchNumber)
			require.Equal(t, job.RequestID+"/"+job.TaskID.String()+"-batch-"+string(rune('1'+i))+".jl", row.S3Key)
			require.Equal(t, []int{50, 50, 20}[i], row.ReviewCount)
			for _, r := range b.requireBatchReadable(t, row) {
				require.False(t, seen[r.ReviewID], "review %s appears twice", r.ReviewID)
				seen[r.ReviewID] = true
			}
		}
		require.Len(t, seen, 120)
		_, err = b.acts.Blob.Get(b.ctx, store.ScrapeBatchKey(job.RequestID, job.TaskID, 4))
		require.ErrorIs(t, err, blob.ErrNotFound, "no fourth object")
	}

	out := b.finish(t, activities.ScrapeFinish{TaskID: job.TaskID.String(), Status: store.ScrapeCompleted})
	require.Equal(t, store.ScrapeCompleted, out.Status)
	require.Equal(t, 120, out.ReviewCount)
	require.Len(t, out.Batches, 3)
	require.Equal(t, job.ForeignKey, out.ForeignKey)
	require.Equal(t, "rm", out.Integrator)
	require.NotEmpty(t, out.ExternalLocationID)
	row, err := store.GetScrapeJob(b.ctx, b.acts.Store.DB, job.TaskID)
	require.NoError(t, err)
	require.Equal(t, store.ScrapeCompleted, row.Status)
	require.Equal(t, 120, row.ReviewCount)
	require.NotNil(t, row.StartedAt)
	require.NotNil(t, row.FinishedAt)
}

// A retry that finds fewer reviews than an earlier attempt deletes the
// earlier attempt's extra batch, row and object, so the job never lists a
// stale batch.
func TestScrapeRetryPrunesStaleBatches(t *testing.T) {
	t.Parallel()
	b := setupScrape(t, 50)
	job := b.newJob(t, "sandbox", "/biz/acme-120", store.ScrapeQueued)
	_, err := b.scrape(t, job)
	require.NoError(t, err)
	require.Len(t, b.batches(t, job), 3)

	_, err = b.acts.Store.DB.NewUpdate().Model((*store.ScrapeJob)(nil)).Set("max_reviews = 60").
		Where("task_id = ?", job.TaskID).Exec(b.ctx)
	require.NoError(t, err)
	progress, err := b.scrape(t, job)
	require.NoError(t, err)
	require.Equal(t, activities.ScrapeProgress{Pages: progress.Pages, Reviews: 60, Batches: 2}, progress)

	rows := b.batches(t, job)
	require.Len(t, rows, 2)
	require.Equal(t, 10, rows[1].ReviewCount)
	_, err = b.acts.Blob.Get(b.ctx, store.ScrapeBatchKey(job.RequestID, job.TaskID, 3))
	require.ErrorIs(t, err, blob.ErrNotFound, "the stale third object is deleted")
}

// Each sandbox failure mode surfaces as an application error whose type is
// the FailureReason, retryable exactly when the reason is, with the
// publisher's Retry-After as the next retry delay; finishing with it records
// FAILED and the reason.
func TestScrapeFailureModesMapToReasons(t *testing.T) {
	t.Parallel()
	b := setupScrape(t, 50)
	for _, tc := range []struct {
		path      string
		reason    publisher.FailureReason
		retryable bool
		delay     time.Duration
	}{
		{"/biz/blocked-acme-10", publisher.ReasonBlocked, false, 0},
		{"/biz/missing-acme-10", publisher.ReasonNotFound, false, 0},
		{"/biz/malformed-acme-10", publisher.ReasonParseError, false, 0},
		{"/biz/error-acme-10", publisher.ReasonPublisherUnavailable, true, 0},
		{"/biz/ratelimit-acme-10?retry_after=7", publisher.ReasonRateLimited, true, 7 * time.Second},
	} {
		t.Run(string(tc.reason), func(t *testing.T) {
			job := b.newJob(t, "sandbox", tc.path, store.ScrapeQueued)
			_, err := b.scrape(t, job)
			app, ok := errors.AsType[*temporal.ApplicationError](err)
			require.True(t, ok, "want an application error, got %v", err)
			require.Equal(t, string(tc.reason), app.Type())
			require.Equal(t, !tc.retryable, app.NonRetryable())
			require.Equal(t, tc.delay, app.NextRetryDelay())
			require.Empty(t, b.batches(t, job))

			out := b.finish(t, activities.ScrapeFinish{
				TaskID: job.TaskID.String(), Status: store.ScrapeFailed, FailureReason: tc.reason, FailureDetail: app.Message(),
			})
			require.Equal(t, store.ScrapeFailed, out.Status)
			require.Equal(t, string(tc.reason), out.FailureReason)
		})
	}

	t.Run("INVALID_URL", func(t *testing.T) {
		job := b.newJob(t, "sandbox", "/biz/x", store.ScrapeQueued)
		_, err := b.acts.Store.DB.NewUpdate().Model((*store.ScrapeJob)(nil)).Set("url = 'ftp://example.com/x'").
			Where("task_id = ?", job.TaskID).Exec(b.ctx)
		require.NoError(t, err)
		_, err = b.scrape(t, job)
		app, ok := errors.AsType[*temporal.ApplicationError](err)
		require.True(t, ok, "want an application error, got %v", err)
		require.Equal(t, string(publisher.ReasonInvalidURL), app.Type())
		require.True(t, app.NonRetryable())
	})
}

// Start accepts PENDING_SCRAPE (admission may start the workflow before it
// marks QUEUED) and a repeat on IN_PROGRESS; a terminal job comes back as
// it is; a BUFFERED or missing job is a non-retryable error.
func TestStartScrape(t *testing.T) {
	t.Parallel()
	b := setupScrape(t, 50)

	pending := b.newJob(t, "sandbox", "/biz/a", store.ScrapePendingScrape)
	for range 2 {
		got, err := b.start(t, pending)
		require.NoError(t, err)
		require.Equal(t, store.ScrapeInProgress, got.Status)
	}
	done := b.newJob(t, "sandbox", "/biz/b", store.ScrapeCancelled)
	got, err := b.start(t, done)
	require.NoError(t, err)
	require.Equal(t, store.ScrapeCancelled, got.Status)

	for _, tc := range []struct {
		job  *store.ScrapeJob
		want string
	}{
		{b.newJob(t, "sandbox", "/biz/c", store.ScrapeBuffered), activities.ErrTypeScrapeJobNotAdmitted},
		{&store.ScrapeJob{TaskID: uuid.Must(uuid.NewV7())}, activities.ErrTypeScrapeJobNotFound},
	} {
		_, err := b.start(t, tc.job)
		app, ok := errors.AsType[*temporal.ApplicationError](err)
		require.True(t, ok, "want an application error, got %v", err)
		require.Equal(t, tc.want, app.Type())
		require.True(t, app.NonRetryable())
	}
}

// Finishing twice is harmless: the second call returns the row as the first
// left it.
func TestFinishScrapeIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setupScrape(t, 50)
	job := b.newJob(t, "sandbox", "/biz/a", store.ScrapeInProgress)
	first := b.finish(t, activities.ScrapeFinish{TaskID: job.TaskID.String(), Status: store.ScrapeFailed, FailureReason: publisher.ReasonBlocked})
	second := b.finish(t, activities.ScrapeFinish{TaskID: job.TaskID.String(), Status: store.ScrapeCompleted})
	require.Equal(t, first, second)
	require.Equal(t, store.ScrapeFailed, second.Status)

	_, err := b.env.ExecuteActivity(b.acts.FinishScrape, activities.ScrapeFinish{TaskID: job.TaskID.String(), Status: store.ScrapeFailed})
	app, ok := errors.AsType[*temporal.ApplicationError](err)
	require.True(t, ok, "want an application error, got %v", err)
	require.Equal(t, activities.ErrTypeBadInput, app.Type(), "FAILED needs a reason")
}
