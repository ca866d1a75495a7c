package store_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/store"
)

// seedScrapeJob inserts a key, location, site and a job in status, and
// returns the job.
func seedScrapeJob(t *testing.T, b *testBundle, status store.ScrapeStatus) *store.ScrapeJob {
	t.Helper()
	key := newAPIKey(t)
	require.NoError(t, store.InsertAPIKey(b.ctx, b.tx, key))
	loc, err := store.UpsertLocation(b.ctx, b.tx, key.Integrator, "loc-"+randomToken(t, 4))
	require.NoError(t, err)
	site, err := store.UpsertSite(b.ctx, b.tx, loc.ID, "sandbox", "http://127.0.0.1:8090/biz/acme-10")
	require.NoError(t, err)
	job := &store.ScrapeJob{
		TaskID: uuid.Must(uuid.NewV7()), RequestID: "req-" + randomToken(t, 4), APIKeyID: key.ID,
		Integrator: key.Integrator, ForeignKey: "fk-1", LocationID: loc.ID, SiteID: site.ID,
		PublisherKey: "sandbox", URL: site.URL, Priority: 100, TaskQueue: "scrape-sandbox", Status: status,
	}
	require.NoError(t, store.InsertScrapeJob(b.ctx, b.tx, job))
	return job
}

func batch(job *store.ScrapeJob, n, reviews int) *store.ScrapeResultBatch {
	key := store.ScrapeBatchKey(job.RequestID, job.TaskID, n)
	return &store.ScrapeResultBatch{TaskID: job.TaskID, BatchNumber: n, S3Key: key, URL: "http://cdn/" + key, ReviewCount: reviews, SHA256: "00"}
}

func TestScrapeBatchKey(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("01900000-0000-7000-8000-000000000001")
	require.Equal(t, "req-1/01900000-0000-7000-8000-000000000001-batch-3.jl", store.ScrapeBatchKey("req-1", id, 3))
}

// Admission may start the workflow before it marks the row QUEUED, so both
// PENDING_SCRAPE and QUEUED start; a second start keeps the first
// started_at; BUFFERED and terminal rows come back untouched.
func TestStartScrapeJob(t *testing.T) {
	t.Parallel()
	for _, from := range []store.ScrapeStatus{store.ScrapePendingScrape, store.ScrapeQueued} {
		t.Run(string(from), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			job := seedScrapeJob(t, b, from)
			got, err := store.StartScrapeJob(b.ctx, b.tx, job.TaskID)
			require.NoError(t, err)
			require.Equal(t, store.ScrapeInProgress, got.Status)
			require.NotNil(t, got.StartedAt)

			again, err := store.StartScrapeJob(b.ctx, b.tx, job.TaskID)
			require.NoError(t, err)
			require.Equal(t, store.ScrapeInProgress, again.Status)
			require.Equal(t, got.StartedAt, again.StartedAt, "a repeated start keeps the first started_at")
		})
	}
	for _, from := range []store.ScrapeStatus{store.ScrapeBuffered, store.ScrapeCompleted, store.ScrapeCancelled} {
		t.Run(string(from)+" unchanged", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			job := seedScrapeJob(t, b, from)
			got, err := store.StartScrapeJob(b.ctx, b.tx, job.TaskID)
			require.NoError(t, err)
			require.Equal(t, from, got.Status)
			require.Nil(t, got.StartedAt)
		})
	}
	t.Run("missing job", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := store.StartScrapeJob(b.ctx, b.tx, uuid.Must(uuid.NewV7()))
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}

