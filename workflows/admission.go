package workflows

import (
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/temporalx"
	"github.com/reviewdata/rd/store"
)

// Admission lanes. Each lane is one singleton AdmissionWorkflow.
const (
	LaneScrape = "scrape"
)

// AdmissionDoorbellSignal wakes a lane early: the API rings it (coalesced)
// when jobs arrive, scrape workflows when they finish.
const AdmissionDoorbellSignal = "doorbell"

// AdmissionStateQuery returns the lane's last AdmissionState.
const AdmissionStateQuery = "state"

// AdmissionWorkflowID names a lane's singleton workflow.
func AdmissionWorkflowID(lane string) string { return "admission-" + lane }

// AdmissionInput is the lane and the little state carried across
// continue-as-new; everything else lives in PostgreSQL.
type AdmissionInput struct {
	Lane  string         `json:"lane"`
	State AdmissionCarry `json:"state"`
	// MaxTicksPerRun bounds history: the run continues as new after this
	// many ticks. Defaults to 500.
	MaxTicksPerRun int `json:"max_ticks_per_run,omitempty"`
}

// AdmissionCarry is the state that survives continue-as-new.
type AdmissionCarry struct {
	DesiredWorkers  int       `json:"desired_workers"`
	LastScaleChange time.Time `json:"last_scale_change"`
	Runs            int       `json:"runs"`
}

// AdmissionState is what the state query returns.
type AdmissionState struct {
	Carry        AdmissionCarry          `json:"carry"`
	Ticks        int                     `json:"ticks_this_run"`
	Doorbells    int                     `json:"doorbells_this_run"`
	LastTick     store.AdmissionSnapshot `json:"last_tick"`
	LastError    string                  `json:"last_error,omitempty"`
	TickInterval time.Duration           `json:"tick_interval"`
}

// maxDoorbellsPerRun keeps a run far below Temporal's 10,000-signal limit.
const maxDoorbellsPerRun = 5000

// minTickGap spaces doorbell-driven ticks so a burst of completions costs a
// few ticks, not one each.
const minTickGap = 500 * time.Millisecond

// AdmissionWorkflow is a lane's queue manager: it ticks on a timer or when
// the doorbell rings, each tick claiming the fairest BUFFERED jobs the gate
// has room for and starting their workflows, then decides the desired worker
// count. It never ends; it continues as new to keep history bounded.
func AdmissionWorkflow(ctx workflow.Context, in AdmissionInput) error {
	a := &admission{in: in, state: AdmissionState{Carry: in.State}}
	if a.in.MaxTicksPerRun == 0 {
		a.in.MaxTicksPerRun = 500
	}
	if err := workflow.SetQueryHandler(ctx, AdmissionStateQuery, func() (AdmissionState, error) { return a.state, nil }); err != nil {
		return err
	}
	return a.run(ctx)
}

type admission struct {
	in       AdmissionInput
	state    AdmissionState
	lastTick time.Time
}

func (a *admission) run(ctx workflow.Context) error {
	doorbell := workflow.GetSignalChannel(ctx, AdmissionDoorbellSignal)
	a.state.Carry.Runs++
	a.setDetails(ctx)
	for {
		a.tick(ctx)
		a.setDetails(ctx)
		if a.state.Ticks >= a.in.MaxTicksPerRun || a.state.Doorbells >= maxDoorbellsPerRun ||
			workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return a.continueAsNew(ctx, doorbell)
		}
		a.wait(ctx, doorbell)
	}
}

// wait sleeps until the next tick is due or the doorbell rings, then drains
// every pending ring: many rings make one tick.
func (a *admission) wait(ctx workflow.Context, doorbell workflow.ReceiveChannel) {
	interval := a.state.TickInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	rang := false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(timerCtx, interval), func(workflow.Future) {})
	sel.AddReceive(doorbell, func(c workflow.ReceiveChannel, _ bool) { rang = true })
	sel.Select(ctx)
	a.drain(doorbell)
	if rang {
		if gap := minTickGap - workflow.Now(ctx).Sub(a.lastTick); gap > 0 {
			_ = workflow.Sleep(ctx, gap)
			a.drain(doorbell)
		}
	}
}

func (a *admission) drain(doorbell workflow.ReceiveChannel) {
	for doorbell.ReceiveAsync(nil) {
		a.state.Doorbells++
	}
}

