package netguard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/netguard"
)

// bundle is a loopback HTTP server that counts the requests it serves, so a
// test can prove a refused request never arrived.
type bundle struct {
	srv  *httptest.Server
	hits *atomic.Int64
}

func setup(t *testing.T, handler http.HandlerFunc) bundle {
	t.Helper()
	hits := new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if handler != nil {
			handler(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return bundle{srv: srv, hits: hits}
}

func port(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	return u.Port()
}

func requireGuardError(t *testing.T, err error) *netguard.Error {
	t.Helper()
	var gerr *netguard.Error
	require.ErrorAs(t, err, &gerr)
	return gerr
}

func TestValidateURLRefusesBlockedAddresses(t *testing.T) {
	t.Parallel()

	for raw, want := range map[string]string{
		"http://127.0.0.1/":                  "loopback",
		"http://127.255.1.2:8080/":           "loopback",
		"http://[::1]/":                      "loopback",
		"http://10.1.2.3/":                   "RFC 1918",
		"http://172.16.0.1/":                 "RFC 1918",
		"http://172.31.255.255/":             "RFC 1918",
		"https://192.168.1.1/hook":           "RFC 1918",
		"http://100.64.0.1/":                 "carrier-grade NAT",
		"http://100.127.255.254/":            "carrier-grade NAT",
		"http://169.254.169.254/latest/":     "link-local",
		"http://169.254.0.1/":                "link-local",
		"http://[fe80::1]/":                  "link-local",
		"http://[fe80::1%25eth0]/":           "link-local",
		"http://[fc00::1]/":                  "unique-local",
		"http://[fd00:ec2::254]/":            "unique-local", // AWS IPv6 metadata
		"http://0.0.0.0/":                    "this network",
		"http://0.1.2.3/":                    "this network",
		"http://[::]/":                       "unspecified",
		"http://224.0.0.1/":                  "multicast",
		"http://239.255.255.250/":            "multicast",
		"http://[ff02::1]/":                  "multicast",
		"http://255.255.255.255/":            "broadcast",
		"http://240.0.0.1/":                  "reserved",
		"http://192.0.0.192/":                "IETF protocol", // Oracle Cloud metadata
		"http://192.0.2.10/":                 "documentation",
		"http://198.51.100.1/":               "documentation",
		"http://203.0.113.9/":                "documentation",
		"http://198.18.0.1/":                 "benchmarking",
		"http://[2001:db8::1]/":              "documentation",
		"http://[::ffff:127.0.0.1]/":         "loopback",
		"http://[::ffff:169.254.169.254]/":   "link-local",
		"http://[::ffff:10.0.0.1]/":          "RFC 1918",
		"http://[64:ff9b::a00:1]/":           "NAT64 form of private",
		"http://[64:ff9b::7f00:1]/":          "NAT64 form of loopback",
		"http://[::127.0.0.1]/":              "IPv4-compatible",
		"http://[2002:7f00:1::]/":            "6to4",
		"http://[fec0::1]/":                  "site-local",
		"http://[100::1]/":                   "discard-only",
		"http://[64:ff9b:1::1]/":             "local-use NAT64",
		"http://[2001:0:4136:e378:8000::1]/": "Teredo",
		"http://[::ffff:0:7f00:1]/":          "IPv4-translated",
	} {
		t.Run(raw, func(t *testing.T) {
			t.Parallel()

			err := netguard.ValidateURL(t.Context(), raw, netguard.Config{})
			gerr := requireGuardError(t, err)
			require.Contains(t, gerr.Reason, want)
			require.Equal(t, raw, gerr.URL)
		})
	}
}

func TestValidateURLAcceptsPublicAddresses(t *testing.T) {
	t.Parallel()

	// IP literals, so the test needs no DNS and no network.
	for _, raw := range []string{
		"https://93.184.215.14/webhooks",
		"http://8.8.8.8:8080/hook?x=1",
		"https://[2606:4700:4700::1111]/hook",
		"https://[64:ff9b::808:808]/", // NAT64 of 8.8.8.8
		"https://100.63.255.255/",     // just below CGNAT
		"https://172.32.0.1/",         // just above 172.16/12
		"HTTPS://1.1.1.1/",
	} {
		require.NoError(t, netguard.ValidateURL(t.Context(), raw, netguard.Config{}), raw)
	}
}

func TestValidateURLRefusesMalformed(t *testing.T) {
	t.Parallel()

	for raw, want := range map[string]string{
		"":                                  "scheme",
		"/relative/hook":                    "scheme",
		"example.com/hook":                  "scheme",
		"ftp://example.com/":                "scheme",
		"file:///etc/passwd":                "scheme",
		"javascript:alert(1)":               "scheme",
		"gopher://127.0.0.1:6379/_INFO":     "scheme",
		"https:///no-host":                  "host is missing",
		"https:opaque":                      "host is missing",
		"https://user:pass@example.com/":    "user info",
		"https://token@example.com/":        "user info",
		"https://exa mple.com/":             "not a URL",
		"http://[::1/":                      "not a URL",
		"https://example.com:99999999999/x": "port",
		"https://example.com:0/x":           "port",
	} {
		t.Run(raw, func(t *testing.T) {
			t.Parallel()

			// AllowPrivate must not relax the shape checks.
			for _, cfg := range []netguard.Config{{}, {AllowPrivate: true}} {
				err := netguard.ValidateURL(t.Context(), raw, cfg)
				gerr := requireGuardError(t, err)
				require.Contains(t, gerr.Reason, want)
				require.False(t, gerr.Addr.IsValid())
			}
		})
	}
}

func TestValidateURLRefusesNameResolvingToLoopback(t *testing.T) {
	t.Parallel()

	err := netguard.ValidateURL(t.Context(), "http://localhost:8080/hook", netguard.Config{})
	gerr := requireGuardError(t, err)
	require.Contains(t, gerr.Reason, "loopback")
	require.True(t, gerr.Addr.Unmap().IsLoopback())
	require.Contains(t, err.Error(), "webhook endpoints must be publicly reachable")
}

func TestValidateURLRefusesUnresolvableHost(t *testing.T) {
	t.Parallel()

	// .invalid never resolves (RFC 6761); refusing it is safer than letting
	// an unchecked name through.
	const raw = "https://hooks.example.invalid/x"
	gerr := requireGuardError(t, netguard.ValidateURL(t.Context(), raw, netguard.Config{}))
	require.Contains(t, gerr.Reason, "does not resolve")
	require.False(t, gerr.Addr.IsValid())
}

func TestValidateURLAllowPrivate(t *testing.T) {
	t.Parallel()

	cfg := netguard.Config{AllowPrivate: true}
	for _, raw := range []string{"http://localhost:8080/hook", "http://127.0.0.1/", "http://10.0.0.5/", "http://[::1]:9000/"} {
		require.NoError(t, netguard.ValidateURL(t.Context(), raw, cfg), raw)
	}
}

func TestBlockedEdgeCases(t *testing.T) {
	t.Parallel()

	reason, blocked := netguard.Blocked(netip.Addr{})
	require.True(t, blocked)
	require.Equal(t, "invalid address", reason)

	// A zone must not hide a link-local address from the prefix match.
	_, blocked = netguard.Blocked(netip.MustParseAddr("fe80::1%eth0"))
	require.True(t, blocked)

	_, blocked = netguard.Blocked(netip.MustParseAddr("93.184.215.14"))
	require.False(t, blocked)
}

// TestClientRefusesBlockedAddressesAtDial shows the dial-time guard on its
// own: the target server is reachable (the AllowPrivate client gets through),
// yet the guarded client's requests never arrive, whether the URL names the
// address directly, via DNS, or in a disguised form.
func TestClientRefusesBlockedAddressesAtDial(t *testing.T) {
	t.Parallel()

	b := setup(t, nil)
	p := port(t, b.srv)

	resp, err := netguard.NewClient(netguard.Config{AllowPrivate: true}).Get(b.srv.URL)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.EqualValues(t, 1, b.hits.Load())

	guarded := netguard.NewClient(netguard.Config{})
	for _, target := range []string{
		"http://127.0.0.1:" + p + "/",
		"http://localhost:" + p + "/",          // DNS name, resolved inside the dialer
		"http://[::ffff:127.0.0.1]:" + p + "/", // IPv4-mapped loopback
		"http://0.0.0.0:" + p + "/",            // Linux routes 0.0.0.0 to the local host
		"http://169.254.169.254/latest/meta-data/",
	} {
		resp, err := guarded.Get(target)
		if resp != nil {
			require.NoError(t, resp.Body.Close())
		}
		gerr := requireGuardError(t, err)
		require.True(t, gerr.Addr.IsValid(), target)
		require.Contains(t, err.Error(), "refusing to connect", target)

		var uerr *url.Error
		require.ErrorAs(t, err, &uerr, "a client error, as for any failed request")
	}
	require.EqualValues(t, 1, b.hits.Load(), "no refused request reached the server")
}

// TestClientDoesNotFollowRedirects shows the redirect policy on its own: the
// client may reach both servers (AllowPrivate), so the only thing keeping it
// from the redirect target is that it does not follow redirects.
func TestClientDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()

	target := setup(t, nil)
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		origin := setup(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.srv.URL+"/internal", status)
		})

		client := netguard.NewClient(netguard.Config{AllowPrivate: true})
		resp, err := client.Post(origin.srv.URL, "application/json", strings.NewReader(`{}`))
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, status, resp.StatusCode, "the 3xx itself is the answer")
		require.Equal(t, target.srv.URL+"/internal", resp.Header.Get("Location"))
		require.EqualValues(t, 1, origin.hits.Load())
	}
	require.Zero(t, target.hits.Load(), "redirect target never contacted")
}