// Finishing counts the stored batches into review_count, is a no-op once the
// row is terminal (a retried finish, or a job cancelled meanwhile), and
// refuses a FAILED without a reason.
func TestFinishScrapeJob(t *testing.T) {
	t.Parallel()

	t.Run("completed counts batches", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		job := seedScrapeJob(t, b, store.ScrapeInProgress)
		require.NoError(t, store.UpsertScrapeBatch(b.ctx, b.tx, batch(job, 1, 50)))
		require.NoError(t, store.UpsertScrapeBatch(b.ctx, b.tx, batch(job, 2, 7)))
		got, err := store.FinishScrapeJob(b.ctx, b.tx, job.TaskID, store.ScrapeCompleted, "", "")
		require.NoError(t, err)
		require.Equal(t, store.ScrapeCompleted, got.Status)
		require.Equal(t, 57, got.ReviewCount)
		require.NotNil(t, got.FinishedAt)
		require.Empty(t, got.FailureReason)

		again, err := store.FinishScrapeJob(b.ctx, b.tx, job.TaskID, store.ScrapeFailed, "TIMEOUT", "late")
		require.NoError(t, err)
		require.Equal(t, store.ScrapeCompleted, again.Status, "a terminal row never changes")
		require.Equal(t, got.FinishedAt, again.FinishedAt)
	})

	t.Run("failed keeps reason and detail", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		job := seedScrapeJob(t, b, store.ScrapeQueued)
		got, err := store.FinishScrapeJob(b.ctx, b.tx, job.TaskID, store.ScrapeFailed, "BLOCKED", "status 403")
		require.NoError(t, err)
		require.Equal(t, store.ScrapeFailed, got.Status)
		require.Equal(t, "BLOCKED", got.FailureReason)
		require.Equal(t, "status 403", got.FailureDetail)
		require.Zero(t, got.ReviewCount)
	})

	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		job := seedScrapeJob(t, b, store.ScrapeInProgress)
		_, err := store.FinishScrapeJob(b.ctx, b.tx, job.TaskID, store.ScrapeQueued, "", "")
		require.ErrorIs(t, err, store.ErrInvalid, "QUEUED is not terminal")
		_, err = store.FinishScrapeJob(b.ctx, b.tx, uuid.Must(uuid.NewV7()), store.ScrapeCompleted, "", "")
		require.ErrorIs(t, err, store.ErrNotFound)
		// Last: the refused UPDATE aborts the test transaction.
		_, err = store.FinishScrapeJob(b.ctx, b.tx, job.TaskID, store.ScrapeFailed, "", "")
		require.ErrorIs(t, err, store.ErrInvalid, "FAILED needs a reason")
	})
}

// A rewritten batch replaces its row; rows past a shorter rewrite can be
// listed and deleted.
func TestScrapeBatchesRewriteAndPrune(t *testing.T) {
	t.Parallel()
	b := setup(t)
	job := seedScrapeJob(t, b, store.ScrapeInProgress)
	for n := 1; n <= 3; n++ {
		require.NoError(t, store.UpsertScrapeBatch(b.ctx, b.tx, batch(job, n, 10)))
	}
	rewritten := batch(job, 1, 4)
	rewritten.SHA256 = "ff"
	require.NoError(t, store.UpsertScrapeBatch(b.ctx, b.tx, rewritten))

	all, err := store.ListScrapeBatches(b.ctx, b.tx, job.TaskID, 0, 10)
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Equal(t, 4, all[0].ReviewCount)
	require.Equal(t, "ff", all[0].SHA256)

	extra, err := store.ScrapeBatchesAfter(b.ctx, b.tx, job.TaskID, 1)
	require.NoError(t, err)
	require.Equal(t, []int{2, 3}, []int{extra[0].BatchNumber, extra[1].BatchNumber})
	n, err := store.DeleteScrapeBatchesAfter(b.ctx, b.tx, job.TaskID, 1)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	all, err = store.ListScrapeBatches(b.ctx, b.tx, job.TaskID, 0, 10)
	require.NoError(t, err)
	require.Len(t, all, 1)

	require.ErrorIs(t, store.UpsertScrapeBatch(b.ctx, b.tx, batch(job, 0, 1)), store.ErrInvalid, "batch numbers start at 1")
}

func TestLocationExternalID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	loc, err := store.UpsertLocation(b.ctx, b.tx, "rm", "ext-"+randomToken(t, 4))
	require.NoError(t, err)
	got, err := store.LocationExternalID(b.ctx, b.tx, loc.ID)
	require.NoError(t, err)
	require.Equal(t, loc.ExternalLocationID, got)
	_, err = store.LocationExternalID(b.ctx, b.tx, uuid.Must(uuid.NewV7()))
	require.ErrorIs(t, err, store.ErrNotFound)
}
