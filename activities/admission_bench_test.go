package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"go.temporal.io/sdk/client"

	"github.com/reviewdata/rd/store"
)

// BenchmarkAdmissionReport measures admission against the targets of issue 5
// and prints one JSON object. Run it with `go tool task bench:admission`
// (one iteration: each figure is itself a median or a timed run).
func BenchmarkAdmissionReport(b *testing.B) {
	report := map[string]any{}
	for range b.N {
		for _, rows := range []int{10_000, 100_000} {
			fresh, vacuumed := benchSelection(b, rows)
			report[fmt.Sprintf("selection_ms_at_%dk_rows", rows/1000)] = vacuumed
			report[fmt.Sprintf("selection_ms_at_%dk_rows_before_vacuum", rows/1000)] = fresh
		}
		for k, v := range benchDispatch(b, 500, 16) {
			report[k] = v
		}
		for k, v := range benchFlood(b) {
			report[k] = v
		}
		report["tier_100_drained_before_any_tier_1000"] = benchTiers(b)
	}
	report["targets"] = map[string]any{"selection_ms_at_100k_rows": "<= 10", "dispatch_ratio": ">= 0.8", "flood_ticks_to_first_admission": 1}
	out, _ := json.MarshalIndent(report, "", "  ")
	fmt.Fprintln(os.Stdout, string(out))
}

