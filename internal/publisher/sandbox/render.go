package sandbox

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The JSON-LD shapes the sandbox publishes: a schema.org LocalBusiness with an
// AggregateRating and a review array, owner replies as Comments by the
// business (an Organization).
type (
	ldBusiness struct {
		Context         string       `json:"@context"`
		Type            string       `json:"@type"`
		ID              string       `json:"@id"`
		Name            string       `json:"name"`
		URL             string       `json:"url"`
		AggregateRating *ldAggregate `json:"aggregateRating,omitempty"`
		Review          []ldReview   `json:"review"`
	}
	ldAggregate struct {
		Type        string  `json:"@type"`
		RatingValue float64 `json:"ratingValue"`
		ReviewCount int     `json:"reviewCount"`
		BestRating  int     `json:"bestRating"`
		WorstRating int     `json:"worstRating"`
	}
	ldReview struct {
		Type          string      `json:"@type"`
		ID            string      `json:"@id"`
		Identifier    string      `json:"identifier"`
		URL           string      `json:"url"`
		Author        any         `json:"author"`
		DatePublished string      `json:"datePublished"`
		DateModified  string      `json:"dateModified,omitempty"`
		InLanguage    string      `json:"inLanguage"`
		Name          string      `json:"name"`
		ReviewBody    string      `json:"reviewBody"`
		ReviewRating  ldRating    `json:"reviewRating"`
		Comment       []ldComment `json:"comment,omitempty"`
	}
	ldRating struct {
		Type        string `json:"@type"`
		RatingValue any    `json:"ratingValue"`
		BestRating  int    `json:"bestRating"`
		WorstRating int    `json:"worstRating"`
	}
	ldComment struct {
		Type        string  `json:"@type"`
		Text        string  `json:"text"`
		DateCreated string  `json:"dateCreated"`
		Author      ldThing `json:"author"`
	}
	ldThing struct {
		Type string `json:"@type"`
		Name string `json:"name"`
	}
)

// view is what the HTML template renders.
type view struct {
	Name, Prev, Next string
	Count            int
	Average          float64
	JSONLD           template.JS
	Reviews          []reviewView
}

// reviewView exposes a review's fields to the template, which cannot read
// unexported ones.
type reviewView struct {
	ID, Title, Author, Text string
	Rating                  int
	Published               time.Time
	Reply                   *Reply
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"stars": func(n int) string { return strings.Repeat("★", n) + strings.Repeat("☆", 5-n) },
	"date":  func(t time.Time) string { return t.Format("2 Jan 2006") },
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Name}} reviews (sandbox publisher)</title>
{{with .Prev}}<link rel="prev" href="{{.}}">{{end}}
{{with .Next}}<link rel="next" href="{{.}}">{{end}}
<script type="application/ld+json">{{.JSONLD}}</script>
</head>
<body>
<h1>{{.Name}}</h1>
<p>{{.Count}} reviews{{if .Count}}, average {{.Average}} of 5{{end}}. Sandbox publisher: deterministic data for development and tests.</p>
<ol>
{{range .Reviews}}<li id="{{.ID}}"><strong>{{.Title}}</strong> {{stars .Rating}} by {{.Author}}, {{date .Published}}
<p>{{.Text}}</p>{{with .Reply}}
<blockquote>Reply from the owner: {{.Text}}</blockquote>{{end}}</li>
{{end}}</ol>
<nav>{{with .Prev}}<a rel="prev" href="{{.}}">Newer</a>{{end}} {{with .Next}}<a rel="next" href="{{.}}">Older</a>{{end}}</nav>
</body>
</html>
`))

// render writes one HTML page of a business with its JSON-LD.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, b business, reviews []review, l links) {
	avg := b.average()
	ld, err := json.Marshal(businessLD(origin(r), b, avg, reviews))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if b.mode == modeMalformed {
		// Cut the JSON in half: a realistic breakage (a truncated template)
		// that no JSON parser accepts.
		ld = ld[:len(ld)/2]
	}
	v := view{Name: b.name, Prev: l.prev, Next: l.next, Count: b.count, Average: avg,
		// json.Marshal escapes <, > and &, so the block cannot close the
		// script element early.
		JSONLD: template.JS(ld)}
	for _, rv := range reviews {
		v.Reviews = append(v.Reviews, reviewView{ID: rv.id, Title: rv.title, Author: rv.author,
			Text: rv.text, Rating: rv.rating, Published: rv.published, Reply: rv.reply})
	}
	writeHTML(w, pageTemplate, v)
}

// writeHTML renders into a buffer first, so a template bug is a 500 rather
// than a silently truncated page.
func writeHTML(w http.ResponseWriter, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// A failed write means the client left; there is no one to tell.
	_, _ = w.Write(buf.Bytes())
}

func businessLD(origin string, b business, avg float64, reviews []review) ldBusiness {
	bizURL := origin + "/biz/" + url.PathEscape(b.id)
	ld := ldBusiness{
		Context: "https://schema.org", Type: "LocalBusiness", ID: bizURL, Name: b.name, URL: bizURL,
		Review: make([]ldReview, 0, len(reviews)),
	}
	if b.count > 0 {
		ld.AggregateRating = &ldAggregate{Type: "AggregateRating", RatingValue: avg,
			ReviewCount: b.count, BestRating: 5, WorstRating: 1}
	}
	for _, rv := range reviews {
		ld.Review = append(ld.Review, reviewLD(bizURL, b.name, rv))
	}
	return ld
}

func reviewLD(bizURL, bizName string, rv review) ldReview {
	reviewURL := bizURL + "/reviews/" + rv.id
	out := ldReview{
		Type: "Review", ID: reviewURL, Identifier: rv.id, URL: reviewURL,
		Author:        ldThing{Type: "Person", Name: rv.author},
		DatePublished: rv.published.Format(time.RFC3339), InLanguage: "en",
		Name: rv.title, ReviewBody: rv.text,
		ReviewRating: ldRating{Type: "Rating", RatingValue: rv.rating, BestRating: 5, WorstRating: 1},
	}
	if rv.authorAsString {
		out.Author = rv.author
	}
	if rv.ratingAsString {
		out.ReviewRating.RatingValue = strconv.Itoa(rv.rating)
	}
	if !rv.updated.IsZero() {
		out.DateModified = rv.updated.Format(time.RFC3339)
	}
	if rv.reply != nil {
		out.Comment = []ldComment{{Type: "Comment", Text: rv.reply.Text,
			DateCreated: rv.reply.PublishedAt.Format(time.RFC3339),
			Author:      ldThing{Type: "Organization", Name: bizName}}}
	}
	return out
}

// origin is the scheme and host the client used, for absolute @id and url
// values.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

var indexTemplate = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sandbox publisher</title></head>
<body>
<h1>Sandbox publisher</h1>
<p>Deterministic businesses with JSON-LD reviews. The trailing number of an id is its review count.</p>
<ul>{{range .}}
<li><a href="/biz/{{.}}">{{.}}</a></li>{{end}}
</ul>
<p>Failure modes by id prefix: slow-, ratelimit-, flaky-, error-, blocked-, missing-, malformed-.
Parameters: page, per_page, reviews, mode, delay, times, retry_after.</p>
</body>
</html>
`))

func (h *Handler) serveIndex(w http.ResponseWriter, _ *http.Request) {
	examples := []string{"acme-120", "joes-pizza-45", "quiet-cafe-0", "slow-acme-20",
		"ratelimit-acme-40", "flaky-acme-40", "error-acme-10", "blocked-acme-10",
		"missing-acme-10", "malformed-acme-10"}
	writeHTML(w, indexTemplate, examples)
}
