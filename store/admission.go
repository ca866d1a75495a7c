package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// InFlightCount is what currently holds admission slots, read fresh every
// tick: capacity is never inferred from counters carried elsewhere.
type InFlightCount struct {
	Total       int
	Browser     int
	ByPublisher map[string]int
}

// CountInFlight counts PENDING_SCRAPE, QUEUED and IN_PROGRESS jobs.
func CountInFlight(ctx context.Context, db bun.IDB) (InFlightCount, error) {
	var rows []struct {
		PublisherKey  string
		BrowserBacked bool
		N             int
	}
	err := db.NewSelect().Model((*ScrapeJob)(nil)).
		Column("publisher_key", "browser_backed").ColumnExpr("count(*) AS n").
		Where("status IN (?)", bun.In(InFlightStatuses)).
		Group("publisher_key", "browser_backed").Scan(ctx, &rows)
	if err != nil {
		return InFlightCount{}, interpretError(fmt.Errorf("count in flight: %w", err))
	}
	c := InFlightCount{ByPublisher: map[string]int{}}
	for _, r := range rows {
		c.Total += r.N
		c.ByPublisher[r.PublisherKey] += r.N
		if r.BrowserBacked {
			c.Browser += r.N
		}
	}
	return c, nil
}

// TierBacklog is the BUFFERED backlog of one priority tier.
type TierBacklog struct {
	Priority   int       `json:"priority"`
	Jobs       int       `json:"jobs"`
	OldestWait time.Time `json:"oldest_submitted_at"`
}

// BufferedBacklog returns the BUFFERED backlog per tier, most urgent first.
func BufferedBacklog(ctx context.Context, db bun.IDB) ([]TierBacklog, error) {
	var tiers []TierBacklog
	err := db.NewSelect().Model((*ScrapeJob)(nil)).
		ColumnExpr("priority, count(*) AS jobs, min(submitted_at) AS oldest_wait").
		Where("status = ?", ScrapeBuffered).
		Group("priority").Order("priority").Scan(ctx, &tiers)
	if err != nil {
		return nil, interpretError(fmt.Errorf("buffered backlog: %w", err))
	}
	return tiers, nil
}

// BufferedHeads returns the oldest BUFFERED job of every publisher in a
// tier. A recursive skip scan over scrape_jobs_buffered_idx makes it cost one
// index probe per publisher, however many jobs each has queued, and the
// first index entry of each publisher is its head job.
func BufferedHeads(ctx context.Context, db bun.IDB, priority int) ([]AdmissionCandidate, error) {
	var heads []AdmissionCandidate
	err := db.NewRaw(`
		WITH RECURSIVE heads AS (
			(SELECT publisher_key, submitted_at, task_id, browser_backed FROM scrape_jobs
			  WHERE status = 'BUFFERED' AND priority = ?0
			  ORDER BY publisher_key, submitted_at, task_id LIMIT 1)
			UNION ALL
			SELECT n.* FROM heads h CROSS JOIN LATERAL (
				SELECT s.publisher_key, s.submitted_at, s.task_id, s.browser_backed FROM scrape_jobs s
				 WHERE s.status = 'BUFFERED' AND s.priority = ?0 AND s.publisher_key > h.publisher_key
				 ORDER BY s.publisher_key, s.submitted_at, s.task_id LIMIT 1) n
		)
		SELECT task_id, publisher_key, browser_backed, submitted_at FROM heads`, priority).Scan(ctx, &heads)
	if err != nil {
		return nil, interpretError(fmt.Errorf("buffered heads: %w", err))
	}
	for i := range heads {
		heads[i].Position = 1
	}
	return heads, nil
}

// AdmissionCandidate is one BUFFERED job at the head of its publisher's queue.
type AdmissionCandidate struct {
	TaskID        uuid.UUID
	PublisherKey  string
	BrowserBacked bool
	SubmittedAt   time.Time
	// Position is 1 for the publisher's oldest waiting job, 2 for the next...
	Position int
}

