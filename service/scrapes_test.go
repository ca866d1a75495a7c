package service

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/store"
	"github.com/reviewdata/rd/workflows"
)

type scrapeBundle struct {
	svc  *Scrapes
	st   *store.Store
	prod Integrator
	test Integrator
}

func setupScrapes(t *testing.T) *scrapeBundle {
	t.Helper()
	st := pgtest.NewStore(t)
	ctx := context.Background()
	ints := &Integrators{Store: st, Logger: slog.New(slog.DiscardHandler)}
	who := func(env store.Environment, integrator string) Integrator {
		k, err := ints.CreateAPIKey(ctx, "k", integrator, env)
		require.NoError(t, err)
		w, err := ints.Authenticate(ctx, k.Plain)
		require.NoError(t, err)
		return w
	}
	for key, active := range map[string]bool{"sandbox": true, "retired": false} {
		require.NoError(t, store.UpsertPublisherConfiguration(ctx, st.DB, &store.PublisherConfiguration{
			PublisherKey: key, DisplayName: key, ScraperEngine: "SAU", AuthType: "CREDENTIALS", TaskQueue: "scrape-" + key, Active: active,
		}))
	}
	return &scrapeBundle{
		svc:  &Scrapes{Store: st, Doorbell: NewDoorbell(nil, workflows.LaneScrape, 0, slog.New(slog.DiscardHandler))},
		st:   st,
		prod: who(store.EnvironmentProduction, "rm"),
		test: who(store.EnvironmentTest, "other"),
	}
}

func req(fk string) ScrapeRequest {
	return ScrapeRequest{ForeignKey: fk, ExternalLocationID: "loc-1", PublisherKey: "sandbox", URL: "http://127.0.0.1:8090/biz/acme-5"}
}

func TestRequestReviewsBuffersAJobWithTheKeysPriority(t *testing.T) {
	t.Parallel()
	b := setupScrapes(t)
	job, created, err := b.svc.RequestReviews(context.Background(), b.test, "req-1", req("fk-1"))
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, store.ScrapeBuffered, job.Status)
	require.Equal(t, 1000, job.Priority)
	require.Equal(t, "scrape-sandbox", job.TaskQueue)
	require.EqualValues(t, 7, job.TaskID.Version(), "task ids are UUIDv7")
	require.Len(t, b.svc.Doorbell.rings, 1, "the doorbell rang")
}

// Concurrent retries of one submit create one job: the advisory lock
// serialises them and the second finds the first.
func TestRequestReviewsDedupesConcurrentRetries(t *testing.T) {
	t.Parallel()
	b := setupScrapes(t)
	var wg sync.WaitGroup
	ids := make([]uuid.UUID, 8)
	for i := range ids {
		wg.Go(func() {
			job, _, err := b.svc.RequestReviews(context.Background(), b.prod, "req", req("same"))
			require.NoError(t, err)
			ids[i] = job.TaskID
		})
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}
	var n int
	require.NoError(t, b.st.DB.NewRaw("SELECT count(*) FROM scrape_jobs").Scan(context.Background(), &n))
	require.Equal(t, 1, n)
}

func TestRequestReviewsRefusals(t *testing.T) {
	t.Parallel()
	b := setupScrapes(t)
	for name, tc := range map[string]struct {
		req    ScrapeRequest
		status int
		code   string
	}{
		"unknown publisher": {ScrapeRequest{ForeignKey: "a", ExternalLocationID: "l", PublisherKey: "nope", URL: "http://x.test/"}, http.StatusUnprocessableEntity, CodeUnknownPublisher},
		"inactive":          {ScrapeRequest{ForeignKey: "b", ExternalLocationID: "l", PublisherKey: "retired", URL: "http://x.test/"}, http.StatusConflict, CodePublisherDisabled},
		"bad url":           {ScrapeRequest{ForeignKey: "c", ExternalLocationID: "l", PublisherKey: "sandbox", URL: "ftp://x.test/"}, http.StatusUnprocessableEntity, CodeInvalidURL},
	} {
		_, _, err := b.svc.RequestReviews(context.Background(), b.prod, "r", tc.req)
		var e *Error
		require.True(t, errors.As(err, &e), name)
		require.Equal(t, tc.status, e.Status, name)
		require.Equal(t, tc.code, e.Code, name)
	}
}

func TestRetrieveTaskPagesBatchesAndHidesOthersTasks(t *testing.T) {
	t.Parallel()
	b := setupScrapes(t)
	ctx := context.Background()
	job, _, err := b.svc.RequestReviews(ctx, b.prod, "r", req("fk"))
	require.NoError(t, err)
	for n := 1; n <= 5; n++ {
		_, err := b.st.DB.NewInsert().Model(&store.ScrapeResultBatch{TaskID: job.TaskID, BatchNumber: n, S3Key: "k", URL: "http://cdn.test/k", ReviewCount: 10, SHA256: "x"}).Exec(ctx)
		require.NoError(t, err)
	}
	var seen []int
	cursor := ""
	for {
		rep, err := b.svc.RetrieveTask(ctx, b.prod, job.TaskID, 2, cursor)
		require.NoError(t, err)
		for _, bt := range rep.Batches {
			seen = append(seen, bt.BatchNumber)
		}
		if rep.NextCursor == "" {
			break
		}
		cursor = rep.NextCursor
	}
	require.Equal(t, []int{1, 2, 3, 4, 5}, seen)

	_, err = b.svc.RetrieveTask(ctx, b.test, job.TaskID, 2, "")
	var e *Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, CodeTaskNotFound, e.Code, "another integrator's task is not found")
	_, err = b.svc.RetrieveTask(ctx, b.prod, job.TaskID, 2, "not-a-cursor")
	require.True(t, errors.As(err, &e))
	require.Equal(t, CodeInvalidCursor, e.Code)
}

func TestWaitingReasonComesFromTheRowOrTheLanesLastTick(t *testing.T) {
	t.Parallel()
	b := setupScrapes(t)
	ctx := context.Background()
	job, _, err := b.svc.RequestReviews(ctx, b.test, "r", req("fk"))
	require.NoError(t, err)

	rep, err := b.svc.RetrieveTask(ctx, b.test, job.TaskID, 10, "")
	require.NoError(t, err)
	require.Equal(t, "waiting for the first admission tick", rep.WaitingReason)

	require.NoError(t, store.SaveAdmissionLane(ctx, b.st.DB, store.AdmissionSnapshot{Lane: "scrape", At: time.Now(), Workers: 1, Gate: 50, InFlight: 3,
		Backlog: []store.TierBacklog{{Priority: 100, Jobs: 40}, {Priority: 1000, Jobs: 1}}}))
	rep, err = b.svc.RetrieveTask(ctx, b.test, job.TaskID, 10, "")
	require.NoError(t, err)
	require.Contains(t, rep.WaitingReason, "tier blocked")

	require.NoError(t, store.SetWaitingReasons(ctx, b.st.DB, map[uuid.UUID]string{job.TaskID: store.WaitBrowserCap}))
	rep, err = b.svc.RetrieveTask(ctx, b.test, job.TaskID, 10, "")
	require.NoError(t, err)
	require.Equal(t, store.WaitBrowserCap, rep.WaitingReason, "a row's own reason wins")
}
