package activities

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/store"
	temporaldev "github.com/reviewdata/rd/temporal-dev"
)

// fixedWorkers stands in for the fleet size so a test can set the gate; the
// real count comes from Temporal's heartbeats (covered end to end).
type fixedWorkers int

func (n fixedWorkers) CountScrapeWorkers(context.Context, time.Duration) (int, error) {
	return int(n), nil
}

type admissionBundle struct {
	acts     *AdmissionActivities
	st       *store.Store
	temporal client.Client
	keys     map[int]*store.APIKey // by priority
	loc      *store.Location
	site     *store.Site
	clock    time.Time
}

// setupAdmission gives a test its own database and a real Temporal server
// whose scrape queues nobody polls, so started workflows simply wait.
func setupAdmission(t testing.TB, workers int, policy AdmissionPolicy) *admissionBundle {
	t.Helper()
	st := pgtest.NewStore(t)
	c := temporaldev.Shared(t).NewClient(t)
	ctx := context.Background()
	b := &admissionBundle{st: st, temporal: c, keys: map[int]*store.APIKey{}, clock: time.Now().Add(-time.Hour)}
	for env, prio := range map[store.Environment]int{store.EnvironmentProduction: 100, store.EnvironmentTest: 1000} {
		key := &store.APIKey{Prefix: uuid.NewString()[:16], KeyHash: make([]byte, 32), Name: "k", Integrator: "rm", Environment: env}
		require.NoError(t, store.InsertAPIKey(ctx, st.DB, key))
		b.keys[prio] = key
	}
	var err error
	b.loc, err = store.UpsertLocation(ctx, st.DB, "rm", "loc-1")
	require.NoError(t, err)
	b.site, err = store.UpsertSite(ctx, st.DB, b.loc.ID, "any", "http://example.test/biz")
	require.NoError(t, err)
	b.acts = &AdmissionActivities{Store: st, Temporal: c, Workers: fixedWorkers(workers), Policy: policy, Logger: slog.New(slog.DiscardHandler)}
	return b
}

// addJobs buffers n jobs of publisher in tier, each submitted a second after
// the previous one, on a task queue unique to the test.
func (b *admissionBundle) addJobs(t testing.TB, publisher string, tier, n int, browser bool) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	for range n {
		b.clock = b.clock.Add(time.Second)
		id := uuid.Must(uuid.NewV7())
		job := &store.ScrapeJob{
			TaskID: id, RequestID: id.String(), APIKeyID: b.keys[tier].ID, Integrator: "rm", ForeignKey: id.String(),
			LocationID: b.loc.ID, SiteID: b.site.ID, PublisherKey: publisher, URL: "http://example.test/biz",
			Priority: tier, BrowserBacked: browser, TaskQueue: "scrape-test-" + t.Name(), Status: store.ScrapeBuffered,
			SubmittedAt: b.clock,
		}
		require.NoError(t, store.InsertScrapeJob(context.Background(), b.st.DB, job))
		ids = append(ids, id)
	}
	return ids
}

func (b *admissionBundle) tick(t *testing.T) TickResult {
	t.Helper()
	res, err := b.acts.ScrapeTick(context.Background(), TickInput{Lane: "scrape"})
	require.NoError(t, err)
	return res
}

// inFlightBy counts in-flight jobs per publisher and tier.
func (b *admissionBundle) inFlightBy(t *testing.T) map[string]int {
	t.Helper()
	var rows []struct {
		PublisherKey string
		Priority     int
		N            int
	}
	err := b.st.DB.NewSelect().Model((*store.ScrapeJob)(nil)).Column("publisher_key", "priority").ColumnExpr("count(*) AS n").
		Where("status IN ('PENDING_SCRAPE', 'QUEUED', 'IN_PROGRESS')").Group("publisher_key", "priority").Scan(context.Background(), &rows)
	require.NoError(t, err)
	out := map[string]int{}
	for _, r := range rows {
		out[fmt.Sprintf("%s/%d", r.PublisherKey, r.Priority)] = r.N
	}
	return out
}

func TestTickFillsTheGateAndNoMore(t *testing.T) {
	t.Parallel()
	b := setupAdmission(t, 2, AdmissionPolicy{PerTaskConcurrency: 10})
	b.addJobs(t, "flood", 100, 50, false)

	res := b.tick(t)
	require.Equal(t, 20, res.Snapshot.Gate, "gate = per-task concurrency x workers")
	require.Equal(t, 20, res.Snapshot.Admitted)
	require.Equal(t, 0, res.Snapshot.StartFailures)
	require.Equal(t, map[string]int{"flood/100": 20}, b.inFlightBy(t))

	res = b.tick(t)
	require.Equal(t, 0, res.Snapshot.Admitted, "capacity is re-read from the database: nothing is free")
	require.Contains(t, res.Snapshot.Decision, "gate full")
	require.Equal(t, 50, res.Snapshot.Outstanding)
}