// HeadCandidates returns, for each publisher in limits, its limits[p]
// oldest BUFFERED jobs in the tier. Each lateral probe reads only its
// publisher's head rows, so the cost follows the rows returned, not the
// backlog. Nothing is locked here: most candidates are not picked, and
// locking a row writes to it. ClaimScrapeJobs's guarded UPDATE is the claim.
func HeadCandidates(ctx context.Context, db bun.IDB, priority int, limits map[string]int) ([]AdmissionCandidate, error) {
	keys := make([]string, 0, len(limits))
	counts := make([]int, 0, len(limits))
	for k, n := range limits {
		if n > 0 {
			keys, counts = append(keys, k), append(counts, n)
		}
	}
	var rows []AdmissionCandidate
	err := db.NewRaw(`
		SELECT h.task_id, h.publisher_key, h.browser_backed, h.submitted_at
		  FROM unnest(?0::text[], ?1::int[]) AS p(publisher_key, k)
		 CROSS JOIN LATERAL (
			SELECT j.task_id, j.publisher_key, j.browser_backed, j.submitted_at
			  FROM scrape_jobs j
			 WHERE j.status = 'BUFFERED' AND j.priority = ?2 AND j.publisher_key = p.publisher_key
			 ORDER BY j.submitted_at, j.task_id
			 LIMIT p.k
		 ) h`, pgdialect.Array(keys), pgdialect.Array(counts), priority).Scan(ctx, &rows)
	if err != nil {
		return nil, interpretError(fmt.Errorf("head candidates: %w", err))
	}
	// Rows arrive grouped by publisher, oldest first within each group.
	pos := map[string]int{}
	for i := range rows {
		pos[rows[i].PublisherKey]++
		rows[i].Position = pos[rows[i].PublisherKey]
	}
	return rows, nil
}

// ClaimScrapeJobs moves the given BUFFERED jobs to PENDING_SCRAPE and returns
// them. It is the claim: the UPDATE locks each row and re-checks its status,
// so a job cancelled or claimed by someone else meanwhile is left alone and
// simply not returned.
func ClaimScrapeJobs(ctx context.Context, db bun.IDB, taskIDs []uuid.UUID) ([]ScrapeJob, error) {
	var jobs []ScrapeJob
	if len(taskIDs) == 0 {
		return nil, nil
	}
	_, err := db.NewUpdate().Model(&jobs).
		Set("status = ?", ScrapePendingScrape).
		Set("admitted_at = now()").Set("updated_at = now()").Set("waiting_reason = NULL").
		Where("task_id IN (?)", bun.In(taskIDs)).Where("status = ?", ScrapeBuffered).
		Returning("*").Exec(ctx)
	if err != nil {
		return nil, interpretError(fmt.Errorf("claim scrape jobs: %w", err))
	}
	return jobs, nil
}

// SetWaitingReasons records why admission passed over BUFFERED jobs.
func SetWaitingReasons(ctx context.Context, db bun.IDB, reasons map[uuid.UUID]string) error {
	if len(reasons) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, 0, len(reasons))
	texts := make([]string, 0, len(reasons))
	for id, r := range reasons {
		ids, texts = append(ids, id), append(texts, r)
	}
	_, err := db.NewRaw(`
		UPDATE scrape_jobs j SET waiting_reason = v.reason
		  FROM unnest(?0::uuid[], ?1::text[]) AS v(task_id, reason)
		 WHERE j.task_id = v.task_id AND j.status = 'BUFFERED'`, pgdialect.Array(ids), pgdialect.Array(texts)).Exec(ctx)
	if err != nil {
		return interpretError(fmt.Errorf("set waiting reasons: %w", err))
	}
	return nil
}

// StalePendingScrapeJobs returns jobs claimed before olderThan whose
// workflow start was never confirmed (the activity died between claim and
// start); admission starts them again.
func StalePendingScrapeJobs(ctx context.Context, db bun.IDB, olderThan time.Time, limit int) ([]ScrapeJob, error) {
	var jobs []ScrapeJob
	err := db.NewSelect().Model(&jobs).
		Where("status = ?", ScrapePendingScrape).Where("admitted_at < ?", olderThan).
		OrderExpr("admitted_at").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, interpretError(fmt.Errorf("stale pending scrape jobs: %w", err))
	}
	return jobs, nil
}

