package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/reviewdata/rd/internal/temporalx"
	"github.com/reviewdata/rd/store"
)

// AdmissionPolicy holds the admission knobs, read from configuration.
type AdmissionPolicy struct {
	// PerTaskConcurrency is how many scrapes one worker process runs at
	// once; the gate is this times the running workers. Defaults to 50.
	PerTaskConcurrency int `json:"per_task_concurrency"`
	// BrowserCap bounds browser-backed scrapes in flight fleet-wide. Defaults to 10.
	BrowserCap int `json:"browser_cap"`
	// TickInterval is how often the lane looks at the backlog without a
	// doorbell. Defaults to 5s.
	TickInterval time.Duration `json:"tick_interval"`
	// MinWorkers and MaxWorkers clamp the desired worker count. Default 1 and 12.
	MinWorkers int `json:"min_workers"`
	MaxWorkers int `json:"max_workers"`
	// ScaleInCooldown is how long the desired count must have stood before it
	// may drop. Defaults to 5m.
	ScaleInCooldown time.Duration `json:"scale_in_cooldown"`
	// StaleClaimAfter is when a PENDING_SCRAPE row whose start was never
	// confirmed is started again. Defaults to 30s.
	StaleClaimAfter time.Duration `json:"stale_claim_after"`
	// WorkerHeartbeatTTL is how fresh a worker's heartbeat must be for it to
	// count as running. Defaults to 30s.
	WorkerHeartbeatTTL time.Duration `json:"worker_heartbeat_ttl"`
}

// WithDefaults fills the zero knobs.
func (p AdmissionPolicy) WithDefaults() AdmissionPolicy {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.PerTaskConcurrency, 50)
	def(&p.BrowserCap, 10)
	def(&p.MinWorkers, 1)
	def(&p.MaxWorkers, 12)
	defDur(&p.TickInterval, 5*time.Second)
	defDur(&p.ScaleInCooldown, 5*time.Minute)
	defDur(&p.StaleClaimAfter, 30*time.Second)
	defDur(&p.WorkerHeartbeatTTL, 30*time.Second)
	return p
}

// WorkerCounter says how many scrape worker processes are alive.
type WorkerCounter interface {
	CountScrapeWorkers(ctx context.Context, ttl time.Duration) (int, error)
}

// AdmissionActivities claim BUFFERED scrape jobs and start their workflows.
type AdmissionActivities struct {
	Store    *store.Store
	Temporal client.Client
	Workers  WorkerCounter
	Policy   AdmissionPolicy
	Logger   *slog.Logger
	// StartConcurrency bounds parallel workflow starts. Defaults to 16.
	StartConcurrency int
}

// TickInput is what the lane's workflow hands its tick.
type TickInput struct {
	Lane string `json:"lane"`
	// DesiredWorkers is the workflow's current decision, shown in the snapshot.
	DesiredWorkers int `json:"desired_workers"`
}

// TickResult is one tick's outcome: the snapshot operators see, plus what
// the workflow needs to decide the worker count and when to tick again.
type TickResult struct {
	Snapshot store.AdmissionSnapshot `json:"snapshot"`
	Policy   AdmissionPolicy         `json:"policy"`
	// RawDesiredWorkers is f(outstanding) before the cooldown rules.
	RawDesiredWorkers int `json:"raw_desired_workers"`
	// MinWorkersForInFlight is the floor scale-in must respect: the workers
	// the jobs in flight need.
	MinWorkersForInFlight int `json:"min_workers_for_in_flight"`
}

// ScrapeTick is one admission decision for the scrape lane: read capacity
// from the database, claim the fairest jobs, start their workflows.
func (a *AdmissionActivities) ScrapeTick(ctx context.Context, in TickInput) (TickResult, error) {
	p := a.Policy.WithDefaults()
	workers, err := a.Workers.CountScrapeWorkers(ctx, p.WorkerHeartbeatTTL)
	if err != nil {
		return TickResult{}, fmt.Errorf("count workers: %w", err)
	}
	restarted, err := a.restartStale(ctx, p)
	if err != nil {
		return TickResult{}, err
	}
	inFlight, err := store.CountInFlight(ctx, a.Store.DB)
	if err != nil {
		return TickResult{}, err
	}
	snap := store.AdmissionSnapshot{
		Lane: in.Lane, At: time.Now().UTC(), Workers: workers, Gate: p.PerTaskConcurrency * workers,
		InFlight: inFlight.Total, BrowserInFlight: inFlight.Browser, BrowserCap: p.BrowserCap,
		Restarted: restarted, DesiredWorkers: in.DesiredWorkers,
	}
	// claim ranks against a copy: it counts its own picks as in flight.
	claimed, backlog, err := a.claim(ctx, snap.Gate-inFlight.Total, p.BrowserCap-inFlight.Browser, maps.Clone(inFlight.ByPublisher))
	if err != nil {
		return TickResult{}, err
	}
	started, failures := a.startAll(ctx, claimed)
	if err := store.MarkScrapeJobsQueued(ctx, a.Store.DB, started); err != nil {
		return TickResult{}, err
	}
	snap.Admitted, snap.StartFailures = len(claimed), failures
	snap.InFlight += len(claimed)
	return a.finish(ctx, snap, inFlight, claimed, backlog, p)
}

