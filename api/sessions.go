package api

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/reviewdata/rd/internal/authtoken"
	"github.com/reviewdata/rd/service"
)

// LoginInput is an operator's credentials.
type LoginInput struct {
	Body struct {
		Email     string `json:"email" minLength:"1" maxLength:"320" example:"ada@example.com" doc:"The account's email."`
		Password  string `json:"password" minLength:"1" maxLength:"1024" doc:"The account's password."`
		TokenType string `json:"token_type,omitempty" enum:"access,extension" default:"access" doc:"\"access\" for the admin/QA console; \"extension\" for the browser extension, whose tokens only extension operations accept."`
	}
}

// RefreshInput carries a refresh token.
type RefreshInput struct {
	Body struct {
		RefreshToken string `json:"refresh_token" minLength:"1" maxLength:"256" doc:"The refresh token from the last login or refresh."`
	}
}

// SessionOutput is a new session: two secrets shown this once.
type SessionOutput struct {
	Body SessionBody
}

// SessionBody is a new session.
type SessionBody struct {
	AccessToken      string     `json:"access_token" doc:"JWT for \"Authorization: Bearer …\"."`
	TokenType        string     `json:"token_type" enum:"Bearer" doc:"Always \"Bearer\" (RFC 6750)."`
	AccessTokenType  string     `json:"access_token_type" enum:"access,extension" doc:"Which operations accept the token: console (access) or extension ones."`
	ExpiresIn        int        `json:"expires_in" example:"900" doc:"Seconds until the access token expires."`
	ExpiresAt        time.Time  `json:"expires_at" doc:"When the access token expires."`
	RefreshToken     string     `json:"refresh_token" doc:"Single-use token for POST /auth/refresh. Using it twice revokes the whole session."`
	RefreshExpiresAt time.Time  `json:"refresh_expires_at" doc:"When the refresh token expires."`
	User             OperatorMe `json:"user"`
}

// OperatorMe is the authenticated operator.
type OperatorMe struct {
	ID          uuid.UUID `json:"id"`
	Email       string    `json:"email"`
	Roles       []string  `json:"roles" doc:"Role names, sorted."`
	Permissions []string  `json:"permissions" doc:"Every permission the roles grant, sorted."`
}

// OperatorMeOutput answers who-am-I.
type OperatorMeOutput struct {
	Body OperatorMe
}

// sessions serves login, refresh, logout and the extension's session check.
type sessions struct {
	svc *service.Sessions
}

func (h *sessions) login(ctx context.Context, in *LoginInput) (*SessionOutput, error) {
	s, err := h.svc.Login(ctx, in.Body.Email, in.Body.Password, clientIP(ctx), authtoken.TokenType(in.Body.TokenType))
	if err != nil {
		return nil, err
	}
	return sessionOutput(s), nil
}

func (h *sessions) refresh(ctx context.Context, in *RefreshInput) (*SessionOutput, error) {
	s, err := h.svc.Refresh(ctx, in.Body.RefreshToken)
	if err != nil {
		return nil, err
	}
	return sessionOutput(s), nil
}

func (h *sessions) logout(ctx context.Context, in *RefreshInput) (*struct{}, error) {
	return nil, h.svc.Logout(ctx, in.Body.RefreshToken)
}

func (h *sessions) extensionSession(ctx context.Context, _ *struct{}) (*OperatorMeOutput, error) {
	return &OperatorMeOutput{Body: operatorMe(principalFrom(ctx))}, nil
}

func sessionOutput(s service.Session) *SessionOutput {
	return &SessionOutput{Body: SessionBody{
		AccessToken:      s.AccessToken,
		TokenType:        "Bearer",
		AccessTokenType:  string(s.TokenType),
		ExpiresIn:        int(time.Until(s.AccessExpiresAt).Round(time.Second) / time.Second),
		ExpiresAt:        s.AccessExpiresAt,
		RefreshToken:     s.RefreshToken,
		RefreshExpiresAt: s.RefreshExpiresAt,
		User:             operatorMe(s.User),
	}}
}

func operatorMe(p service.Principal) OperatorMe {
	return OperatorMe{ID: p.UserID, Email: p.Email, Roles: nonNil(p.Roles), Permissions: nonNil(p.Permissions)}
}

// nonNil keeps an empty list a JSON array rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