// bulkBuffer inserts n BUFFERED jobs spread over publishers, oldest first,
// in one statement.
func bulkBuffer(tb testing.TB, db bun.IDB, bundle *admissionBundle, n, publishers, tier int, prefix string) {
	tb.Helper()
	_, err := db.NewRaw(`
		INSERT INTO scrape_jobs (task_id, request_id, api_key_id, integrator, foreign_key, location_id, site_id,
			publisher_key, url, priority, task_queue, status, submitted_at)
		SELECT gen_random_uuid(), 'bench', ?0, 'rm', 'fk-' || g, ?1, ?2,
			?3 || (g % ?4), 'http://example.test', ?5, ?6, 'BUFFERED', now() - interval '1 hour' + g * interval '1 millisecond'
		  FROM generate_series(1, ?7) g`,
		bundle.keys[tier].ID, bundle.loc.ID, bundle.site.ID, prefix, publishers, tier, "scrape-bench-nobody", n).Exec(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.NewRaw("ANALYZE scrape_jobs").Exec(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// benchSelection times one tier's selection (distinct publishers + heads
// for 50 free slots) over rows jobs of 1,000 publishers, median of 25 runs
// inside rolled-back transactions: first on freshly inserted rows, then
// after VACUUM, as autovacuum leaves a steady-state table (index-only scans
// need the visibility map).
func benchSelection(tb testing.TB, rows int) (fresh, vacuumed float64) {
	bundle := setupAdmission(tb, 1, AdmissionPolicy{})
	bulkBuffer(tb, bundle.st.DB, bundle, rows, 1000, 100, "pub-")
	fresh = medianSelection(tb, bundle)
	if _, err := bundle.st.DB.NewRaw("VACUUM (ANALYZE) scrape_jobs").Exec(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return fresh, medianSelection(tb, bundle)
}

func medianSelection(tb testing.TB, bundle *admissionBundle) float64 {
	var times []time.Duration
	for range 25 {
		ctx := context.Background()
		tx, err := bundle.st.DB.BeginTx(ctx, nil)
		if err != nil {
			tb.Fatal(err)
		}
		free := 50
		start := time.Now()
		if _, err := selectTier(ctx, tx, 100, free, &free, map[string]int{}); err != nil {
			tb.Fatal(err)
		}
		times = append(times, time.Since(start))
		_ = tx.Rollback()
	}
	slices.Sort(times)
	return ms(times[len(times)/2])
}

// benchDispatch compares admitting n jobs (claim + start + mark queued)
// with starting the same workflows directly, same concurrency, same server.
func benchDispatch(tb testing.TB, n, concurrency int) map[string]any {
	bundle := setupAdmission(tb, 1, AdmissionPolicy{PerTaskConcurrency: n})
	bundle.acts.StartConcurrency = concurrency
	bulkBuffer(tb, bundle.st.DB, bundle, n, 50, 100, "disp-")
	start := time.Now()
	res, err := bundle.acts.ScrapeTick(context.Background(), TickInput{Lane: "scrape"})
	if err != nil || res.Snapshot.Admitted != n {
		tb.Fatalf("admitted %d of %d: %v", res.Snapshot.Admitted, n, err)
	}
	admission := time.Since(start)

	direct := timeDirectStarts(tb, bundle.temporal, n, concurrency)
	return map[string]any{
		"dispatch_jobs":          n,
		"dispatch_concurrency":   concurrency,
		"admission_dispatch_ms":  ms(admission),
		"direct_start_ms":        ms(direct),
		"admission_jobs_per_sec": float64(n) / admission.Seconds(),
		"direct_jobs_per_sec":    float64(n) / direct.Seconds(),
		"dispatch_ratio":         direct.Seconds() / admission.Seconds(),
	}
}

func timeDirectStarts(tb testing.TB, c client.Client, n, concurrency int) time.Duration {
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			id := "scrape-direct-" + uuid.NewString()
			_, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: "scrape-bench-nobody"},
				ScrapeWorkflowName, ScrapeStartInput{TaskID: id})
			if err != nil {
				tb.Error(err)
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// benchFlood: a 10,000-job flood of one publisher, then one job of another;
// how many ticks until the lone job is admitted, and what a tick costs.
func benchFlood(tb testing.TB) map[string]any {
	bundle := setupAdmission(tb, 1, AdmissionPolicy{PerTaskConcurrency: 50})
	bulkBuffer(tb, bundle.st.DB, bundle, 10_000, 1, 100, "flood")
	lone := bundle.addJobs(tb, "lone", 100, 1, false)[0]
	for tick := 1; tick <= 5; tick++ {
		start := time.Now()
		if _, err := bundle.acts.ScrapeTick(context.Background(), TickInput{Lane: "scrape"}); err != nil {
			tb.Fatal(err)
		}
		took := time.Since(start)
		job, err := store.GetScrapeJob(context.Background(), bundle.st.DB, lone)
		if err != nil {
			tb.Fatal(err)
		}
		if job.Status != store.ScrapeBuffered {
			return map[string]any{"flood_ticks_to_first_admission": tick, "flood_tick_ms": ms(took)}
		}
	}
	return map[string]any{"flood_ticks_to_first_admission": "not within 5 ticks"}
}

// benchTiers interleaves 1,000 jobs of each tier, admits 100 per tick and
// completes them between ticks; any tier-1000 admission while tier-100 jobs
// wait is a violation.
func benchTiers(tb testing.TB) bool {
	bundle := setupAdmission(tb, 1, AdmissionPolicy{PerTaskConcurrency: 100})
	bulkBuffer(tb, bundle.st.DB, bundle, 1000, 20, 1000, "t1000-")
	bulkBuffer(tb, bundle.st.DB, bundle, 1000, 20, 100, "t100-")
	ctx := context.Background()
	for range 25 {
		var waiting100 int
		_ = bundle.st.DB.NewRaw("SELECT count(*) FROM scrape_jobs WHERE status = 'BUFFERED' AND priority = 100").Scan(ctx, &waiting100)
		if _, err := bundle.acts.ScrapeTick(ctx, TickInput{Lane: "scrape"}); err != nil {
			tb.Fatal(err)
		}
		var admitted1000 int
		_ = bundle.st.DB.NewRaw("SELECT count(*) FROM scrape_jobs WHERE status = 'QUEUED' AND priority = 1000").Scan(ctx, &admitted1000)
		if admitted1000 > 0 && waiting100 >= 100 {
			return false
		}
		// Complete this tick's work so the next tick has room.
		if _, err := bundle.st.DB.NewRaw("UPDATE scrape_jobs SET status = 'COMPLETED' WHERE status = 'QUEUED'").Exec(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	return true
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
