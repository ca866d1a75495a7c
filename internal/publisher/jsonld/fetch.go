package jsonld

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"

	"github.com/reviewdata/rd/internal/publisher"
)

// document is one fetched page: where it ended up and its markup.
type document struct {
	url *url.URL
	markup
}

// fetch GETs u and parses its markup. Errors are *publisher.Error, or wrap
// context.Canceled.
func (d *Driver) fetch(ctx context.Context, u *url.URL) (*document, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, publisher.NewError(publisher.ReasonInvalidURL, err)
	}
	req.Header.Set("User-Agent", d.opts.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, publisher.TransportError(ctx, err)
	}
	defer resp.Body.Close()
	if err := publisher.StatusError(resp.StatusCode, resp.Header, d.now()); err != nil {
		// Read a little so the connection can be reused for the retry.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, withURL(err, u)
	}
	body, err := d.read(ctx, resp.Body, u)
	if err != nil {
		return nil, err
	}
	return &document{url: resp.Request.URL, markup: parseMarkup(body)}, nil
}

// read reads at most MaxBodyBytes; more is a PARSE_ERROR.
func (d *Driver) read(ctx context.Context, body io.Reader, u *url.URL) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(body, d.opts.MaxBodyBytes+1))
	if err != nil {
		return nil, publisher.TransportError(ctx, err)
	}
	if int64(len(b)) > d.opts.MaxBodyBytes {
		return nil, publisher.Errorf(publisher.ReasonParseError, "GET %s: page larger than %d bytes", u.Redacted(), d.opts.MaxBodyBytes)
	}
	return b, nil
}

// withURL names the page in a publisher error's cause, so a log line says
// which page of a scrape failed.
func withURL(err error, u *url.URL) error {
	if e, ok := errors.AsType[*publisher.Error](err); ok {
		e.Err = fmt.Errorf("GET %s: %w", u.Redacted(), e.Err)
	}
	return err
}

// markup is what the driver needs from a page's HTML.
type markup struct {
	blocks [][]byte // contents of the JSON-LD scripts, in page order
	next   string   // href of the first rel=next <link>, else <a>
	base   string   // href of <base>, if any
}

// parseMarkup tokenises the page rather than building a DOM: it only needs
// a few tags, and the tokenizer copes with any broken HTML a page may have.
func parseMarkup(body []byte) markup {
	var m markup
	var anchorNext string
	inLD := false
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			// io.EOF or a tokenizer error: either way, the page ends here.
			m.next = cmp.Or(m.next, anchorNext)
			return m
		case html.StartTagToken, html.SelfClosingTagToken:
			name, attrs := tag(z)
			inLD = name == "script" && isLDType(attrs["type"])
			switch {
			case name == "link" && m.next == "" && hasRel(attrs["rel"], "next"):
				m.next = attrs["href"]
			case name == "a" && anchorNext == "" && hasRel(attrs["rel"], "next"):
				anchorNext = attrs["href"]
			case name == "base" && m.base == "":
				m.base = attrs["href"]
			}
		case html.TextToken:
			if !inLD {
				continue
			}
			if b := cleanBlock(z.Text()); len(b) > 0 {
				m.blocks = append(m.blocks, b)
			}
		case html.EndTagToken:
			inLD = false
		}
	}
}

// tag returns the current tag's name and attributes (names lower-cased,
// values unescaped, the first of duplicates kept).
func tag(z *html.Tokenizer) (string, map[string]string) {
	name, more := z.TagName()
	attrs := map[string]string{}
	for more {
		var k, v []byte
		k, v, more = z.TagAttr()
		if _, dup := attrs[string(k)]; !dup {
			attrs[string(k)] = strings.TrimSpace(string(v))
		}
	}
	return string(name), attrs
}

func isLDType(t string) bool {
	mediaType, _, _ := strings.Cut(t, ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "application/ld+json")
}

func hasRel(rel, want string) bool {
	for _, r := range strings.Fields(rel) {
		if strings.EqualFold(r, want) {
			return true
		}
	}
	return false
}

// cleanBlock trims a script's text and the wrappers old pages put around
// inline scripts (HTML comments, CDATA sections), and copies it: the
// tokenizer reuses its buffer.
func cleanBlock(b []byte) []byte {
	b = bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(b), []byte("\ufeff")))
	for _, w := range [][2]string{{"<!--", "-->"}, {"//<![CDATA[", "//]]>"}, {"<![CDATA[", "]]>"}} {
		if bytes.HasPrefix(b, []byte(w[0])) && bytes.HasSuffix(b, []byte(w[1])) {
			b = bytes.TrimSpace(b[len(w[0]) : len(b)-len(w[1])])
		}
	}
	return bytes.Clone(b)
}
