package api

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

// PublisherConfiguration is the routing brain of one publisher, as admins
// see and edit it.
type PublisherConfiguration struct {
	ID            uuid.UUID `json:"id"`
	PublisherKey  string    `json:"publisher_key" example:"google"`
	DisplayName   string    `json:"display_name" example:"Google Business Profile"`
	ScraperEngine string    `json:"scraper_engine" enum:"SAU,LDE"`
	PostingMode   string    `json:"posting_mode" enum:"AUTOMATED,MANUAL_QA,DISABLED"`
	AuthType      string    `json:"auth_type" enum:"OAUTH,CREDENTIALS,COOKIES"`
	BrowserBacked bool      `json:"browser_backed"`
	TaskQueue     string    `json:"task_queue" example:"scraping-internal"`
	Active        bool      `json:"active"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// PublisherConfigurationFields are the editable fields.
type PublisherConfigurationFields struct {
	DisplayName   string `json:"display_name" minLength:"1" maxLength:"200" example:"Google Business Profile"`
	ScraperEngine string `json:"scraper_engine" enum:"SAU,LDE" doc:"SAU (internal scraper) or LDE (external)."`
	PostingMode   string `json:"posting_mode,omitempty" enum:"AUTOMATED,MANUAL_QA,DISABLED" default:"DISABLED"`
	AuthType      string `json:"auth_type" enum:"OAUTH,CREDENTIALS,COOKIES"`
	BrowserBacked bool   `json:"browser_backed,omitempty" doc:"Work needs a browser and counts against the global browser cap."`
	TaskQueue     string `json:"task_queue" minLength:"1" maxLength:"200" example:"scraping-internal" doc:"Temporal task queue of the publisher's scrape workflows."`
	Active        *bool  `json:"active,omitempty" doc:"Whether new work is accepted. Defaults to true."`
}

// CreatePublisherConfigurationInput configures a new publisher.
type CreatePublisherConfigurationInput struct {
	Body struct {
		PublisherKey string `json:"publisher_key" pattern:"^[a-z0-9][a-z0-9_-]{0,63}$" example:"google"`
		PublisherConfigurationFields
	}
}

// UpdatePublisherConfigurationInput replaces a publisher's configuration.
type UpdatePublisherConfigurationInput struct {
	PublisherKey string `path:"publisher_key" maxLength:"64"`
	Body         PublisherConfigurationFields
}

// PublisherKeyInput addresses one publisher.
type PublisherKeyInput struct {
	PublisherKey string `path:"publisher_key" maxLength:"64"`
}

// PublisherConfigurationOutput is one configuration.
type PublisherConfigurationOutput struct {
	Body PublisherConfiguration
}

// PublisherConfigurationListOutput is every live configuration.
type PublisherConfigurationListOutput struct {
	Body struct {
		Publishers []PublisherConfiguration `json:"publishers"`
	}
}

// adminPublishers serves the publisher configuration endpoints.
type adminPublishers struct {
	svc *service.PublisherAdmin
}

func (h *adminPublishers) list(ctx context.Context, _ *struct{}) (*PublisherConfigurationListOutput, error) {
	pcs, err := h.svc.List(ctx)
	if err != nil {
		return nil, err
	}
	out := &PublisherConfigurationListOutput{}
	out.Body.Publishers = make([]PublisherConfiguration, len(pcs))
	for i := range pcs {
		out.Body.Publishers[i] = publisherFrom(&pcs[i])
	}
	return out, nil
}

func (h *adminPublishers) get(ctx context.Context, in *PublisherKeyInput) (*PublisherConfigurationOutput, error) {
	pc, err := h.svc.Get(ctx, in.PublisherKey)
	if err != nil {
		return nil, err
	}
	return &PublisherConfigurationOutput{Body: publisherFrom(pc)}, nil
}

func (h *adminPublishers) create(ctx context.Context, in *CreatePublisherConfigurationInput) (*PublisherConfigurationOutput, error) {
	pc := publisherRow(in.Body.PublisherKey, in.Body.PublisherConfigurationFields)
	if err := h.svc.Create(ctx, pc); err != nil {
		return nil, err
	}
	return &PublisherConfigurationOutput{Body: publisherFrom(pc)}, nil
}

func (h *adminPublishers) update(ctx context.Context, in *UpdatePublisherConfigurationInput) (*PublisherConfigurationOutput, error) {
	pc := publisherRow(in.PublisherKey, in.Body)
	if err := h.svc.Update(ctx, in.PublisherKey, pc); err != nil {
		return nil, err
	}
	return &PublisherConfigurationOutput{Body: publisherFrom(pc)}, nil
}

func (h *adminPublishers) delete(ctx context.Context, in *PublisherKeyInput) (*struct{}, error) {
	return nil, h.svc.Delete(ctx, in.PublisherKey, principalFrom(ctx).UserID)
}

func publisherRow(key string, f PublisherConfigurationFields) *store.PublisherConfiguration {
	active := f.Active == nil || *f.Active
	return &store.PublisherConfiguration{
		PublisherKey: key, DisplayName: f.DisplayName, ScraperEngine: store.ScraperEngine(f.ScraperEngine),
		PostingMode: store.PostingMode(f.PostingMode), AuthType: store.AuthType(f.AuthType),
		BrowserBacked: f.BrowserBacked, TaskQueue: f.TaskQueue, Active: active,
	}
}

func publisherFrom(pc *store.PublisherConfiguration) PublisherConfiguration {
	return PublisherConfiguration{
		ID: pc.ID, PublisherKey: pc.PublisherKey, DisplayName: pc.DisplayName,
		ScraperEngine: string(pc.ScraperEngine), PostingMode: string(pc.PostingMode), AuthType: string(pc.AuthType),
		BrowserBacked: pc.BrowserBacked, TaskQueue: pc.TaskQueue, Active: pc.Active,
		CreatedAt: pc.CreatedAt, UpdatedAt: pc.UpdatedAt,
	}
}