// A one-job publisher behind a flood of another is admitted in the first
// tick with a free slot.
func TestTickRoundRobinsAcrossPublishers(t *testing.T) {
	t.Parallel()
	b := setupAdmission(t, 1, AdmissionPolicy{PerTaskConcurrency: 20})
	b.addJobs(t, "flood", 100, 200, false)
	for i := range 10 {
		b.addJobs(t, fmt.Sprintf("minor-%d", i), 100, 1, false)
	}

	b.tick(t)
	got := b.inFlightBy(t)
	require.Equal(t, 10, got["flood/100"], "the flood gets only the slots the others leave")
	for i := range 10 {
		require.Equal(t, 1, got[fmt.Sprintf("minor-%d/100", i)], "minor-%d admitted in the first tick", i)
	}
}

// A publisher already holding slots yields to one holding none.
func TestTickRanksByInFlightShare(t *testing.T) {
	t.Parallel()
	b := setupAdmission(t, 1, AdmissionPolicy{PerTaskConcurrency: 10})
	b.addJobs(t, "busy", 100, 30, false)
	b.tick(t) // busy takes all 10 slots
	b.addJobs(t, "idle", 100, 30, false)
	b.acts.Workers = fixedWorkers(2) // 10 more slots

	b.tick(t)
	got := b.inFlightBy(t)
	require.Equal(t, 10, got["idle/100"], "every new slot goes to the publisher holding none")
	require.Equal(t, 10, got["busy/100"])
}

func TestTickDrainsTheUrgentTierFirst(t *testing.T) {
	t.Parallel()
	b := setupAdmission(t, 1, AdmissionPolicy{PerTaskConcurrency: 20})
	b.addJobs(t, "test-pub", 1000, 30, false) // older, but less urgent
	b.addJobs(t, "prod-pub", 100, 25, false)

	b.tick(t)
	require.Equal(t, map[string]int{"prod-pub/100": 20}, b.inFlightBy(t), "no tier-1000 job while tier 100 waits")

	b.acts.Workers = fixedWorkers(2)
	b.tick(t)
	require.Equal(t, map[string]int{"prod-pub/100": 25, "test-pub/1000": 15}, b.inFlightBy(t), "the rest of tier 100, then tier 1000")
}

func TestTickHonoursTheBrowserCap(t *testing.T) {
	t.Parallel()
	b := setupAdmission(t, 1, AdmissionPolicy{PerTaskConcurrency: 50, BrowserCap: 4})
	browser := b.addJobs(t, "chrome", 100, 10, true)
	b.addJobs(t, "http", 100, 10, false)

	b.tick(t)
	got := b.inFlightBy(t)
	require.Equal(t, 4, got["chrome/100"])
	require.Equal(t, 10, got["http/100"])
	job, err := store.GetScrapeJob(context.Background(), b.st.DB, browser[9])
	require.NoError(t, err)
	require.Equal(t, store.WaitBrowserCap, job.WaitingReason, "a passed-over row says why")
}

// Claimed rows whose start was never confirmed are started again, and a
// workflow that already exists counts as started: no job runs twice.
func TestTickRestartsStaleClaimsIdempotently(t *testing.T) {
	t.Parallel()
	b := setupAdmission(t, 1, AdmissionPolicy{PerTaskConcurrency: 5, StaleClaimAfter: time.Millisecond})
	ids := b.addJobs(t, "pub", 100, 2, false)
	ctx := context.Background()
	claimed, err := store.ClaimScrapeJobs(ctx, b.st.DB, ids)
	require.NoError(t, err)
	require.NoError(t, b.acts.start(ctx, claimed[0])) // started before a crash
	time.Sleep(5 * time.Millisecond)

	res := b.tick(t)
	require.Equal(t, 2, res.Snapshot.Restarted)
	for _, id := range ids {
		job, err := store.GetScrapeJob(ctx, b.st.DB, id)
		require.NoError(t, err)
		require.Equal(t, store.ScrapeQueued, job.Status)
		desc, err := b.temporal.DescribeWorkflowExecution(ctx, "scrape-"+id.String(), "")
		require.NoError(t, err)
		require.Equal(t, "ScrapeWorkflow", desc.GetWorkflowExecutionInfo().GetType().GetName())
	}
}

func TestWaterLevel(t *testing.T) {
	t.Parallel()
	pubs := []string{"a", "b", "c"}
	require.Equal(t, 4, waterLevel(pubs, map[string]int{}, 10), "ceil(10/3) each")
	require.Equal(t, 5, waterLevel(pubs, map[string]int{"a": 6}, 10), "a holds 6 slots: b and c take 5 each, a none")
	require.Equal(t, 1, waterLevel([]string{"solo"}, map[string]int{}, 1))
}

// A publisher holding many slots still gets the tier's leftover slots
// before any less urgent tier: water-filling that runs short looks again.
func TestTickGivesLeftoverSlotsToTheUrgentTierFirst(t *testing.T) {
	t.Parallel()
	b := setupAdmission(t, 1, AdmissionPolicy{PerTaskConcurrency: 10})
	b.addJobs(t, "busy", 100, 30, false)
	b.tick(t) // busy holds all 10 slots
	b.addJobs(t, "tiny", 100, 1, false)
	b.addJobs(t, "later", 1000, 20, false)
	b.acts.Policy.PerTaskConcurrency = 15 // five more slots

	b.tick(t)
	require.Equal(t, map[string]int{"busy/100": 14, "tiny/100": 1}, b.inFlightBy(t),
		"tiny first, then busy's next jobs: tier 1000 gets nothing while tier 100 has work")
}
