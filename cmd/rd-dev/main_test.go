package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/reviewdata/rd/internal/pgtest"
	"github.com/reviewdata/rd/internal/temporalx"
	temporaldev "github.com/reviewdata/rd/temporal-dev"
	"github.com/reviewdata/rd/workflows"
)

// syncBuffer collects the stack's output from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// devStack is one run of the dev binary's run function on free ports.
type devStack struct {
	env    map[string]string
	cancel context.CancelFunc
	done   chan error
	out    *syncBuffer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := temporaldev.FreeAddr()
	require.NoError(t, err)
	return addr
}

func devEnvFor(t *testing.T) map[string]string {
	return map[string]string{
		"DEV_DIR":              t.TempDir(),
		"DEV_TEMPORAL_ADDR":    freeAddr(t),
		"DEV_TEMPORAL_UI_ADDR": freeAddr(t),
		"DEV_S3_ADDR":          freeAddr(t),
		"DEV_SANDBOX_ADDR":     freeAddr(t),
		"API_ADDR":             freeAddr(t),
		"DATABASE_URL":         pgtest.NewDatabase(t),
		"LOG_LEVEL":            "warn",
	}
}

func startStack(t *testing.T, env map[string]string) *devStack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &devStack{env: env, cancel: cancel, done: make(chan error, 1), out: &syncBuffer{}}
	go func() { s.done <- run(ctx, func(k string) string { return env[k] }, s.out) }()
	t.Cleanup(func() { s.stop(t) })
	s.waitReady(t)
	return s
}

func (s *devStack) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.cancel = nil // nothing left to stop
			t.Fatalf("dev stack exited before it was ready: %v\n%s", err, s.out)
		default:
		}
		if resp, err := http.Get("http://" + s.env["API_ADDR"] + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("dev stack not ready within 90s:\n%s", s.out)
}

// stop cancels the stack (what SIGINT does in main) and requires a clean
// return within the 10 s the dev stack promises.
func (s *devStack) stop(t *testing.T) {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		require.NoError(t, err, s.out.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("dev stack did not stop within 10s:\n%s", s.out)
	}
}

func (s *devStack) temporalClient(t *testing.T) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: s.env["DEV_TEMPORAL_ADDR"]})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func getJSON(t *testing.T, url string, into any) int {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.NoError(t, json.NewDecoder(resp.Body).Decode(into))
	return resp.StatusCode
}

func TestDevStackEndToEnd(t *testing.T) {
	env := devEnvFor(t)
	s := startStack(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("readyz reports every dependency ok over real HTTP", func(t *testing.T) {
		var body struct {
			Status string `json:"status"`
			Checks []struct {
				Name   string `json:"name"`
				Status string `json:"status"`
			} `json:"checks"`
		}
		require.Equal(t, http.StatusOK, getJSON(t, "http://"+env["API_ADDR"]+"/readyz", &body))
		got := map[string]string{}
		for _, c := range body.Checks {
			got[c.Name] = c.Status
		}
		require.Equal(t, map[string]string{"postgres": "ok", "redis": "ok", "temporal": "ok", "s3": "ok"}, got)
	})

	t.Run("the platform worker runs a workflow on the embedded server", func(t *testing.T) {
		c := s.temporalClient(t)
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:        workflows.ProbeWorkflowID(t.Name()),
			TaskQueue: temporalx.QueueMaintenance,
		}, workflows.ProbeWorkflow, workflows.ProbeInput{})
		require.NoError(t, err)
		var res workflows.ProbeResult
		require.NoError(t, run.Get(ctx, &res))
		require.Len(t, res.Dependencies, 4)
		for _, d := range res.Dependencies {
			require.Equal(t, "ok", d.Status, "worker sees %s: %s", d.Name, d.Error)
		}
	})

	t.Run("the Web UI lists the default namespace", func(t *testing.T) {
		var body struct {
			Namespaces []struct {
				NamespaceInfo struct {
					Name string `json:"name"`
				} `json:"namespaceInfo"`
			} `json:"namespaces"`
		}
		require.Equal(t, http.StatusOK, getJSON(t, "http://"+env["DEV_TEMPORAL_UI_ADDR"]+"/api/v1/namespaces", &body))
		var names []string
		for _, ns := range body.Namespaces {
			names = append(names, ns.NamespaceInfo.Name)
		}
		require.Contains(t, names, "default")
	})

	t.Run("the banner says where each part listens", func(t *testing.T) {
		out := s.out.String()
		for _, addr := range []string{env["API_ADDR"], env["DEV_TEMPORAL_ADDR"], env["DEV_TEMPORAL_UI_ADDR"], env["DEV_S3_ADDR"], env["DEV_SANDBOX_ADDR"]} {
			require.Contains(t, out, addr)
		}
	})
}

// Stopping and restarting the dev stack keeps a workflow started before the
// restart: Temporal's state is a file under DEV_DIR.
func TestDevStackRestartKeepsWorkflows(t *testing.T) {
	env := devEnvFor(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	first := startStack(t, env)
	// Nobody polls this queue, so the workflow is still running at restart.
	run, err := first.temporalClient(t).ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        "restart-survivor",
		TaskQueue: "nobody-polls-this",
	}, workflows.ProbeWorkflow, workflows.ProbeInput{})
	require.NoError(t, err)
	first.stop(t)

	second := startStack(t, env)
	desc, err := second.temporalClient(t).DescribeWorkflowExecution(ctx, "restart-survivor", run.GetRunID())
	require.NoError(t, err, fmt.Sprintf("workflow lost across restart:\n%s", second.out))
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus())
}
