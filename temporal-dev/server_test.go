package temporaldev

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/reviewdata/rd/internal/temporalx"
)

func greet(ctx workflow.Context, name string) (string, error) {
	return "hello " + name, nil
}

func TestSharedServerRunsAWorkflow(t *testing.T) {
	t.Parallel()
	c := Shared(t).NewClient(t)
	w := worker.New(c, "temporaldev-test", worker.Options{})
	w.RegisterWorkflow(greet)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "greet-1", TaskQueue: "temporaldev-test"}, greet, "rd")
	require.NoError(t, err)
	var got string
	require.NoError(t, run.Get(ctx, &got))
	require.Equal(t, "hello rd", got)
}

func TestSearchAttributesAreRegistered(t *testing.T) {
	t.Parallel()
	c := Shared(t).NewClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	require.NoError(t, err)
	for name, typ := range temporalx.SearchAttributes {
		require.Equal(t, typ, resp.GetCustomAttributes()[name], "search attribute %s", name)
	}
}

// A file-backed server keeps a running workflow across a restart, and can
// finish it at once: the dev stack's promise.
func TestFileBackedServerKeepsWorkflowsAcrossRestart(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "temporal.db")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	first, err := Start(Config{DatabaseFile: db})
	require.NoError(t, err)
	c := first.NewClient(t)
	// Nobody polls this queue before the restart, so the workflow stays running.
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "survivor", TaskQueue: "after-restart"}, greet, "x")
	require.NoError(t, err)
	c.Close()
	first.Stop()

	second, err := Start(Config{DatabaseFile: db, FrontendAddr: first.FrontendAddr()})
	require.NoError(t, err)
	t.Cleanup(second.Stop)
	c2 := second.NewClient(t)
	desc, err := c2.DescribeWorkflowExecution(ctx, "survivor", run.GetRunID())
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus())

	w := worker.New(c2, "after-restart", worker.Options{})
	w.RegisterWorkflow(greet)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	var got string
	require.NoError(t, c2.GetWorkflow(ctx, "survivor", run.GetRunID()).Get(ctx, &got))
	require.Equal(t, "hello x", got)
}

// Admission counts live workers from their heartbeats, so the server must
// accept and list them.
func TestWorkerHeartbeatsAreListed(t *testing.T) {
	t.Parallel()
	c := Shared(t).NewClient(t)
	w := worker.New(c, "temporaldev-heartbeat", worker.Options{})
	w.RegisterWorkflow(greet)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	query := "TaskQueue = 'temporaldev-heartbeat' AND WorkerStatus = 'Running'"
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		resp, err := c.WorkflowService().ListWorkers(ctx, &workflowservice.ListWorkersRequest{Namespace: "default", Query: query})
		require.NoError(ct, err)
		require.NotEmpty(ct, resp.GetWorkers())
	}, 20*time.Second, 250*time.Millisecond)
}

// A taken frontend address is an error that names it, not a panic from
// inside the server.
func TestStartReportsATakenFrontendAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, err = Start(Config{FrontendAddr: ln.Addr().String()})
	require.ErrorContains(t, err, ln.Addr().String())
}
