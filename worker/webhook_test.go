package worker

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/activities"
	"github.com/reviewdata/rd/internal/temporalx"
	"github.com/reviewdata/rd/internal/webhook"
)

// The platform worker serves webhook delivery: the workflow under its wire
// name, and the webhook activities (EmitWebhook included, which every
// workflow routes to this queue).
func TestLookupWebhookDelivery(t *testing.T) {
	t.Parallel()
	require.Contains(t, PlatformQueues, temporalx.QueueWebhookDelivery)
	register, ok := lookup(temporalx.QueueWebhookDelivery)
	require.True(t, ok)
	var r recorder
	register(&r, Deps{Webhook: &activities.WebhookActivities{}})
	require.Equal(t, []string{webhook.DeliveryWorkflowName}, r.workflows)
	require.Equal(t, []string{"*activities.WebhookActivities"}, r.activities)
}
