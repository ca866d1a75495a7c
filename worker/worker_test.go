package worker

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/reviewdata/rd/activities"
)

// recorder notes what a registration function registers. Methods it does
// not override panic through the nil embedded interface, failing the test.
type recorder struct {
	sdkworker.Registry
	workflows  []string
	activities []string
}

func (r *recorder) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	r.workflows = append(r.workflows, o.Name)
}

func (r *recorder) RegisterActivity(a any) {
	r.activities = append(r.activities, reflect.TypeOf(a).String())
}

func (r *recorder) RegisterActivityWithOptions(_ any, o activity.RegisterOptions) {
	r.activities = append(r.activities, o.Name)
}

// Any scrape-<publisher> queue and the shared scraping pools run scrape
// workflows with all their activities; scraping-browser runs only the
// scrape activity; anything else is unknown.
func TestLookupScrapeQueues(t *testing.T) {
	t.Parallel()
	deps := Deps{Scrape: &activities.ScrapeActivities{}}
	for _, q := range []string{"scrape-sandbox", "scrape-google", "scraping-internal", "scraping-lde"} {
		register, ok := lookup(q)
		require.True(t, ok, q)
		var r recorder
		register(&r, deps)
		require.Equal(t, []string{"ScrapeWorkflow"}, r.workflows, q)
		require.Equal(t, []string{"*activities.ScrapeActivities"}, r.activities, q)
	}

	register, ok := lookup("scraping-browser")
	require.True(t, ok)
	var r recorder
	register(&r, deps)
	require.Empty(t, r.workflows, "browser workers run activities only")
	require.Equal(t, []string{"ScrapeReviews"}, r.activities)

	for _, q := range []string{"scrape-", "scraping-other", "nope"} {
		_, ok := lookup(q)
		require.False(t, ok, q)
	}
	require.Contains(t, knownQueues(), "scrape-<publisher>")
}
