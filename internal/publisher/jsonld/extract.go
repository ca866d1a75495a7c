package jsonld

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/url"
	"slices"

	"github.com/reviewdata/rd/internal/publisher"
)

// node is one JSON-LD object.
type node = map[string]any

// extraction is what one page's JSON-LD yields.
type extraction struct {
	business publisher.Business
	reviews  []publisher.Review
	skipped  int // malformed blocks
}

// extract parses a page's JSON-LD blocks. It returns a PARSE_ERROR if there
// is no block, or if every block is malformed; otherwise malformed blocks are
// skipped and counted.
func extract(blocks [][]byte, page *url.URL) (extraction, error) {
	if len(blocks) == 0 {
		return extraction{}, publisher.Errorf(publisher.ReasonParseError, "%s: no JSON-LD block on the page", page.Redacted())
	}
	w := &walker{page: page, byID: map[string]node{}}
	var ext extraction
	var firstErr error
	for _, b := range blocks {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			ext.skipped++
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		w.walk("", v, nil)
	}
	if ext.skipped == len(blocks) {
		return extraction{}, publisher.Errorf(publisher.ReasonParseError,
			"%s: all %d JSON-LD blocks are malformed: %w", page.Redacted(), len(blocks), firstErr)
	}
	ext.business = w.business()
	ext.reviews = w.reviews(ext.business.Name)
	return ext, nil
}

// found is a review item and the item whose review it is (nil if unknown).
type found struct {
	item, owner node
}

// walker collects reviews and business candidates from decoded JSON-LD.
type walker struct {
	page       *url.URL
	byID       map[string]node // items with content, by @id, to resolve references
	candidates []node          // items that look like the reviewed business
	aggregates []node          // AggregateRating items
	found      []found
}

func (w *walker) walk(key string, v any, owner node) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			w.walk(key, e, owner)
		}
	case node:
		w.walkNode(key, x, owner)
	}
}

func (w *walker) walkNode(key string, n node, owner node) {
	if id := nodeID(n); id != "" && len(n) > 1 {
		w.byID[id] = n
	}
	switch {
	case isReview(n) || ((key == "review" || key == "reviews") && len(types(n)) == 0):
		if ir, ok := n["itemReviewed"].(node); ok && owner == nil {
			owner = ir
			w.candidates = append(w.candidates, ir)
		}
		w.found = append(w.found, found{n, owner})
		return
	case hasType(n, "AggregateRating", "EmployerAggregateRating"):
		w.aggregates = append(w.aggregates, n)
		return
	case isBusiness(n):
		w.candidates = append(w.candidates, n)
		owner = n
	}
	// Sorted keys keep review order deterministic when reviews sit under
	// several keys of one item.
	for _, k := range slices.Sorted(maps.Keys(n)) {
		if k != "@context" {
			w.walk(k, n[k], owner)
		}
	}
}

// resolve replaces a bare {"@id": …} reference with the item it names.
func (w *walker) resolve(n node) node {
	if full, ok := w.byID[nodeID(n)]; ok && len(types(n)) == 0 {
		return full
	}
	return n
}

// business picks the reviewed business: the owner of the first review, else
// the first candidate; a standalone AggregateRating fills in a missing rating.
func (w *walker) business() publisher.Business {
	var n node
	if len(w.found) > 0 && w.found[0].owner != nil {
		n = w.resolve(w.found[0].owner)
	} else if len(w.candidates) > 0 {
		n = w.resolve(w.candidates[0])
	}
	b := businessFrom(n, w.page)
	for _, agg := range w.aggregates {
		if b.RatingValue != nil {
			break
		}
		applyAggregate(&b, agg)
		if ir, ok := agg["itemReviewed"].(node); ok && b.Name == "" {
			b.Name = text(w.resolve(ir)["name"])
		}
	}
	return b
}

// reviews converts the found items, dropping ones with nothing in them.
func (w *walker) reviews(businessName string) []publisher.Review {
	out := make([]publisher.Review, 0, len(w.found))
	for _, f := range w.found {
		owner := businessName
		if f.owner != nil {
			owner = cmp.Or(text(w.resolve(f.owner)["name"]), businessName)
		}
		if r, ok := reviewFrom(f.item, owner, w.page); ok {
			out = append(out, r)
		}
	}
	return out
}

func businessFrom(n node, page *url.URL) publisher.Business {
	if n == nil {
		return publisher.Business{}
	}
	b := publisher.Business{
		PublisherBusinessID: cmp.Or(nodeID(n), identifier(n["identifier"])),
		Name:                text(n["name"]),
		URL:                 absURL(page, text(n["url"])),
	}
	if agg, ok := n["aggregateRating"].(node); ok {
		applyAggregate(&b, agg)
	}
	return b
}

func applyAggregate(b *publisher.Business, agg node) {
	b.RatingValue = number(agg["ratingValue"])
	b.BestRating = number(agg["bestRating"])
	count := number(agg["ratingCount"])
	if count == nil {
		count = number(agg["reviewCount"])
	}
	if count != nil {
		b.RatingCount = int(*count)
	}
}

// reviewFrom reads one Review item. It reports false for an item with no
// title, text or rating: nothing worth storing.
func reviewFrom(n node, businessName string, page *url.URL) (publisher.Review, bool) {
	r := publisher.Review{
		ReviewID:    cmp.Or(identifier(n["identifier"]), nodeID(n)),
		Title:       cmp.Or(text(n["name"]), text(n["headline"])),
		Text:        cmp.Or(text(n["reviewBody"]), text(n["description"]), text(n["text"])),
		Author:      name(n["author"]),
		PublishedAt: date(cmp.Or(text(n["datePublished"]), text(n["dateCreated"]))),
		UpdatedAt:   date(text(n["dateModified"])),
		OwnerReply:  ownerReply(n["comment"], businessName),
		ReviewURL:   absURL(page, text(n["url"])),
		Language:    language(n["inLanguage"]),
	}
	r.Rating, r.BestRating, r.WorstRating = rating(n["reviewRating"])
	return r, r.Title != "" || r.Text != "" || r.Rating != nil
}

// rating reads a reviewRating: a Rating object, or (leniently) a bare value.
func rating(v any) (value, best, worst *float64) {
	if r, ok := v.(node); ok {
		return number(r["ratingValue"]), number(r["bestRating"]), number(r["worstRating"])
	}
	return number(v), nil, nil
}

// ownerReply returns the first comment written by the business: one whose
// author is not a Person, or carries the business's name.
func ownerReply(v any, businessName string) *publisher.OwnerReply {
	for _, c := range list(v) {
		cn, ok := c.(node)
		if !ok || !byOwner(cn["author"], businessName) {
			continue
		}
		body := cmp.Or(text(cn["text"]), text(cn["description"]))
		if body == "" {
			continue
		}
		return &publisher.OwnerReply{
			Text:        body,
			PublishedAt: date(cmp.Or(text(cn["dateCreated"]), text(cn["datePublished"]))),
		}
	}
	return nil
}

func byOwner(author any, businessName string) bool {
	if author == nil {
		// Publishers that mark up replies often leave the author out.
		return true
	}
	if a, ok := author.(node); ok && len(types(a)) > 0 && !hasType(a, "Person") {
		return true
	}
	who := name(author)
	return who == "" || (businessName != "" && equalFold(who, businessName))
}