// MarkScrapeJobsQueued records that the workflows of taskIDs are started.
// Only PENDING_SCRAPE rows move: a workflow that already began (IN_PROGRESS)
// or finished keeps its status.
func MarkScrapeJobsQueued(ctx context.Context, db bun.IDB, taskIDs []uuid.UUID) error {
	if len(taskIDs) == 0 {
		return nil
	}
	_, err := db.NewUpdate().Model((*ScrapeJob)(nil)).
		Set("status = ?", ScrapeQueued).Set("queued_at = now()").Set("updated_at = now()").
		Where("task_id IN (?)", bun.In(taskIDs)).Where("status = ?", ScrapePendingScrape).Exec(ctx)
	if err != nil {
		return interpretError(fmt.Errorf("mark scrape jobs queued: %w", err))
	}
	return nil
}

// AdmissionSnapshot is a lane's state after a tick: the JSON document of
// admission_lanes, also returned by the lane workflow's state query.
type AdmissionSnapshot struct {
	Lane            string          `json:"lane"`
	At              time.Time       `json:"at"`
	Workers         int             `json:"workers"`
	Gate            int             `json:"gate"`
	InFlight        int             `json:"in_flight"`
	BrowserInFlight int             `json:"browser_in_flight"`
	BrowserCap      int             `json:"browser_cap"`
	Backlog         []TierBacklog   `json:"backlog"`
	Outstanding     int             `json:"outstanding"`
	Admitted        int             `json:"admitted"`
	Restarted       int             `json:"restarted"`
	StartFailures   int             `json:"start_failures"`
	TopPublishers   []PublisherLoad `json:"top_publishers"`
	DesiredWorkers  int             `json:"desired_workers"`
	Decision        string          `json:"decision"`
}

// PublisherLoad is one publisher's share of the slots.
type PublisherLoad struct {
	PublisherKey string `json:"publisher_key"`
	InFlight     int    `json:"in_flight"`
}

// Waiting reasons admission records on BUFFERED rows it looked at but passed
// over (scrape_jobs.waiting_reason).
const (
	WaitPublisherTurn = "publisher's turn: other publishers hold fewer slots and go first"
	WaitBrowserCap    = "browser cap: all browser slots are in use"
)

// AdmissionLane is a lane's last tick, as JSON.
type AdmissionLane struct {
	bun.BaseModel `bun:"table:admission_lanes"`

	Lane      string          `bun:"lane,pk"`
	Snapshot  json.RawMessage `bun:"snapshot,type:jsonb"`
	UpdatedAt time.Time       `bun:"updated_at,nullzero,default:now()"`
}

// SaveAdmissionLane stores a lane's latest snapshot.
func SaveAdmissionLane(ctx context.Context, db bun.IDB, snap AdmissionSnapshot) error {
	body, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("save admission lane %s: %w", snap.Lane, err)
	}
	lane := snap.Lane
	row := &AdmissionLane{Lane: lane, Snapshot: body}
	_, err = db.NewInsert().Model(row).
		On("CONFLICT (lane) DO UPDATE").Set("snapshot = EXCLUDED.snapshot").Set("updated_at = now()").Exec(ctx)
	if err != nil {
		return interpretError(fmt.Errorf("save admission lane %s: %w", lane, err))
	}
	return nil
}

// GetAdmissionLane returns a lane's latest snapshot. It returns an error
// wrapping ErrNotFound before the lane's first tick.
func GetAdmissionLane(ctx context.Context, db bun.IDB, lane string) (*AdmissionSnapshot, error) {
	row := new(AdmissionLane)
	if err := db.NewSelect().Model(row).Where("lane = ?", lane).Scan(ctx); err != nil {
		return nil, interpretError(fmt.Errorf("get admission lane %s: %w", lane, err))
	}
	snap := new(AdmissionSnapshot)
	if err := json.Unmarshal(row.Snapshot, snap); err != nil {
		return nil, fmt.Errorf("get admission lane %s: %w", lane, err)
	}
	return snap, nil
}