func (a *AdmissionActivities) finish(ctx context.Context, snap store.AdmissionSnapshot, inFlight store.InFlightCount, claimed []store.ScrapeJob, backlog []store.TierBacklog, p AdmissionPolicy) (TickResult, error) {
	snap.Backlog = afterClaim(backlog, claimed)
	snap.Outstanding = snap.InFlight
	for _, t := range backlog {
		snap.Outstanding += t.Jobs
	}
	snap.TopPublishers = topPublishers(inFlight.ByPublisher, claimed, 5)
	snap.Decision = decision(snap)
	raw := int(math.Ceil(float64(snap.Outstanding) / float64(p.PerTaskConcurrency)))
	res := TickResult{
		Snapshot:              snap,
		Policy:                p,
		RawDesiredWorkers:     min(max(raw, p.MinWorkers), p.MaxWorkers),
		MinWorkersForInFlight: int(math.Ceil(float64(snap.InFlight) / float64(p.PerTaskConcurrency))),
	}
	if err := store.SaveAdmissionLane(ctx, a.Store.DB, snap); err != nil {
		return TickResult{}, err
	}
	return res, nil
}

func decision(s store.AdmissionSnapshot) string {
	switch {
	case s.Workers == 0:
		return "no running scrape workers: nothing can be admitted"
	case s.Admitted > 0:
		return fmt.Sprintf("admitted %d job(s)", s.Admitted)
	case len(s.Backlog) == 0:
		return "backlog empty"
	case s.InFlight >= s.Gate:
		return fmt.Sprintf("gate full (%d/%d in flight)", s.InFlight, s.Gate)
	default:
		return "waiting: only browser-capped jobs are buffered"
	}
}

// claim picks up to free jobs, most urgent tier first and round-robin across
// publishers within a tier, and marks them PENDING_SCRAPE in one transaction.
// It also returns the backlog it saw before claiming.
func (a *AdmissionActivities) claim(ctx context.Context, free, browserFree int, inFlight map[string]int) ([]store.ScrapeJob, []store.TierBacklog, error) {
	var (
		claimed []store.ScrapeJob
		backlog []store.TierBacklog
	)
	err := a.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if backlog, err = store.BufferedBacklog(ctx, tx); err != nil || free <= 0 {
			return err
		}
		var picked []uuid.UUID
		passed := map[uuid.UUID]string{}
		for _, tier := range backlog {
			if len(picked) >= free {
				break
			}
			sel, err := selectTier(ctx, tx, tier.Priority, free-len(picked), &browserFree, inFlight)
			if err != nil {
				return err
			}
			picked = append(picked, sel.picked...)
			for id, r := range sel.passed {
				passed[id] = r
			}
		}
		if claimed, err = store.ClaimScrapeJobs(ctx, tx, picked); err != nil {
			return err
		}
		return store.SetWaitingReasons(ctx, tx, passed)
	})
	return claimed, backlog, err
}

// afterClaim is the backlog less what this tick claimed, without another
// scan of the BUFFERED rows. A tier's oldest wait stays the pre-claim one:
// an upper bound, good enough for the panel.
func afterClaim(backlog []store.TierBacklog, claimed []store.ScrapeJob) []store.TierBacklog {
	taken := map[int]int{}
	for _, j := range claimed {
		taken[j.Priority]++
	}
	var out []store.TierBacklog
	for _, t := range backlog {
		if t.Jobs -= taken[t.Priority]; t.Jobs > 0 {
			out = append(out, t)
		}
	}
	return out
}

type tierSelection struct {
	picked []uuid.UUID
	passed map[uuid.UUID]string
}

