package api

import (
	"context"
	"strings"
	"time"

	"github.com/reviewdata/rd/internal/health"
	"github.com/reviewdata/rd/service"
)

// HealthzOutput is the liveness answer.
type HealthzOutput struct {
	Body struct {
		Status string `json:"status" enum:"ok" doc:"Always \"ok\": the process is serving."`
	}
}

// ReadyzOutput is the readiness answer when every dependency is ok.
type ReadyzOutput struct {
	Body struct {
		Status string             `json:"status" enum:"ok" doc:"\"ok\": every dependency answered."`
		Checks []DependencyStatus `json:"checks" doc:"One entry per dependency, in configured order."`
	}
}

// DependencyStatus is one dependency's readiness. The 503 NOT_READY envelope
// carries the same list in details.checks.
type DependencyStatus struct {
	Name      string  `json:"name" example:"postgres" doc:"The dependency."`
	Status    string  `json:"status" enum:"ok,error" doc:"Whether it answered in time."`
	LatencyMS float64 `json:"latency_ms" example:"1.25" doc:"How long the check took, in milliseconds."`
	Error     string  `json:"error,omitempty" doc:"Why it failed; absent when ok."`
}

// dependencyStatuses copies health results into the documented output type,
// so the public schema does not follow the library's struct by accident.
func dependencyStatuses(results []health.Result) []DependencyStatus {
	out := make([]DependencyStatus, len(results))
	for i, r := range results {
		out[i] = DependencyStatus(r)
	}
	return out
}

// health answers the liveness and readiness probes.
type healthProbes struct {
	checks  []health.Check
	timeout time.Duration
}

func (h *healthProbes) liveness(context.Context, *struct{}) (*HealthzOutput, error) {
	out := &HealthzOutput{}
	out.Body.Status = health.StatusOK
	return out, nil
}

func (h *healthProbes) readiness(ctx context.Context, _ *struct{}) (*ReadyzOutput, error) {
	raw := health.Run(ctx, h.checks, h.timeout)
	results := dependencyStatuses(raw)
	if failed := health.Failed(raw); len(failed) > 0 {
		msg := "dependencies not ready: " + strings.Join(failed, ", ")
		return nil, service.Unavailable(service.CodeNotReady, msg).WithDetails(map[string]any{"checks": results})
	}
	out := &ReadyzOutput{}
	out.Body.Status = health.StatusOK
	out.Body.Checks = results
	return out, nil
}
