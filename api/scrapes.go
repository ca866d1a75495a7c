package api

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/reviewdata/rd/internal/logging"
	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

// scrapes holds the integrator scrape operations.
type scrapes struct {
	svc *service.Scrapes
}

// APIKeyField is the API key as integrators send it in the body; the
// X-API-Key header may carry it instead.
type APIKeyField struct {
	APIKey string `json:"api_key,omitempty" doc:"Your API key, unless sent in the X-API-Key header." example:"rd_live_abcdefghijklmnop_..."`
}

// RequestReviewsInput asks for a business's reviews on one publisher.
type RequestReviewsInput struct {
	Body struct {
		APIKeyField
		ForeignKey         string `json:"foreign_key" minLength:"1" maxLength:"255" doc:"Your reference for this request; echoed back. A repeat within 10 minutes returns the first task." example:"rm-req-1042"`
		ExternalLocationID string `json:"external_location_id" minLength:"1" maxLength:"255" doc:"Your id of the business." example:"biz-77"`
		PublisherKey       string `json:"publisher_key" minLength:"1" maxLength:"64" doc:"The publisher to scrape (see /get-publisher-info)." example:"sandbox"`
		URL                string `json:"url" minLength:"1" maxLength:"2048" doc:"The business's page on the publisher." example:"http://127.0.0.1:8090/biz/acme-120"`
		FromDate           string `json:"from_date,omitempty" format:"date" doc:"Only reviews published on or after this day." example:"2025-01-01"`
		MaxReviews         *int   `json:"max_reviews,omitempty" minimum:"1" maximum:"100000" doc:"Stop after this many reviews." example:"200"`
	}
}

// AcceptedOutput answers an accepted long-running request.
type AcceptedOutput struct {
	Body struct {
		Code      int    `json:"code" example:"202" doc:"The HTTP status, repeated."`
		Status    string `json:"status" enum:"accepted" doc:"Always \"accepted\"."`
		TaskID    string `json:"task_id" format:"uuid" doc:"Poll /retrieve-task with it, or wait for the DATA_RESULT webhook."`
		RequestID string `json:"request_id" doc:"This request's ID (the first request's, for a deduplicated repeat)."`
		Duplicate bool   `json:"duplicate" doc:"True when this repeated an earlier request and nothing new was created."`
	}
}

func (h *scrapes) requestReviews(ctx context.Context, in *RequestReviewsInput) (*AcceptedOutput, error) {
	req, err := scrapeRequest(in)
	if err != nil {
		return nil, err
	}
	job, created, err := h.svc.RequestReviews(ctx, integratorFrom(ctx), logging.RequestID(ctx), req)
	if err != nil {
		return nil, err
	}
	out := &AcceptedOutput{}
	out.Body.Code, out.Body.Status = 202, "accepted"
	out.Body.TaskID, out.Body.RequestID, out.Body.Duplicate = job.TaskID.String(), job.RequestID, !created
	return out, nil
}

func scrapeRequest(in *RequestReviewsInput) (service.ScrapeRequest, error) {
	b := in.Body
	req := service.ScrapeRequest{ForeignKey: b.ForeignKey, ExternalLocationID: b.ExternalLocationID,
		PublisherKey: b.PublisherKey, URL: b.URL, MaxReviews: b.MaxReviews}
	if b.FromDate != "" {
		d, err := time.Parse(time.DateOnly, b.FromDate)
		if err != nil { // Huma's format check makes this unreachable; kept for safety
			return req, service.Invalid(service.CodeValidationFailed, "from_date must be YYYY-MM-DD")
		}
		req.FromDate = &d
	}
	return req, nil
}

// RetrieveTaskInput asks for a task's state and a page of its batches.
type RetrieveTaskInput struct {
	Body struct {
		APIKeyField
		TaskID   string `json:"task_id" format:"uuid" doc:"The task_id /request-reviews returned."`
		PageSize int    `json:"page_size,omitempty" minimum:"1" maximum:"100" default:"20" doc:"Batches per page."`
		Cursor   string `json:"cursor,omitempty" maxLength:"200" doc:"next_cursor of the previous page; empty for the first."`
	}
}

// TaskOutput is a task's state and a page of its batches.
type TaskOutput struct {
	Body struct {
		Code   int      `json:"code" example:"200"`
		Status string   `json:"status" enum:"success"`
		Task   TaskView `json:"task"`
	}
}