// selectTier chooses up to free jobs of one tier. A job's rank is its
// publisher's slots in flight plus its place in that publisher's queue, so a
// publisher holding many slots yields and a 1,000-job flood cannot keep a
// one-job publisher waiting. Only the jobs that can rank within free are
// read: publisher p offers level - inFlight[p] jobs, for the lowest level
// that covers free (water-filling); if publishers run short, a second look
// lets each offer up to free.
func selectTier(ctx context.Context, tx bun.Tx, priority, free int, browserFree *int, inFlight map[string]int) (tierSelection, error) {
	heads, err := store.BufferedHeads(ctx, tx, priority)
	if err != nil || len(heads) == 0 {
		return tierSelection{}, err
	}
	pubs := make([]string, len(heads))
	for i, h := range heads {
		pubs[i] = h.PublisherKey
	}
	limits := make(map[string]int, len(pubs))
	level := waterLevel(pubs, inFlight, free)
	deeper := false
	for _, p := range pubs {
		limits[p] = max(0, level-inFlight[p])
		deeper = deeper || limits[p] > 1
	}
	// Every publisher offering at most its head, which the skip scan already
	// read, is the common case with many publishers.
	cands := headsWithin(heads, limits)
	if deeper {
		if cands, err = store.HeadCandidates(ctx, tx, priority, limits); err != nil {
			return tierSelection{}, err
		}
	}
	if len(cands) < free && mayHaveMore(cands, limits) {
		// Publishers ran short of the level: let every publisher offer up
		// to free jobs. Rare (a tier nearly drained), and exact, so slots
		// never pass to a less urgent tier while this one has work.
		for _, p := range pubs {
			limits[p] = free
		}
		if cands, err = store.HeadCandidates(ctx, tx, priority, limits); err != nil {
			return tierSelection{}, err
		}
	}
	return rank(cands, free, browserFree, inFlight), nil
}

// headsWithin keeps the heads of publishers allowed at least one job.
func headsWithin(heads []store.AdmissionCandidate, limits map[string]int) []store.AdmissionCandidate {
	var out []store.AdmissionCandidate
	for _, h := range heads {
		if limits[h.PublisherKey] > 0 {
			out = append(out, h)
		}
	}
	return out
}

// waterLevel is the lowest rank R with sum over publishers of
// max(0, R - inFlight[p]) >= free, assuming each has jobs enough.
func waterLevel(pubs []string, inFlight map[string]int, free int) int {
	covered := func(r int) bool {
		n := 0
		for _, p := range pubs {
			n += max(0, r-inFlight[p])
		}
		return n >= free
	}
	lo, hi := 1, free+maxInFlight(inFlight)
	for lo < hi {
		mid := (lo + hi) / 2
		if covered(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// mayHaveMore reports whether some publisher could offer more jobs than it
// did: it returned all it was asked for, or was asked for none.
func mayHaveMore(cands []store.AdmissionCandidate, limits map[string]int) bool {
	got := map[string]int{}
	for _, c := range cands {
		got[c.PublisherKey]++
	}
	for p, n := range limits {
		if got[p] == n {
			return true
		}
	}
	return false
}

// rank orders candidates by (publisher's slots in flight + queue position,
// age) and takes up to free, honouring the browser cap.
func rank(cands []store.AdmissionCandidate, free int, browserFree *int, inFlight map[string]int) tierSelection {
	slices.SortStableFunc(cands, func(x, y store.AdmissionCandidate) int {
		rx, ry := inFlight[x.PublisherKey]+x.Position, inFlight[y.PublisherKey]+y.Position
		if rx != ry {
			return rx - ry
		}
		return x.SubmittedAt.Compare(y.SubmittedAt)
	})
	sel := tierSelection{passed: map[uuid.UUID]string{}}
	for _, c := range cands {
		switch {
		case len(sel.picked) >= free:
			sel.passed[c.TaskID] = store.WaitPublisherTurn
		case c.BrowserBacked && *browserFree <= 0:
			sel.passed[c.TaskID] = store.WaitBrowserCap
		default:
			if c.BrowserBacked {
				*browserFree--
			}
			// Counted at once for the next tier's ranking; this tier's
			// order is already fixed.
			inFlight[c.PublisherKey]++
			sel.picked = append(sel.picked, c.TaskID)
		}
	}
	return sel
}

func maxInFlight(m map[string]int) int {
	n := 0
	for _, v := range m {
		n = max(n, v)
	}
	return n
}

// restartStale starts again the workflows of jobs claimed long ago whose
// start was never confirmed.
func (a *AdmissionActivities) restartStale(ctx context.Context, p AdmissionPolicy) (int, error) {
	stale, err := store.StalePendingScrapeJobs(ctx, a.Store.DB, time.Now().Add(-p.StaleClaimAfter), 500)
	if err != nil || len(stale) == 0 {
		return 0, err
	}
	started, _ := a.startAll(ctx, stale)
	return len(started), store.MarkScrapeJobsQueued(ctx, a.Store.DB, started)
}

// startAll starts every job's scrape workflow in parallel and returns the
// task IDs whose workflow is known to exist; failures stay PENDING_SCRAPE
// and are retried as stale claims.
func (a *AdmissionActivities) startAll(ctx context.Context, jobs []store.ScrapeJob) ([]uuid.UUID, int) {
	limit := a.StartConcurrency
	if limit <= 0 {
		limit = 16
	}
	var (
		mu       sync.Mutex
		started  []uuid.UUID
		failures int
		wg       sync.WaitGroup
		sem      = make(chan struct{}, limit)
	)
	for _, job := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := a.start(ctx, job)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures++
				a.Logger.WarnContext(ctx, "start scrape workflow", "task_id", job.TaskID, "error", err)
				return
			}
			started = append(started, job.TaskID)
		})
	}
	wg.Wait()
	return started, failures
}

