// Package netguard makes outbound HTTP requests to integrator-supplied URLs
// (webhook endpoints) without letting them reach RD's own network: loopback,
// private, link-local (cloud metadata), CGNAT, multicast and other
// non-public addresses are refused.
//
// The check that matters runs inside the dialer, on the exact address being
// connected after DNS resolution, so a name that resolves to a public address
// at endpoint creation and to 127.0.0.1 later (DNS rebinding) is still
// refused. ValidateURL repeats the check up front only to give the integrator
// a clear error when the endpoint is created.
package netguard

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// DefaultTimeout bounds a whole request (dial, TLS, headers and body) when
// Config.Timeout is zero. A receiver should acknowledge a webhook quickly and
// do its work later; waiting longer only ties up a delivery worker.
const DefaultTimeout = 15 * time.Second

// Config controls the client and the URL check.
type Config struct {
	// AllowPrivate turns the address check off, so loopback and private
	// networks are reachable. Scheme and URL-shape checks still apply.
	// Defaults to false; only the dev stack sets it.
	AllowPrivate bool
	// Timeout bounds a whole request, body included. Defaults to 15s.
	Timeout time.Duration
}

// Error reports a URL or address that netguard refuses. The delivery client
// returns it (wrapped in *url.Error) when a dial is refused; ValidateURL
// returns it directly. Use errors.As to get at it.
type Error struct {
	// URL is the URL as given to ValidateURL; empty for a refused dial.
	URL string
	// Addr is the refused address; invalid (zero) when the URL itself is
	// the problem.
	Addr netip.Addr
	// Reason says what is wrong, in words fit for an API error message,
	// e.g. "loopback address in 127.0.0.0/8".
	Reason string
}

// Error formats the refusal for logs and API responses.
func (e *Error) Error() string {
	switch {
	case e.Addr.IsValid() && e.URL != "":
		return fmt.Sprintf("netguard: %s resolves to %s: %s; webhook endpoints must be publicly reachable", e.URL, e.Addr, e.Reason)
	case e.Addr.IsValid():
		return fmt.Sprintf("netguard: refusing to connect to %s: %s", e.Addr, e.Reason)
	default:
		return fmt.Sprintf("netguard: invalid URL %q: %s", e.URL, e.Reason)
	}
}

// NewClient returns an HTTP client for calling integrator URLs. Unless
// cfg.AllowPrivate is set, every connection's address is checked right
// before connecting and refused with an *Error if it is not public. It never
// follows redirects: a 3xx comes back as the response, and the caller should
// count it as a failed attempt (a redirect could point anywhere, and
// re-validating every hop is more surface than it is worth). It never uses a
// proxy, since the proxy would make the connection the check is meant to
// police. Build one client at start-up and share it.
func NewClient(cfg Config) *http.Client {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivate {
		dialer.Control = controlDial
	}
	transport := &http.Transport{
		// No proxy, not even from the environment: a proxy would connect to
		// the target on our behalf, past the dial-time check.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  1 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// controlDial runs after DNS resolution and before connect(2), once per
// address tried, and refuses addresses that are not public. Checking here
// rather than before resolving is what defeats DNS rebinding.
func controlDial(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Fail closed: the dialer always passes a numeric address here.
		return &Error{Reason: fmt.Sprintf("unparseable dial address %q", address)}
	}
	if reason, blocked := Blocked(ap.Addr()); blocked {
		return &Error{Addr: ap.Addr(), Reason: reason}
	}
	return nil
}

// ValidateURL checks an endpoint URL when it is created: the scheme must be
// http or https, a host must be present, userinfo is not allowed, and (unless
// cfg.AllowPrivate) every address the host resolves to must be public. It
// returns nil or an *Error saying why the URL is refused; a host that does not
// resolve is refused too. Passing this check does not make later requests
// safe by itself: NewClient's dial-time check is the real guard.
func ValidateURL(ctx context.Context, raw string, cfg Config) error {
	u, err := url.Parse(raw)
	if err != nil {
		return &Error{URL: raw, Reason: "not a URL"}
	}
	if reason := shapeProblem(u); reason != "" {
		return &Error{URL: raw, Reason: reason}
	}
	if cfg.AllowPrivate {
		return nil
	}
	addrs, err := resolve(ctx, u.Hostname())
	if err != nil {
		return &Error{URL: raw, Reason: fmt.Sprintf("host %q does not resolve", u.Hostname())}
	}
	for _, addr := range addrs {
		if reason, blocked := Blocked(addr); blocked {
			return &Error{URL: raw, Addr: addr, Reason: reason}
		}
	}
	return nil
}

// shapeProblem returns why u cannot be a webhook endpoint, or "".
func shapeProblem(u *url.URL) string {
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "scheme must be http or https"
	case u.Opaque != "" || u.Hostname() == "":
		return "host is missing"
	case u.User != nil:
		// Credentials in the URL would be sent on every delivery and shown
		// wherever the URL is; integrators authenticate RD by signature.
		return "user info (user:password@) is not allowed"
	case !validPort(u.Port()):
		return "port must be between 1 and 65535"
	}
	return ""
}

// validPort reports whether p is empty (the scheme's default) or 1-65535;
// url.Parse only checks that it is made of digits.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// resolve returns the addresses of host; an IP literal resolves to itself.
func resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if addr, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{addr}, nil
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}
