package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/reviewdata/rd/activities"
)

type tickRecorder struct {
	times []time.Time
	env   *testsuite.TestWorkflowEnvironment
	// result returns the tick result for the n-th tick (0-based).
	result func(n int) activities.TickResult
	fail   func(n int) bool
}

func (r *tickRecorder) tick(_ context.Context, in activities.TickInput) (activities.TickResult, error) {
	n := len(r.times)
	r.times = append(r.times, r.env.Now())
	if r.fail != nil && r.fail(n) {
		return activities.TickResult{}, errors.New("database unreachable")
	}
	if r.result != nil {
		return r.result(n), nil
	}
	return activities.TickResult{Policy: activities.AdmissionPolicy{TickInterval: 5 * time.Second}.WithDefaults()}, nil
}

func newAdmissionEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *tickRecorder) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	rec := &tickRecorder{env: env}
	var acts *activities.AdmissionActivities
	env.RegisterActivity(acts)
	env.OnActivity(acts.ScrapeTick, mock.Anything, mock.Anything).Return(rec.tick)
	return env, rec
}

// The lane ticks on its timer, and a doorbell wakes it at once; a burst of
// rings costs at most two ticks, spaced by minTickGap, never one per ring.
func TestAdmissionTicksOnTimerAndDoorbell(t *testing.T) {
	t.Parallel()
	env, rec := newAdmissionEnv(t)
	env.RegisterDelayedCallback(func() {
		for range 5 {
			env.SignalWorkflow(AdmissionDoorbellSignal, nil)
		}
	}, 11*time.Second)
	env.ExecuteWorkflow(AdmissionWorkflow, AdmissionInput{Lane: LaneScrape, MaxTicksPerRun: 6})

	require.True(t, isContinueAsNew(env.GetWorkflowError()), "a run ends by continuing as new")
	start := rec.times[0]
	var offsets []time.Duration
	for _, at := range rec.times {
		offsets = append(offsets, at.Sub(start))
	}
	require.Equal(t, []time.Duration{0, 5 * time.Second, 10 * time.Second, 11 * time.Second}, offsets[:4],
		"timer ticks every 5s; the doorbell at 11s ticks at once")
	var inBurst []time.Duration
	for _, o := range offsets[3:] {
		if o < 12*time.Second {
			inBurst = append(inBurst, o)
		}
	}
	require.LessOrEqual(t, len(inBurst), 2, "five rings, at most two ticks: %v", offsets)
	if len(inBurst) == 2 {
		require.GreaterOrEqual(t, inBurst[1]-inBurst[0], minTickGap)
	}
}

// Continue-as-new carries the worker decision and drains pending signals.
func TestAdmissionContinuesAsNewWithItsState(t *testing.T) {
	t.Parallel()
	env, rec := newAdmissionEnv(t)
	rec.result = func(int) activities.TickResult {
		return activities.TickResult{Policy: activities.AdmissionPolicy{}.WithDefaults(), RawDesiredWorkers: 7}
	}
	env.ExecuteWorkflow(AdmissionWorkflow, AdmissionInput{Lane: LaneScrape, MaxTicksPerRun: 2})

	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can))
	var next AdmissionInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, LaneScrape, next.Lane)
	require.Equal(t, 7, next.State.DesiredWorkers)
	require.Equal(t, 1, next.State.Runs)
}

// The suggestion from the server is honoured too (history is bounded even if
// ticks are few).
func TestAdmissionHonoursContinueAsNewSuggested(t *testing.T) {
	t.Parallel()
	env, rec := newAdmissionEnv(t)
	env.SetContinueAsNewSuggested(true)
	env.ExecuteWorkflow(AdmissionWorkflow, AdmissionInput{Lane: LaneScrape})
	require.True(t, isContinueAsNew(env.GetWorkflowError()))
	require.Len(t, rec.times, 1)
}

// A failing tick is reported in the state and retried next tick; the lane
// does not die with its database.
func TestAdmissionSurvivesFailingTicks(t *testing.T) {
	t.Parallel()
	env, rec := newAdmissionEnv(t)
	rec.fail = func(n int) bool { return n < 6 } // 2 ticks x 3 attempts
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(AdmissionStateQuery)
		require.NoError(t, err)
		var st AdmissionState
		require.NoError(t, v.Get(&st))
		require.Contains(t, st.LastError, "database unreachable")
	}, 7*time.Second)
	env.ExecuteWorkflow(AdmissionWorkflow, AdmissionInput{Lane: LaneScrape, MaxTicksPerRun: 3})
	require.True(t, isContinueAsNew(env.GetWorkflowError()))
	require.Len(t, rec.times, 7, "two ticks of three failed attempts, then a good one")
}

func TestDecideWorkersScalesOutAtOnceAndInAfterCooldown(t *testing.T) {
	t.Parallel()
	env, rec := newAdmissionEnv(t)
	desired := []int{3, 8, 2, 2, 2, 2, 2}
	rec.result = func(n int) activities.TickResult {
		p := activities.AdmissionPolicy{TickInterval: time.Minute, ScaleInCooldown: 3 * time.Minute}.WithDefaults()
		return activities.TickResult{Policy: p, RawDesiredWorkers: desired[n], MinWorkersForInFlight: min(n, 4)}
	}
	var seen []int
	for i := range len(desired) - 1 {
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(AdmissionStateQuery)
			require.NoError(t, err)
			var st AdmissionState
			require.NoError(t, v.Get(&st))
			seen = append(seen, st.Carry.DesiredWorkers)
		}, time.Duration(i)*time.Minute+30*time.Second)
	}
	env.ExecuteWorkflow(AdmissionWorkflow, AdmissionInput{Lane: LaneScrape, MaxTicksPerRun: len(desired)})
	// out to 3, out to 8 at once; in only 3 minutes after the last change,
	// and never below what is in flight (4 from the fifth tick).
	require.Equal(t, []int{3, 8, 8, 8, 4, 4}, seen)
}

func isContinueAsNew(err error) bool {
	var can *workflow.ContinueAsNewError
	return errors.As(err, &can)
}