// TaskView is a scrape task as integrators see it.
type TaskView struct {
	TaskID        string      `json:"task_id" format:"uuid"`
	ForeignKey    string      `json:"foreign_key"`
	PublisherKey  string      `json:"publisher_key"`
	Status        string      `json:"status" enum:"BUFFERED,PENDING_SCRAPE,QUEUED,IN_PROGRESS,COMPLETED,FAILED,CANCELLED"`
	WaitingReason string      `json:"waiting_reason,omitempty" doc:"Why a BUFFERED task has not started yet."`
	FailureReason string      `json:"failure_reason,omitempty" doc:"For FAILED tasks: INVALID_URL, PUBLISHER_UNAVAILABLE, BLOCKED, RATE_LIMITED, PARSE_ERROR, TIMEOUT, NOT_FOUND or UNKNOWN."`
	FailureDetail string      `json:"failure_detail,omitempty"`
	ReviewCount   int         `json:"review_count"`
	Timings       TaskTimings `json:"timings"`
	Batches       []BatchView `json:"batches" doc:"Review batches (JSON lines), oldest first."`
	NextCursor    string      `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last."`
}

// TaskTimings are a task's milestones.
type TaskTimings struct {
	SubmittedAt time.Time  `json:"submitted_at"`
	AdmittedAt  *time.Time `json:"admitted_at,omitempty"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
}

// BatchView is one downloadable batch of reviews.
type BatchView struct {
	BatchNumber int    `json:"batch_number"`
	URL         string `json:"url" format:"uri"`
	ReviewCount int    `json:"review_count"`
	SHA256      string `json:"sha256"`
}

func (h *scrapes) retrieveTask(ctx context.Context, in *RetrieveTaskInput) (*TaskOutput, error) {
	taskID, err := uuid.Parse(in.Body.TaskID)
	if err != nil {
		return nil, service.NotFound(service.CodeTaskNotFound, "no task "+in.Body.TaskID)
	}
	rep, err := h.svc.RetrieveTask(ctx, integratorFrom(ctx), taskID, in.Body.PageSize, in.Body.Cursor)
	if err != nil {
		return nil, err
	}
	out := &TaskOutput{}
	out.Body.Code, out.Body.Status, out.Body.Task = 200, "success", taskView(rep)
	return out, nil
}

func taskView(rep *service.TaskReport) TaskView {
	j := rep.Job
	v := TaskView{
		TaskID: j.TaskID.String(), ForeignKey: j.ForeignKey, PublisherKey: j.PublisherKey, Status: string(j.Status),
		WaitingReason: rep.WaitingReason, FailureReason: j.FailureReason, FailureDetail: j.FailureDetail,
		ReviewCount: j.ReviewCount, NextCursor: rep.NextCursor, Batches: []BatchView{},
		Timings: TaskTimings{SubmittedAt: j.SubmittedAt, AdmittedAt: j.AdmittedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt},
	}
	for _, b := range rep.Batches {
		v.Batches = append(v.Batches, batchView(b))
	}
	return v
}

func batchView(b store.ScrapeResultBatch) BatchView {
	return BatchView{BatchNumber: b.BatchNumber, URL: b.URL, ReviewCount: b.ReviewCount, SHA256: b.SHA256}
}

// PublisherInfoInput names a publisher.
type PublisherInfoInput struct {
	Body struct {
		APIKeyField
		PublisherKey string `json:"publisher_key" minLength:"1" maxLength:"64" example:"sandbox"`
	}
}

// PublisherInfoOutput is what an integrator may know of a publisher.
type PublisherInfoOutput struct {
	Body struct {
		Code      int           `json:"code" example:"200"`
		Status    string        `json:"status" enum:"success"`
		Publisher PublisherView `json:"publisher"`
	}
}

// PublisherView is a publisher's public facts.
type PublisherView struct {
	PublisherKey string `json:"publisher_key"`
	DisplayName  string `json:"display_name"`
	Active       bool   `json:"active" doc:"Whether new scrapes are accepted."`
	PostingMode  string `json:"posting_mode" enum:"AUTOMATED,MANUAL_QA,DISABLED" doc:"How replies are posted."`
	AuthType     string `json:"auth_type" enum:"OAUTH,CREDENTIALS,COOKIES"`
}

func (h *scrapes) publisherInfo(ctx context.Context, in *PublisherInfoInput) (*PublisherInfoOutput, error) {
	info, err := h.svc.GetPublisherInfo(ctx, in.Body.PublisherKey)
	if err != nil {
		return nil, err
	}
	out := &PublisherInfoOutput{}
	out.Body.Code, out.Body.Status = 200, "success"
	out.Body.Publisher = PublisherView{PublisherKey: info.PublisherKey, DisplayName: info.DisplayName, Active: info.Active,
		PostingMode: string(info.PostingMode), AuthType: string(info.AuthType)}
	return out, nil
}