// ScrapeWorkflowName is the registered name of the scrape workflow (wire API).
const ScrapeWorkflowName = "ScrapeWorkflow"

// ScrapeStartInput is the scrape workflow's input as admission sends it.
type ScrapeStartInput struct {
	TaskID string `json:"task_id"`
}

// start starts one scrape workflow; an existing or finished one with the
// same ID counts as started, so a retried tick never runs a job twice.
func (a *AdmissionActivities) start(ctx context.Context, job store.ScrapeJob) error {
	taskID := job.TaskID.String()
	_, err := a.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    "scrape-" + taskID,
		TaskQueue:             job.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(temporalx.AttrTaskID).ValueSet(taskID),
			temporal.NewSearchAttributeKeyKeyword(temporalx.AttrJobType).ValueSet("scrape"),
			temporal.NewSearchAttributeKeyKeyword(temporalx.AttrPublisherKey).ValueSet(job.PublisherKey),
			temporal.NewSearchAttributeKeyKeyword(temporalx.AttrIntegrator).ValueSet(job.Integrator),
			temporal.NewSearchAttributeKeyInt64(temporalx.AttrPriority).ValueSet(int64(job.Priority)),
		),
		Priority: temporal.Priority{PriorityKey: priorityKey(job.Priority), FairnessKey: job.PublisherKey},
	}, ScrapeWorkflowName, ScrapeStartInput{TaskID: taskID})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil
	}
	return err
}

// priorityKey maps RD's tiers onto Temporal's 1 (first) .. 5 (last), so task
// queues also serve production before test work.
func priorityKey(tier int) int {
	if tier <= store.ScrapePriorityProduction {
		return 2
	}
	return 4
}

func topPublishers(inFlight map[string]int, claimed []store.ScrapeJob, n int) []store.PublisherLoad {
	counts := map[string]int{}
	for k, v := range inFlight {
		counts[k] = v
	}
	for _, j := range claimed {
		counts[j.PublisherKey]++
	}
	loads := make([]store.PublisherLoad, 0, len(counts))
	for k, v := range counts {
		loads = append(loads, store.PublisherLoad{PublisherKey: k, InFlight: v})
	}
	slices.SortFunc(loads, func(x, y store.PublisherLoad) int {
		if x.InFlight != y.InFlight {
			return y.InFlight - x.InFlight
		}
		return strings.Compare(x.PublisherKey, y.PublisherKey)
	})
	return loads[:min(n, len(loads))]
}

// TemporalWorkerCounter counts scrape worker processes from Temporal's
// worker heartbeats: presence-based, so a saturated worker still counts.
type TemporalWorkerCounter struct {
	Client    client.Client
	Namespace string
}

// CountScrapeWorkers counts distinct processes polling any scrape queue
// whose heartbeat is fresher than ttl. Crashed workers stay listed as
// Running until their heartbeat ages out, hence the HeartbeatTime filter.
func (c TemporalWorkerCounter) CountScrapeWorkers(ctx context.Context, ttl time.Duration) (int, error) {
	since := time.Now().Add(-ttl).UTC().Format(time.RFC3339)
	processes := map[string]bool{}
	var token []byte
	for {
		resp, err := c.Client.WorkflowService().ListWorkers(ctx, &workflowservice.ListWorkersRequest{
			Namespace:     c.Namespace,
			Query:         fmt.Sprintf("WorkerStatus = 'Running' AND HeartbeatTime > '%s'", since),
			NextPageToken: token,
		})
		if err != nil {
			return 0, err
		}
		for _, w := range resp.GetWorkers() {
			if temporalx.IsScrapeQueue(w.GetTaskQueue()) {
				processes[processKey(w.GetWorkerGroupingKey(), w.GetHostName(), w.GetProcessId())] = true
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return len(processes), nil
		}
	}
}

func processKey(grouping, host, pid string) string {
	if grouping != "" {
		return grouping
	}
	return host + "/" + pid
}
