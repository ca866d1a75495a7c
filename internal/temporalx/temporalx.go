// Package temporalx holds what every RD process needs to talk to Temporal:
// the client configuration, the namespace's custom search attributes and the
// task queue names.
package temporalx

import (
	enumspb "go.temporal.io/api/enums/v1"
)

// Custom search attribute names. Operators find any job's or delivery's
// workflow in Temporal Web by these.
const (
	AttrTaskID       = "RdTaskId"
	AttrJobType      = "RdJobType"
	AttrPublisherKey = "RdPublisherKey"
	AttrIntegrator   = "RdIntegrator"
	AttrLane         = "RdLane"
	AttrStatus       = "RdStatus"
	AttrEndpointID   = "RdEndpointId"
	AttrEventType    = "RdEventType"
	AttrPriority     = "RdPriority"
	AttrAttempt      = "RdAttempt"
)

// Scrape task queues (DESIGN.md, "Task queues"). Scrape workflows and their
// HTTP activities run on the publisher's own queue (QueueScrapePrefix + its
// key, as publisher_configuration.task_queue names it) or on a shared
// scraping-* pool; browser-backed activities hop onto QueueScrapingBrowser,
// whose workers are bounded by browser capacity.
const (
	QueueScrapingInternal = "scraping-internal"
	QueueScrapingLDE      = "scraping-lde"
	QueueScrapingBrowser  = "scraping-browser"
	QueueScrapePrefix     = "scrape-"
)

// ScrapeQueue is the per-publisher queue of publisherKey: "scrape-" + key.
func ScrapeQueue(publisherKey string) string { return QueueScrapePrefix + publisherKey }

// SearchAttributes is every custom search attribute RD registers, with its
// type. SQLite visibility (the dev server) has 10 Keyword and 3 Int slots.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	AttrTaskID:       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrJobType:      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrPublisherKey: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrIntegrator:   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrLane:         enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrStatus:       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrEndpointID:   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrEventType:    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrPriority:     enumspb.INDEXED_VALUE_TYPE_INT,
	AttrAttempt:      enumspb.INDEXED_VALUE_TYPE_INT,
}
