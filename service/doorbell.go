package service

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/reviewdata/rd/workflows"
)

// Doorbell wakes an admission lane when work arrives. Rings are coalesced:
// however many requests ring, the lane gets at most one signal per MinGap
// from this process, so a singleton workflow sees a handful of signals a
// second, never one per job. A failed ring is only logged: the lane's timer
// finds the work anyway, and the database row is the truth.
type Doorbell struct {
	temporal client.Client
	lane     string
	minGap   time.Duration
	logger   *slog.Logger
	rings    chan struct{}
}

// NewDoorbell returns a doorbell for lane; call Run to deliver its rings.
// minGap defaults to 250ms.
func NewDoorbell(c client.Client, lane string, minGap time.Duration, logger *slog.Logger) *Doorbell {
	if minGap <= 0 {
		minGap = 250 * time.Millisecond
	}
	return &Doorbell{temporal: c, lane: lane, minGap: minGap, logger: logger, rings: make(chan struct{}, 1)}
}

// Ring asks for the lane to be woken. It never blocks.
func (d *Doorbell) Ring() {
	select {
	case d.rings <- struct{}{}:
	default: // a ring is already pending; this one joins it
	}
}

// Run delivers rings until ctx ends, signalling the lane (and starting it if
// it is not running).
func (d *Doorbell) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.rings:
		}
		d.signal(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(d.minGap):
		}
	}
}

func (d *Doorbell) signal(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := d.temporal.SignalWithStartWorkflow(ctx, workflows.AdmissionWorkflowID(d.lane), workflows.AdmissionDoorbellSignal,
		nil, workflows.AdmissionStartOptions(d.lane), workflows.AdmissionWorkflow, workflows.AdmissionInput{Lane: d.lane})
	if err != nil {
		d.logger.WarnContext(ctx, "admission doorbell not delivered; the lane's timer will find the work", "lane", d.lane, "error", err)
	}
}
