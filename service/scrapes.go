package service

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/reviewdata/rd/internal/publisher"
	"github.com/reviewdata/rd/store"
	"github.com/reviewdata/rd/workflows"
)

// DedupeWindow is how long a repeated submit (same key, same foreign_key)
// returns the first job instead of creating another.
const DedupeWindow = 10 * time.Minute

// Scrapes accepts scrape requests and reports on them.
type Scrapes struct {
	Store    *store.Store
	Doorbell *Doorbell
}

// ScrapeRequest is a validated /request-reviews body.
type ScrapeRequest struct {
	ForeignKey         string
	ExternalLocationID string
	PublisherKey       string
	URL                string
	FromDate           *time.Time
	MaxReviews         *int
}

// RequestReviews buffers a scrape job for admission and rings the lane's
// doorbell. A retry within DedupeWindow returns the first job with
// created=false and changes nothing. It returns 422 UNKNOWN_PUBLISHER,
// 409 PUBLISHER_DISABLED or 422 INVALID_URL *Errors.
func (s *Scrapes) RequestReviews(ctx context.Context, who Integrator, requestID string, req ScrapeRequest) (job *store.ScrapeJob, created bool, err error) {
	if _, err := publisher.ParseURL(req.URL); err != nil {
		return nil, false, Invalid(CodeInvalidURL, err.Error())
	}
	pc, err := s.publisher(ctx, req.PublisherKey)
	if err != nil {
		return nil, false, err
	}
	err = s.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Serialise submits of one (key, foreign_key) so two concurrent
		// retries cannot both miss each other's row.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", dedupeLockKey(who.APIKeyID, req.ForeignKey)); err != nil {
			return err
		}
		job, err = store.FindRecentScrapeJob(ctx, tx, who.APIKeyID, req.ForeignKey, time.Now().Add(-DedupeWindow))
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return err
		}
		job, err = s.insertJob(ctx, tx, who, requestID, req, pc)
		created = err == nil
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("request reviews: %w", err)
	}
	if created {
		s.Doorbell.Ring()
	}
	return job, created, nil
}

func (s *Scrapes) publisher(ctx context.Context, key string) (*store.PublisherConfiguration, error) {
	pc, err := store.GetPublisherConfiguration(ctx, s.Store.DB, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Invalid(CodeUnknownPublisher, fmt.Sprintf("publisher %q is not known", key)).
			WithDetails(map[string]any{"publisher_key": []string{"unknown publisher"}})
	}
	if err != nil {
		return nil, err
	}
	if !pc.Active {
		return nil, Conflict(CodePublisherDisabled, fmt.Sprintf("publisher %q accepts no new work", key))
	}
	return pc, nil
}

func (s *Scrapes) insertJob(ctx context.Context, tx bun.Tx, who Integrator, requestID string, req ScrapeRequest, pc *store.PublisherConfiguration) (*store.ScrapeJob, error) {
	loc, err := store.UpsertLocation(ctx, tx, who.Name, req.ExternalLocationID)
	if err != nil {
		return nil, err
	}
	site, err := store.UpsertSite(ctx, tx, loc.ID, pc.PublisherKey, req.URL)
	if err != nil {
		return nil, err
	}
	taskID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	job := &store.ScrapeJob{
		TaskID: taskID, RequestID: requestID, APIKeyID: who.APIKeyID, Integrator: who.Name,
		ForeignKey: req.ForeignKey, LocationID: loc.ID, SiteID: site.ID, PublisherKey: pc.PublisherKey,
		URL: req.URL, FromDate: req.FromDate, MaxReviews: req.MaxReviews, Priority: who.ScrapePriority,
		BrowserBacked: pc.BrowserBacked, TaskQueue: pc.TaskQueue, Status: store.ScrapeBuffered,
	}
	return job, store.InsertScrapeJob(ctx, tx, job)
}

func dedupeLockKey(apiKeyID uuid.UUID, foreignKey string) int64 {
	h := fnv.New64a()
	h.Write(apiKeyID[:])
	h.Write([]byte(foreignKey))
	return int64(h.Sum64())
}

// TaskReport is a scrape job with one page of its batches.
type TaskReport struct {
	Job        *store.ScrapeJob
	Batches    []store.ScrapeResultBatch
	NextCursor string
	// WaitingReason explains a BUFFERED job's wait; "" otherwise.
	WaitingReason string
}

