// Package worker registers RD's workflows and activities on their task queues
// and runs the workers. Each queue's registrations live in one function so
// what a process serves is readable in one place.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/temporalx"
	"github.com/reviewdata/rd/internal/webhook"
	"github.com/reviewdata/rd/workflows"
)

// PlatformQueues are the queues `rd worker` serves when none are named.
var PlatformQueues = []string{temporalx.QueueAdmission, temporalx.QueueMaintenance, temporalx.QueueWebhookDelivery}

// Config picks the queues a worker process serves.
type Config struct {
	// Queues to poll. Defaults to PlatformQueues.
	Queues []string
}

// Deps are the activity implementations, built once by cmd/.
type Deps struct {
	Logger    *slog.Logger
	Probe     *activities.ProbeActivities
	Admission *activities.AdmissionActivities
	Scrape    *activities.ScrapeActivities
	Webhook   *activities.WebhookActivities
}

// registrations maps each queue to what it runs.
var registrations = map[string]func(sdkworker.Registry, Deps){
	temporalx.QueueAdmission:       registerAdmission,
	temporalx.QueueMaintenance:     registerMaintenance,
	temporalx.QueueWebhookDelivery: registerWebhookDelivery,
	// Per-publisher scrape-<publisher> queues are matched in lookup.
	temporalx.QueueScrapingInternal: registerScrape,
	temporalx.QueueScrapingLDE:      registerScrape,
	temporalx.QueueScrapingBrowser:  registerScrapeBrowser,
}

// lookup returns what queue runs: an exact entry of registrations, else the
// scrape registrations for any scrape-<publisher> queue, so a new publisher
// needs a configuration row and a worker, not a code change.
func lookup(queue string) (func(sdkworker.Registry, Deps), bool) {
	if register, ok := registrations[queue]; ok {
		return register, true
	}
	if key, ok := strings.CutPrefix(queue, temporalx.QueueScrapePrefix); ok && key != "" {
		return registerScrape, true
	}
	return nil, false
}

// registerScrape serves scrape workflows and all their activities: the
// publisher's own queue runs everything but browser-backed scraping.
func registerScrape(r sdkworker.Registry, d Deps) {
	r.RegisterWorkflowWithOptions(workflows.ScrapeWorkflow, workflow.RegisterOptions{Name: workflows.ScrapeWorkflowName})
	r.RegisterActivity(d.Scrape)
}

// registerScrapeBrowser serves only the scrape activity that browser-backed
// publishers route here; their workflows stay on their own queues.
func registerScrapeBrowser(r sdkworker.Registry, d Deps) {
	r.RegisterActivityWithOptions(d.Scrape.ScrapeReviews, activity.RegisterOptions{Name: activities.ScrapeReviewsName})
}

func registerAdmission(r sdkworker.Registry, d Deps) {
	r.RegisterWorkflow(workflows.AdmissionWorkflow)
	r.RegisterActivity(d.Admission)
}

// registerWebhookDelivery serves delivery workflows and the webhook
// activities, EmitWebhook included: every workflow emits through this queue.
func registerWebhookDelivery(r sdkworker.Registry, d Deps) {
	r.RegisterWorkflowWithOptions(workflows.WebhookDeliveryWorkflow, workflow.RegisterOptions{Name: webhook.DeliveryWorkflowName})
	r.RegisterActivity(d.Webhook)
}

func registerMaintenance(r sdkworker.Registry, d Deps) {
	r.RegisterWorkflow(workflows.ProbeWorkflow)
	r.RegisterActivity(d.Probe)
}

// Run polls every configured queue until ctx ends, then stops the workers
// gracefully (activities in flight get the SDK's stop timeout).
func Run(ctx context.Context, c client.Client, cfg Config, deps Deps) error {
	queues := cfg.Queues
	if len(queues) == 0 {
		queues = PlatformQueues
	}
	var workers []sdkworker.Worker
	for _, q := range queues {
		register, ok := lookup(q)
		if !ok {
			return fmt.Errorf("worker: no workflows are registered for queue %q (known: %v)", q, knownQueues())
		}
		w := sdkworker.New(c, q, sdkworker.Options{})
		register(w, deps)
		workers = append(workers, w)
	}
	for i, w := range workers {
		if err := w.Start(); err != nil {
			stopAll(workers[:i])
			return fmt.Errorf("worker: start queue %s: %w", queues[i], err)
		}
	}
	if slices.Contains(queues, temporalx.QueueAdmission) {
		go ensureAdmission(ctx, c, deps.Logger)
	}
	<-ctx.Done()
	stopAll(workers)
	return nil
}

// ensureAdmission makes sure each admission lane's singleton runs, retrying
// while Temporal is unreachable. Starting with conflict policy USE_EXISTING
// makes this a no-op when the lane already runs.
func ensureAdmission(ctx context.Context, c client.Client, logger *slog.Logger) {
	lane := workflows.LaneScrape
	for {
		_, err := c.ExecuteWorkflow(ctx, workflows.AdmissionStartOptions(lane), workflows.AdmissionWorkflow, workflows.AdmissionInput{Lane: lane})
		if err == nil {
			return
		}
		logger.Warn("admission lane not started yet; retrying", "lane", lane, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

func stopAll(workers []sdkworker.Worker) {
	for _, w := range workers {
		w.Stop()
	}
}

func knownQueues() []string {
	var qs []string
	for q := range registrations {
		qs = append(qs, q)
	}
	qs = append(qs, temporalx.QueueScrapePrefix+"<publisher>")
	slices.Sort(qs)
	return qs
}
