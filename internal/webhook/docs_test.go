package webhook_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/internal/signing"
	"github.com/reviewdata/rd/internal/webhook"
)

// codeBlock returns the fenced code block that follows marker in doc.
func codeBlock(t *testing.T, doc, marker string) string {
	t.Helper()
	i := strings.Index(doc, marker)
	require.GreaterOrEqual(t, i, 0, "docs/webhooks.md has no %q block", marker)
	rest := doc[i:]
	start := strings.Index(rest, "```")
	require.GreaterOrEqual(t, start, 0)
	rest = rest[start:]
	rest = rest[strings.Index(rest, "\n")+1:]
	end := strings.Index(rest, "```")
	require.GreaterOrEqual(t, end, 0)
	return rest[:end]
}

// signedDelivery is a delivery exactly as RD sends it, signed during a
// rotation with an old and a new secret.
func signedDelivery(t *testing.T) (oldSecret, newSecret string, h http.Header, body []byte) {
	t.Helper()
	older, newer := signing.GenerateSecret(), signing.GenerateSecret()
	body, err := webhook.RenderBody(uuid.New(), webhook.EventDataResult, time.Now(), []byte(`{"task_id":"t-1","status":"COMPLETED"}`))
	require.NoError(t, err)
	h = webhook.Headers(uuid.New(), uuid.New(), webhook.EventDataResult, time.Now(), body, newer, older)
	return older.Encode(), newer.Encode(), h, body
}

// TestDocsVerifyGoCompilesAndVerifies proves the Go verification code in
// docs/webhooks.md works with nothing but itself: it is copied into a
// module of its own (standard library only), compiled, and run against the
// Standard Webhooks spec's published example and against a delivery RD
// signs.
func TestDocsVerifyGoCompilesAndVerifies(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/webhooks.md")
	require.NoError(t, err)
	code := codeBlock(t, string(doc), "<!-- verify-go")

	oldSecret, newSecret, h, body := signedDelivery(t)
	var headerLines []string
	for _, name := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		headerLines = append(headerLines, "h.Set("+strconv.Quote(name)+", "+strconv.Quote(h.Get(name))+")")
	}
	harness := `package rdwebhooks

import (
	"net/http"
	"testing"
	"time"
)

func TestSpecVector(t *testing.T) {
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	secret := []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	body := []byte(` + "`" + `{"test": 2432232314}` + "`" + `)
	if err := VerifyAt(secret, h, body, 5*time.Minute, time.Unix(1614265330, 0)); err != nil {
		t.Fatalf("spec vector: %v", err)
	}
	if VerifyAt(secret, h, append(body, ' '), 5*time.Minute, time.Unix(1614265330, 0)) == nil {
		t.Fatal("a changed body verified")
	}
	if Verify(secret, h, body, 5*time.Minute) == nil {
		t.Fatal("a message from 2021 verified today")
	}
}

func TestRDDelivery(t *testing.T) {
	h := http.Header{}
	` + strings.Join(headerLines, "\n\t") + `
	body := []byte(` + strconv.Quote(string(body)) + `)
	for _, secret := range []string{` + strconv.Quote(oldSecret) + `, ` + strconv.Quote(newSecret) + `} {
		if err := Verify([]string{secret}, h, body, 5*time.Minute); err != nil {
			t.Fatalf("RD's delivery does not verify with one of its secrets: %v", err)
		}
	}
	if Verify([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, h, body, 5*time.Minute) == nil {
		t.Fatal("another secret verified")
	}
}
`
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module rdwebhooks\n\ngo 1.22\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "verify.go"), []byte(code), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "verify_test.go"), []byte(harness), 0o644))
	cmd := exec.CommandContext(t.Context(), "go", "test", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the documented Go code fails:\n%s", out)
}

// TestDocsVerifyPython runs the documented Python function the same way,
// where python3 is installed.
func TestDocsVerifyPython(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed; the Go block is checked regardless")
	}
	doc, err := os.ReadFile("../../docs/webhooks.md")
	require.NoError(t, err)
	code := codeBlock(t, string(doc), "<!-- verify-python")
	oldSecret, newSecret, h, body := signedDelivery(t)
	script := code + `
spec = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
verify(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], spec, b'{"test": 2432232314}', now=1614265330)
try:
    verify(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], spec, b'{"test": 2432232315}', now=1614265330)
    raise SystemExit("a changed body verified")
except ValueError:
    pass
rd = {"webhook-id": ` + strconv.Quote(h.Get("webhook-id")) + `, "webhook-timestamp": ` + strconv.Quote(h.Get("webhook-timestamp")) +
		`, "webhook-signature": ` + strconv.Quote(h.Get("webhook-signature")) + `}
body = ` + strconv.Quote(string(body)) + `.encode()
verify([` + strconv.Quote(oldSecret) + `], rd, body)
verify([` + strconv.Quote(newSecret) + `], rd, body)
print("ok")
`
	cmd := exec.CommandContext(t.Context(), python, "-c", script)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the documented Python code fails:\n%s", out)
	require.Equal(t, "ok\n", string(out))
}