func (a *admission) tick(ctx workflow.Context) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3, InitialInterval: time.Second},
	})
	var acts *activities.AdmissionActivities
	var res activities.TickResult
	in := activities.TickInput{Lane: a.in.Lane, DesiredWorkers: a.state.Carry.DesiredWorkers}
	err := workflow.ExecuteActivity(ctx, acts.ScrapeTick, in).Get(ctx, &res)
	a.lastTick = workflow.Now(ctx)
	a.state.Ticks++
	if err != nil {
		// The database or Temporal is away: try again next tick.
		a.state.LastError = err.Error()
		return
	}
	a.state.LastError = ""
	a.state.TickInterval = res.Policy.TickInterval
	a.decideWorkers(ctx, res)
	res.Snapshot.DesiredWorkers = a.state.Carry.DesiredWorkers
	a.state.LastTick = res.Snapshot
}

// decideWorkers scales out at once, and in only after the cooldown and never
// below what the jobs in flight need: scaling in on waiting depth alone once
// stranded running workflows.
func (a *admission) decideWorkers(ctx workflow.Context, res activities.TickResult) {
	now := workflow.Now(ctx)
	carry := &a.state.Carry
	target := max(res.RawDesiredWorkers, min(res.MinWorkersForInFlight, res.Policy.MaxWorkers))
	switch {
	case target > carry.DesiredWorkers:
		carry.DesiredWorkers, carry.LastScaleChange = target, now
	case target < carry.DesiredWorkers && now.Sub(carry.LastScaleChange) >= res.Policy.ScaleInCooldown:
		carry.DesiredWorkers, carry.LastScaleChange = target, now
	}
}

func (a *admission) continueAsNew(ctx workflow.Context, doorbell workflow.ReceiveChannel) error {
	a.drain(doorbell)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	next := a.in
	next.State = a.state.Carry
	return workflow.NewContinueAsNewError(ctx, AdmissionWorkflow, next)
}

// setDetails writes the panel Temporal Web shows for the lane. It is set
// again after every tick and every continue-as-new: details do not carry over.
func (a *admission) setDetails(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, admissionPanel(a.in.Lane, a.state))
}

func admissionPanel(lane string, st AdmissionState) string {
	s := st.LastTick
	var b strings.Builder
	fmt.Fprintf(&b, "## Admission lane `%s`\n\n", lane)
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Gate | %d (%d workers) |\n| In flight | %d |\n", s.Gate, s.Workers, s.InFlight)
	fmt.Fprintf(&b, "| Browser slots | %d / %d |\n| Outstanding | %d |\n", s.BrowserInFlight, s.BrowserCap, s.Outstanding)
	fmt.Fprintf(&b, "| Desired workers | %d |\n| Last decision | %s |\n", st.Carry.DesiredWorkers, s.Decision)
	fmt.Fprintf(&b, "| Ticks / doorbells this run | %d / %d (run %d) |\n", st.Ticks, st.Doorbells, st.Carry.Runs)
	if st.LastError != "" {
		fmt.Fprintf(&b, "| Last error | %s |\n", st.LastError)
	}
	b.WriteString("\n**Backlog by tier**\n\n")
	for _, t := range s.Backlog {
		fmt.Fprintf(&b, "- tier %d: %d jobs, oldest since %s\n", t.Priority, t.Jobs, t.OldestWait.Format(time.RFC3339))
	}
	if len(s.Backlog) == 0 {
		b.WriteString("- empty\n")
	}
	b.WriteString("\n**Top publishers in flight**\n\n")
	for _, p := range s.TopPublishers {
		fmt.Fprintf(&b, "- %s: %d\n", p.PublisherKey, p.InFlight)
	}
	return b.String()
}

// AdmissionStartOptions are how every caller starts (or finds) a lane: one
// ID per lane, an existing run used rather than a second one started, and
// search attributes that make lanes findable in Temporal Web.
func AdmissionStartOptions(lane string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       AdmissionWorkflowID(lane),
		TaskQueue:                temporalx.QueueAdmission,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(temporalx.AttrLane).ValueSet(lane),
			temporal.NewSearchAttributeKeyKeyword(temporalx.AttrJobType).ValueSet("admission"),
		),
	}
}
