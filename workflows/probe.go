// Package workflows holds RD's Temporal workflows. Workflow code is
// deterministic: no wall clock, randomness, goroutines or I/O (see STYLE.md).
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/health"
)

// ProbeInput is empty today; a struct keeps the wire shape open to fields.
type ProbeInput struct{}

// ProbeResult is what a worker saw of its dependencies.
type ProbeResult struct {
	Dependencies []health.Result `json:"dependencies"`
}

// ProbeWorkflowID names a probe; operators start one per check they make.
func ProbeWorkflowID(suffix string) string { return "probe-" + suffix }

// ProbeWorkflow proves the worker fleet end to end: a task on the maintenance
// queue is picked up, and the worker that ran it reports what it can reach.
func ProbeWorkflow(ctx workflow.Context, _ ProbeInput) (ProbeResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var a *activities.ProbeActivities
	var res ProbeResult
	err := workflow.ExecuteActivity(ctx, a.CheckDependencies).Get(ctx, &res.Dependencies)
	return res, err
}
