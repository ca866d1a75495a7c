package publisher

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Review is one review in the documented review schema: each line of a
// review batch file in S3 is one Review as JSON. The JSON names are public
// API (docs/review-schema.md); add fields, never rename them.
//
// Optional fields are omitted from the JSON when unknown rather than written
// as zero values, so a consumer can tell "no rating" from a rating of 0.
type Review struct {
	// ReviewID identifies the review at its publisher and is stable across
	// scrapes: the publisher's own id when the markup carries one, else
	// DerivedReviewID over fields that do not change when a review is edited.
	ReviewID string `json:"review_id"`
	// ContentHash is ContentHash(r): lowercase hex SHA-256 of the normalised
	// visible content. The same ReviewID with a new ContentHash means the
	// review was edited or its owner reply changed.
	ContentHash string `json:"content_hash"`
	// Rating is the reviewer's rating on the publisher's scale; nil if none.
	Rating *float64 `json:"rating,omitempty"`
	// BestRating is the top of the rating scale (often 5); nil if not stated.
	BestRating *float64 `json:"best_rating,omitempty"`
	// WorstRating is the bottom of the rating scale (often 1); nil if not stated.
	WorstRating *float64 `json:"worst_rating,omitempty"`
	// Title is the review's headline, if it has one.
	Title string `json:"title,omitempty"`
	// Text is the review body; empty for a rating without words.
	Text string `json:"text"`
	// Author is the reviewer's display name; empty if anonymous.
	Author string `json:"author"`
	// PublishedAt is when the review was first published, in UTC (RFC 3339 in
	// JSON). A date-only publication is midnight UTC of that day. Omitted if
	// unknown.
	PublishedAt time.Time `json:"published_at,omitzero"`
	// UpdatedAt is when the review was last edited, in UTC; omitted if unknown.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// OwnerReply is the business owner's public answer; nil if none.
	OwnerReply *OwnerReply `json:"owner_reply,omitempty"`
	// ReviewURL is an absolute link to the review, if the publisher has one.
	ReviewURL string `json:"review_url,omitempty"`
	// Language is the review's BCP 47 language tag, if the publisher says.
	Language string `json:"language,omitempty"`
}

// OwnerReply is the business owner's public answer to a review.
type OwnerReply struct {
	// Text is the reply body.
	Text string `json:"text"`
	// PublishedAt is when the reply was published, in UTC; omitted if unknown.
	PublishedAt time.Time `json:"published_at,omitzero"`
}

// Business is what a publisher page says about the reviewed business.
type Business struct {
	// PublisherBusinessID is the publisher's id for the business (for JSON-LD,
	// its @id), if it has one.
	PublisherBusinessID string `json:"publisher_business_id,omitempty"`
	// Name is the business's display name.
	Name string `json:"name,omitempty"`
	// URL is the business's page at the publisher, if stated.
	URL string `json:"url,omitempty"`
	// RatingValue is the aggregate rating; nil if the page shows none.
	RatingValue *float64 `json:"rating_value,omitempty"`
	// RatingCount is how many ratings RatingValue aggregates (falling back to
	// the review count when only that is given); 0 if unknown.
	RatingCount int `json:"rating_count,omitempty"`
	// BestRating is the top of the aggregate's scale; nil if not stated.
	BestRating *float64 `json:"best_rating,omitempty"`
}

// hashVersion prefixes every hashed input so the normalisation can change
// later without old and new hashes ever comparing equal by accident.
const hashVersion = "v1"

// Stamp finishes a parsed review: it converts its times to UTC, sets
// ReviewID to DerivedReviewID(scope, r) when the publisher gave none, and
// sets ContentHash. Drivers call it once per review, after every other field
// is filled. scope names the business stably (its publisher id, or the
// scrape's start URL) so derived ids of different businesses never collide.
func (r *Review) Stamp(scope string) {
	r.PublishedAt = utc(r.PublishedAt)
	r.UpdatedAt = utc(r.UpdatedAt)
	if r.OwnerReply != nil {
		r.OwnerReply.PublishedAt = utc(r.OwnerReply.PublishedAt)
	}
	if strings.TrimSpace(r.ReviewID) == "" {
		r.ReviewID = DerivedReviewID(scope, *r)
	}
	r.ContentHash = ContentHash(*r)
}

// ContentHash returns the lowercase hex SHA-256 of the review's visible
// content: rating and scale, title, text, author and owner reply text, each
// trimmed with inner whitespace runs collapsed to one space. Ids, URLs and
// times are left out: they are not content, and publishers reformat them.
func ContentHash(r Review) string {
	reply := ""
	if r.OwnerReply != nil {
		reply = r.OwnerReply.Text
	}
	return hashFields(
		formatRating(r.Rating), formatRating(r.BestRating), formatRating(r.WorstRating),
		normalise(r.Title), normalise(r.Text), normalise(r.Author), normalise(reply),
	)
}

// DerivedReviewID returns "rd-" and 32 hex digits of a SHA-256 over fields
// an edit does not change: scope, author and publication time. Text joins
// them only when the publication time is unknown, since then author alone
// would merge every anonymous review; such ids change if the text is edited.
func DerivedReviewID(scope string, r Review) string {
	parts := []string{normalise(scope), normalise(r.Author)}
	if r.PublishedAt.IsZero() {
		parts = append(parts, "", normalise(r.Text))
	} else {
		parts = append(parts, r.PublishedAt.UTC().Format(time.RFC3339Nano))
	}
	return "rd-" + hashFields(parts...)[:32]
}

func hashFields(fields ...string) string {
	h := sha256.New()
	h.Write([]byte(hashVersion))
	for _, f := range fields {
		// The unit separator cannot occur in normalised text, so field
		// boundaries are unambiguous ("ab","c" never hashes like "a","bc").
		h.Write([]byte{0x1f})
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// normalise trims s and collapses runs of whitespace to one space. The unit
// separator counts as whitespace so that it never survives into hashFields.
func normalise(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == 0x1f || unicode.IsSpace(r)
	}), " ")
}

func formatRating(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'g', -1, 64)
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