// RetrieveTask returns who's task and a page of its batches after cursor.
// Another integrator's task is 404 TASK_NOT_FOUND, like a missing one; a
// cursor this API did not issue is 422 INVALID_CURSOR.
func (s *Scrapes) RetrieveTask(ctx context.Context, who Integrator, taskID uuid.UUID, pageSize int, cursor string) (*TaskReport, error) {
	job, err := store.GetScrapeJob(ctx, s.Store.DB, taskID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && job.Integrator != who.Name) {
		return nil, NotFound(CodeTaskNotFound, "no task "+taskID.String())
	}
	if err != nil {
		return nil, err
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, err
	}
	batches, err := store.ListScrapeBatches(ctx, s.Store.DB, taskID, after, pageSize+1)
	if err != nil {
		return nil, err
	}
	rep := &TaskReport{Job: job, Batches: batches}
	if len(batches) > pageSize {
		rep.Batches = batches[:pageSize]
		rep.NextCursor = encodeCursor(rep.Batches[pageSize-1].BatchNumber)
	}
	if job.Status == store.ScrapeBuffered {
		rep.WaitingReason = s.waitingReason(ctx, job)
	}
	return rep, nil
}

// waitingReason is the row's own reason when admission looked at it, else
// one derived from the lane's last tick.
func (s *Scrapes) waitingReason(ctx context.Context, job *store.ScrapeJob) string {
	if job.WaitingReason != "" {
		return job.WaitingReason
	}
	snap, err := store.GetAdmissionLane(ctx, s.Store.DB, workflows.LaneScrape)
	if err != nil {
		return "waiting for the first admission tick"
	}
	return derivedReason(*snap, job)
}

func derivedReason(s store.AdmissionSnapshot, job *store.ScrapeJob) string {
	for _, t := range s.Backlog {
		if t.Priority < job.Priority {
			return fmt.Sprintf("tier blocked: %d job(s) of the more urgent tier %d go first", t.Jobs, t.Priority)
		}
	}
	switch {
	case s.Workers == 0:
		return "no running scrape workers"
	case s.InFlight >= s.Gate:
		return fmt.Sprintf("gate full: %d of %d slots in flight", s.InFlight, s.Gate)
	case job.SubmittedAt.After(s.At):
		return "submitted after the last admission tick; the next one will look at it"
	default:
		return ReasonQueuedBehindPublisher
	}
}

// ReasonQueuedBehindPublisher explains a job behind older jobs of its own
// publisher, which round-robin serves one slot at a time.
const ReasonQueuedBehindPublisher = "publisher's turn: older jobs of the same publisher are ahead of it"

// Cursors are opaque to clients: base64 of the last batch number served.
func encodeCursor(batchNumber int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("batch:" + strconv.Itoa(batchNumber)))
}

func decodeCursor(cursor string) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	n, convErr := strconv.Atoi(strings.TrimPrefix(string(raw), "batch:"))
	if err != nil || convErr != nil || !strings.HasPrefix(string(raw), "batch:") || n < 0 {
		return 0, Invalid(CodeInvalidCursor, "cursor is not one this API issued").
			WithDetails(map[string]any{"body.cursor": []string{"invalid cursor"}})
	}
	return n, nil
}

// PublisherInfo is what an integrator may know of a publisher.
type PublisherInfo struct {
	PublisherKey string
	DisplayName  string
	Active       bool
	PostingMode  store.PostingMode
	AuthType     store.AuthType
}

// GetPublisherInfo returns a publisher's public facts. It returns 404
// UNKNOWN_PUBLISHER for a key that names no live publisher.
func (s *Scrapes) GetPublisherInfo(ctx context.Context, key string) (PublisherInfo, error) {
	pc, err := store.GetPublisherConfiguration(ctx, s.Store.DB, key)
	if errors.Is(err, store.ErrNotFound) {
		return PublisherInfo{}, NotFound(CodeUnknownPublisher, fmt.Sprintf("publisher %q is not known", key))
	}
	if err != nil {
		return PublisherInfo{}, err
	}
	mode := pc.PostingMode
	if mode == "" {
		mode = store.PostingModeDisabled
	}
	return PublisherInfo{PublisherKey: pc.PublisherKey, DisplayName: pc.DisplayName, Active: pc.Active, PostingMode: mode, AuthType: pc.AuthType}, nil
}