// TestClientRedirectToMetadataIsNotFollowed is the production case: a
// redirect to the metadata address comes back as a 3xx and is never dialled.
// (Were it followed, the guarded dialer would refuse it too; the guarded
// client cannot reach the loopback origin, so AllowPrivate is needed here.)
func TestClientRedirectToMetadataIsNotFollowed(t *testing.T) {
	t.Parallel()

	origin := setup(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/iam/", http.StatusFound)
	})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, origin.srv.URL, nil)
	require.NoError(t, err)

	resp, err := netguard.NewClient(netguard.Config{AllowPrivate: true}).Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusFound, resp.StatusCode)
}

func TestNewClientSettings(t *testing.T) {
	t.Parallel()

	client := netguard.NewClient(netguard.Config{})
	require.Equal(t, netguard.DefaultTimeout, client.Timeout)
	transport, ok := client.Transport.(*http.Transport)
	require.True(t, ok)
	require.Nil(t, transport.Proxy, "HTTP(S)_PROXY must not route around the dial check")

	require.Equal(t, 3*time.Second, netguard.NewClient(netguard.Config{Timeout: 3 * time.Second}).Timeout)
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()

	err := netguard.ValidateURL(t.Context(), "http://169.254.169.254/", netguard.Config{})
	require.EqualError(t, err, "netguard: http://169.254.169.254/ resolves to 169.254.169.254: "+
		"link-local address (cloud metadata lives here) in 169.254.0.0/16; webhook endpoints must be publicly reachable")

	err = netguard.ValidateURL(t.Context(), "ftp://example.com/", netguard.Config{})
	require.EqualError(t, err, `netguard: invalid URL "ftp://example.com/": scheme must be http or https`)
}
