package jsonld

import (
	"cmp"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file reads JSON-LD values leniently: publishers write the same
// property as a string, a number, an object or an array of any of those.

// list returns v as a slice: itself if an array, else a one-element slice
// (empty for nil).
func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// text returns a string or number as trimmed text, the first usable element
// of an array, or "" for anything else.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		for _, e := range x {
			if s := text(e); s != "" {
				return s
			}
		}
	}
	return ""
}

// name reads a person or organisation: a string, an object's name (or given
// and family names), or the first of an array.
func name(v any) string {
	switch x := v.(type) {
	case node:
		if n := text(x["name"]); n != "" {
			return n
		}
		return strings.TrimSpace(text(x["givenName"]) + " " + text(x["familyName"]))
	case []any:
		for _, e := range x {
			if n := name(e); n != "" {
				return n
			}
		}
		return ""
	default:
		return text(v)
	}
}

// identifier reads schema.org identifier: text, or a PropertyValue's value.
func identifier(v any) string {
	if n, ok := v.(node); ok {
		return text(n["value"])
	}
	if l, ok := v.([]any); ok && len(l) > 0 {
		return identifier(l[0])
	}
	return text(v)
}

// nodeID returns an item's @id, except a blank-node id ("_:b0"), which
// processors renumber at will and so is no stable id.
func nodeID(n node) string {
	id := text(n["@id"])
	if strings.HasPrefix(id, "_:") {
		return ""
	}
	return id
}

// language reads inLanguage: a tag, or a Language object's alternateName.
func language(v any) string {
	if n, ok := v.(node); ok {
		return cmp.Or(text(n["alternateName"]), text(n["name"]))
	}
	return text(v)
}

// number reads a number or numeric string ("4", "4.5", "4,5"); nil if absent
// or unreadable.
func number(v any) *float64 {
	switch x := v.(type) {
	case float64:
		return &x
	case string:
		s := strings.TrimSpace(x)
		if !strings.Contains(s, ".") {
			s = strings.Replace(s, ",", ".", 1)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil
		}
		return &f
	}
	return nil
}

// dateLayouts are the date forms seen in review markup, most common first.
// Layouts without a zone parse as UTC.
var dateLayouts = []string{
	time.RFC3339, // also accepts fractional seconds
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02",
	"2006/01/02",
	time.RFC1123Z,
	time.RFC1123,
	"January 2, 2006",
	"Jan 2, 2006",
	"2 January 2006",
	"2 Jan 2006",
}

// date parses s in any of dateLayouts, in UTC; zero if s is empty or no
// layout fits (a review with an unreadable date is still a review).
func date(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// absURL resolves a possibly relative URL against the page; "" stays "", and
// an unparseable value is dropped.
func absURL(page *url.URL, ref string) string {
	if ref == "" {
		return ""
	}
	u, err := page.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return u.String()
}

// types returns an item's @type values without their vocabulary prefix
// ("http://schema.org/Review" and "schema:Review" are both "Review").
func types(n node) []string {
	var out []string
	for _, t := range list(n["@type"]) {
		s := text(t)
		if i := strings.LastIndexAny(s, "/#:"); i >= 0 {
			s = s[i+1:]
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func hasType(n node, want ...string) bool {
	for _, t := range types(n) {
		for _, w := range want {
			if equalFold(t, w) {
				return true
			}
		}
	}
	return false
}

func isReview(n node) bool {
	return hasType(n, "Review", "UserReview", "CriticReview", "EmployerReview")
}

// isBusiness reports whether an item looks like the thing reviewed: it
// carries reviews or an aggregate rating, whatever its type.
func isBusiness(n node) bool {
	_, agg := n["aggregateRating"]
	_, rev := n["review"]
	_, revs := n["reviews"]
	return agg || rev || revs
}

func equalFold(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}
