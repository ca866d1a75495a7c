// Package activities holds RD's Temporal activities: the side-effecting steps
// workflows run. Every activity is idempotent, since Temporal may run it again.
package activities

import (
	"context"
	"time"

	"github.com/reviewdata/rd/internal/health"
)

// ProbeActivities checks dependencies from inside a worker process.
type ProbeActivities struct {
	// Checks are the worker's own connections to its dependencies.
	Checks []health.Check
}

// CheckDependencies pings every dependency the worker holds. It never fails:
// an unreachable dependency is a result, not an error.
func (a *ProbeActivities) CheckDependencies(ctx context.Context) ([]health.Result, error) {
	return health.Run(ctx, a.Checks, 5*time.Second), nil
}
