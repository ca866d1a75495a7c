package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/reviewdata/rd/store"
)

// startWorkerProcess runs `rd worker --queues scrape-sandbox` as a real
// process against the dev stack, so the test can kill it like a crash.
func startWorkerProcess(t *testing.T, bin string, env map[string]string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "worker", "--queues", "scrape-sandbox")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+env["DATABASE_URL"],
		"TEMPORAL_ADDRESS="+env["DEV_TEMPORAL_ADDR"],
		"S3_ENDPOINT=http://"+env["DEV_S3_ADDR"],
		"S3_ACCESS_KEY_ID="+devS3AccessKey,
		"S3_SECRET_ACCESS_KEY="+devS3Secret,
		"SECRETS_KEYS="+devSecretsKey,
		"SCRAPE_ALLOW_PRIVATE=true",
		"WEBHOOK_ALLOW_PRIVATE=true",
		"LOG_LEVEL=warn",
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func buildRD(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rd")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/reviewdata/rd/cmd/rd").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// A scrape worker killed mid-run (SIGKILL, no goodbye) loses nothing: after
// another starts, every job finishes, each task has exactly one workflow
// execution, and no batch is written twice. The killed activities resume
// after their heartbeat timeout (2 minutes), hence this test's length.
func TestScrapeSurvivesAKilledWorker(t *testing.T) {
	env := devEnvFor(t)
	env["DEV_SANDBOX_ADDR"] = freeAddr(t)
	env["ADMISSION_PER_TASK_CONCURRENCY"] = "10"
	env["ADMISSION_TICK_INTERVAL"] = "300ms"
	// The dev process serves everything but the scrapes: those run only in
	// the worker process this test kills.
	env["WORKER_QUEUES"] = "admission,maintenance,webhook-delivery"
	startStack(t, env)
	bin := buildRD(t)
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DatabaseURL: env["DATABASE_URL"]})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	api := apiClient{base: "http://" + env["API_ADDR"], key: newKey(t, st, store.EnvironmentProduction)}

	first := startWorkerProcess(t, bin, env)
	var taskIDs []string
	for i := range 20 {
		// slow- businesses answer each page after 2 s: two pages each.
		code, body := api.post(t, "/request-reviews", map[string]any{
			"foreign_key": fmt.Sprintf("fk-%d", i), "external_location_id": "loc", "publisher_key": "sandbox",
			"url": fmt.Sprintf("http://%s/biz/slow-acme-%d", env["DEV_SANDBOX_ADDR"], 30+i),
		})
		require.Equal(t, http.StatusAccepted, code, "%v", body)
		taskIDs = append(taskIDs, body["task_id"].(string))
	}
	waitForStatus(t, st, store.ScrapeInProgress, 3, time.Minute)
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	_, _ = first.Process.Wait()
	startWorkerProcess(t, bin, env)

	waitAllFinished(t, st, 5*time.Minute)
	c, err := client.Dial(client.Options{HostPort: env["DEV_TEMPORAL_ADDR"]})
	require.NoError(t, err)
	defer c.Close()
	for i, id := range taskIDs {
		job, err := store.GetScrapeJob(ctx, st.DB, uuid.MustParse(id))
		require.NoError(t, err)
		require.Equal(t, store.ScrapeCompleted, job.Status, "task %s", id)
		require.Equal(t, 30+i, job.ReviewCount)
		runs, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: "default", Query: fmt.Sprintf("WorkflowId = 'scrape-%s'", id),
		})
		require.NoError(t, err)
		require.EqualValues(t, 1, runs.GetCount(), "task %s has exactly one workflow execution", id)
		batches, err := store.ListScrapeBatches(ctx, st.DB, job.TaskID, 0, 100)
		require.NoError(t, err)
		require.Len(t, batches, 1, "one batch of %d reviews, written once", 30+i)
	}
}

func waitForStatus(t *testing.T, st *store.Store, status store.ScrapeStatus, atLeast int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var n int
		require.NoError(t, st.DB.NewRaw("SELECT count(*) FROM scrape_jobs WHERE status = ?", status).Scan(context.Background(), &n))
		if n >= atLeast {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("fewer than %d jobs %s after %s", atLeast, status, within)
}
