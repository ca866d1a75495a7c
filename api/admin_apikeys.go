package api

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

// APIKey is an integrator key as admins see it: its public prefix, never the
// key or its hash.
type APIKey struct {
	ID                 uuid.UUID  `json:"id"`
	Prefix             string     `json:"prefix" example:"k3j5x2m4q7w8e9r2" doc:"The key's public part, shown in logs and here; the secret part is never shown again."`
	Name               string     `json:"name" example:"RM production"`
	Integrator         string     `json:"integrator" example:"rm"`
	Environment        string     `json:"environment" enum:"production,test"`
	ScrapePriority     int        `json:"scrape_priority" doc:"Admission priority of the key's scrapes: 100 production, 1000 test."`
	RateLimitPerMinute *int       `json:"rate_limit_per_minute" doc:"The key's own request limit per minute; null uses the deployment default."`
	CreatedAt          time.Time  `json:"created_at"`
	RevokedAt          *time.Time `json:"revoked_at,omitempty"`
}

// APIKeyOutput is one key.
type APIKeyOutput struct {
	Body APIKey
}

// CreatedAPIKeyOutput is a new key, with its secret this once.
type CreatedAPIKeyOutput struct {
	Body struct {
		APIKey APIKey `json:"api_key"`
		Key    string `json:"key" example:"rd_live_k3j5x2m4q7w8e9r2_…" doc:"The full key. Shown only in this response: store it now."`
	}
}

// APIKeyListOutput is a list of keys.
type APIKeyListOutput struct {
	Body struct {
		APIKeys []APIKey `json:"api_keys"`
	}
}

// CreateAPIKeyInput issues a key.
type CreateAPIKeyInput struct {
	Body struct {
		Name               string `json:"name" minLength:"1" maxLength:"200" example:"RM production"`
		Integrator         string `json:"integrator" minLength:"1" maxLength:"100" example:"rm"`
		Environment        string `json:"environment" enum:"production,test" doc:"production keys get scrape priority 100, test keys 1000."`
		RateLimitPerMinute *int   `json:"rate_limit_per_minute,omitempty" minimum:"1" maximum:"1000000" doc:"Overrides the default request limit per minute."`
	}
}

// ListAPIKeysInput filters the list.
type ListAPIKeysInput struct {
	Integrator     string `query:"integrator" maxLength:"100" doc:"Only this integrator's keys."`
	Prefix         string `query:"prefix" maxLength:"64" doc:"Only the key with this prefix, as logs and support tickets show it."`
	IncludeRevoked bool   `query:"include_revoked" doc:"Also list revoked keys."`
}

// APIKeyIDInput addresses one key.
type APIKeyIDInput struct {
	ID uuid.UUID `path:"id"`
}

// UpdateAPIKeyInput changes a key's rate limit.
type UpdateAPIKeyInput struct {
	ID   uuid.UUID `path:"id"`
	Body struct {
		RateLimitPerMinute *int `json:"rate_limit_per_minute" required:"true" nullable:"true" minimum:"1" maximum:"1000000" doc:"Requests per minute; null restores the default."`
	}
}

// adminAPIKeys serves the API key endpoints.
type adminAPIKeys struct {
	svc *service.APIKeys
}

func (h *adminAPIKeys) create(ctx context.Context, in *CreateAPIKeyInput) (*CreatedAPIKeyOutput, error) {
	created, err := h.svc.Create(ctx, in.Body.Name, in.Body.Integrator, store.Environment(in.Body.Environment), in.Body.RateLimitPerMinute)
	if err != nil {
		return nil, err
	}
	out := &CreatedAPIKeyOutput{}
	out.Body.APIKey, out.Body.Key = apiKeyFrom(created.Key), created.Plain
	return out, nil
}

func (h *adminAPIKeys) list(ctx context.Context, in *ListAPIKeysInput) (*APIKeyListOutput, error) {
	keys, err := h.svc.List(ctx, store.APIKeyFilter{Integrator: in.Integrator, Prefix: in.Prefix, IncludeRevoked: in.IncludeRevoked})
	if err != nil {
		return nil, err
	}
	out := &APIKeyListOutput{}
	out.Body.APIKeys = make([]APIKey, len(keys))
	for i := range keys {
		out.Body.APIKeys[i] = apiKeyFrom(&keys[i])
	}
	return out, nil
}

func (h *adminAPIKeys) update(ctx context.Context, in *UpdateAPIKeyInput) (*APIKeyOutput, error) {
	return apiKeyOutput(h.svc.SetRateLimit(ctx, in.ID, in.Body.RateLimitPerMinute))
}

func (h *adminAPIKeys) revoke(ctx context.Context, in *APIKeyIDInput) (*APIKeyOutput, error) {
	return apiKeyOutput(h.svc.Revoke(ctx, in.ID))
}

func apiKeyOutput(k *store.APIKey, err error) (*APIKeyOutput, error) {
	if err != nil {
		return nil, err
	}
	return &APIKeyOutput{Body: apiKeyFrom(k)}, nil
}

// apiKeyFrom copies the public fields; KeyHash never leaves the store.
func apiKeyFrom(k *store.APIKey) APIKey {
	return APIKey{
		ID: k.ID, Prefix: k.Prefix, Name: k.Name, Integrator: k.Integrator, Environment: string(k.Environment),
		ScrapePriority: k.ScrapePriority, RateLimitPerMinute: k.RateLimitPerMinute,
		CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt,
	}
}
