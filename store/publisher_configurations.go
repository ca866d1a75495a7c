package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// ScraperEngine is the scraper that serves a publisher.
type ScraperEngine string

// The scraper engines.
const (
	// ScraperEngineSAU is RD's internal scraper.
	ScraperEngineSAU ScraperEngine = "SAU"
	// ScraperEngineLDE is the external LDE scraper.
	ScraperEngineLDE ScraperEngine = "LDE"
)

// PostingMode is how replies to a publisher's reviews are posted.
type PostingMode string

// The posting modes.
const (
	// PostingModeAutomated: a posting workflow logs in and posts.
	PostingModeAutomated PostingMode = "AUTOMATED"
	// PostingModeManualQA: a QA operator posts from the QA board.
	PostingModeManualQA PostingMode = "MANUAL_QA"
	// PostingModeDisabled: replies cannot be posted.
	PostingModeDisabled PostingMode = "DISABLED"
)

// AuthType is how RD authenticates to a publisher.
type AuthType string

// The auth types.
const (
	// AuthTypeOAuth uses an OAuth token.
	AuthTypeOAuth AuthType = "OAUTH"
	// AuthTypeCredentials logs in with a username and password.
	AuthTypeCredentials AuthType = "CREDENTIALS"
	// AuthTypeCookies replays session cookies a QA operator captured.
	AuthTypeCookies AuthType = "COOKIES"
)

// PublisherConfiguration is a row of publisher_configuration: the routing
// brain for one publisher_key (which engine scrapes it, how replies are
// posted, which task queue its work goes to). Rows are soft-deleted, and only
// one live (not deleted) row may hold a publisher_key.
type PublisherConfiguration struct {
	bun.BaseModel `bun:"table:publisher_configuration"`

	// ID identifies the row; set by Upsert.
	ID uuid.UUID `bun:"id,pk,type:uuid"`
	// PublisherKey names the publisher: lower-case letters, digits, '_' and
	// '-', at most 64 characters (it becomes part of task queue names).
	PublisherKey string `bun:"publisher_key"`
	// DisplayName is the name shown to people, like "Google Business Profile".
	DisplayName string `bun:"display_name"`
	// ScraperEngine is SAU or LDE.
	ScraperEngine ScraperEngine `bun:"scraper_engine"`
	// PostingMode is AUTOMATED, MANUAL_QA or DISABLED; zero means DISABLED.
	PostingMode PostingMode `bun:"posting_mode,nullzero"`
	// AuthType is OAUTH, CREDENTIALS or COOKIES.
	AuthType AuthType `bun:"auth_type"`
	// BrowserBacked marks publishers whose work needs a browser, which
	// admission counts against the global browser cap.
	BrowserBacked bool `bun:"browser_backed"`
	// TaskQueue is the Temporal task queue its scrape workflows run on.
	TaskQueue string `bun:"task_queue"`
	// Active says whether new work is accepted for the publisher.
	Active bool `bun:"active"`
	// CreatedAt is set by the database on insert.
	CreatedAt time.Time `bun:"created_at,nullzero"`
	// UpdatedAt is set by the database on every upsert.
	UpdatedAt time.Time `bun:"updated_at,nullzero"`
	// DeletedAt is when the row was soft-deleted; nil while live.
	DeletedAt *time.Time `bun:"deleted_at"`
	// DeletedBy is the user who deleted the row, if known.
	DeletedBy *uuid.UUID `bun:"deleted_by,type:uuid"`
}

// GetPublisherConfiguration returns the live configuration of publisherKey.
//
// It returns an error wrapping ErrNotFound when there is none (never created,
// or soft-deleted).
func GetPublisherConfiguration(ctx context.Context, db bun.IDB, publisherKey string) (*PublisherConfiguration, error) {
	pc := new(PublisherConfiguration)
	err := db.NewSelect().Model(pc).
		Where("publisher_key = ?", publisherKey).
		Where("deleted_at IS NULL").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: get publisher configuration %q: %w", publisherKey, interpretError(err))
	}
	return pc, nil
}

// ListPublisherConfigurations returns every live configuration, ordered by
// publisher_key; an empty slice when there are none. It returns the driver's
// error when the query fails.
func ListPublisherConfigurations(ctx context.Context, db bun.IDB) ([]PublisherConfiguration, error) {
	pcs := []PublisherConfiguration{}
	err := db.NewSelect().Model(&pcs).
		Where("deleted_at IS NULL").
		Order("publisher_key").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list publisher configurations: %w", interpretError(err))
	}
	return pcs, nil
}

// UpsertPublisherConfiguration creates the live configuration of
// pc.PublisherKey, or replaces every field of the existing live one but its
// ID and CreatedAt, and then fills pc from the stored row (ID, CreatedAt,
// UpdatedAt, and PostingMode when it was zero). Soft-deleted rows are never
// touched: upserting a deleted key creates a new row.
//
// It returns an error wrapping ErrInvalid when a field breaks the schema (an
// unknown engine, mode or auth type, a malformed key, an empty name or task
// queue), and ErrConflict when a new row's ID is already taken.
func UpsertPublisherConfiguration(ctx context.Context, db bun.IDB, pc *PublisherConfiguration) error {
	if pc.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("store: upsert publisher configuration: %w", err)
		}
		pc.ID = id
	}
	// The conflict target repeats the partial index's predicate: that is how
	// PostgreSQL infers publisher_configuration_publisher_key_live_idx.
	_, err := db.NewInsert().Model(pc).
		On("CONFLICT (publisher_key) WHERE deleted_at IS NULL DO UPDATE").
		Set("display_name = EXCLUDED.display_name").
		Set("scraper_engine = EXCLUDED.scraper_engine").
		Set("posting_mode = EXCLUDED.posting_mode").
		Set("auth_type = EXCLUDED.auth_type").
		Set("browser_backed = EXCLUDED.browser_backed").
		Set("task_queue = EXCLUDED.task_queue").
		Set("active = EXCLUDED.active").
		Set("updated_at = now()").
		Returning("*").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: upsert publisher configuration %q: %w", pc.PublisherKey, interpretError(err))
	}
	return nil
}

// SoftDeletePublisherConfiguration marks the live configuration of
// publisherKey deleted as of at, by deletedBy (nil when no user did it). The
// key is then free for a new configuration.
//
// It returns an error wrapping ErrNotFound when there is no live
// configuration of publisherKey.
func SoftDeletePublisherConfiguration(ctx context.Context, db bun.IDB, publisherKey string, deletedBy *uuid.UUID, at time.Time) error {
	res, err := db.NewUpdate().Model((*PublisherConfiguration)(nil)).
		Set("deleted_at = ?", at).
		Set("deleted_by = ?", deletedBy).
		Set("updated_at = now()").
		Where("publisher_key = ?", publisherKey).
		Where("deleted_at IS NULL").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: delete publisher configuration %q: %w", publisherKey, interpretError(err))
	}
	if err := requireOneRow(res); err != nil {
		return fmt.Errorf("store: delete publisher configuration %q: %w", publisherKey, err)
	}
	return nil
}
