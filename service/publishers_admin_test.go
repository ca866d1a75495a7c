package service_test

import (
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reviewdata/rd/service"
	"github.com/reviewdata/rd/store"
)

func newPublisher() *store.PublisherConfiguration {
	return &store.PublisherConfiguration{
		PublisherKey: "pub-" + strings.ToLower(rand.Text()[:8]), DisplayName: "Pub",
		ScraperEngine: store.ScraperEngineSAU, AuthType: store.AuthTypeCookies,
		TaskQueue: "scraping-internal", Active: true,
	}
}

func TestPublisherAdmin(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	admin := b.newUser(t, "admin")
	pubs := &service.PublisherAdmin{Store: b.store}

	pc := newPublisher()
	require.NoError(t, pubs.Create(b.ctx, pc))
	require.Equal(t, store.PostingModeDisabled, pc.PostingMode, "the column default")

	dup := newPublisher()
	dup.PublisherKey = pc.PublisherKey
	requireCode(t, pubs.Create(b.ctx, dup), http.StatusConflict, service.CodeDuplicatePublisherKey)

	update := newPublisher()
	update.DisplayName = "Renamed"
	update.PostingMode = store.PostingModeManualQA
	require.NoError(t, pubs.Update(b.ctx, pc.PublisherKey, update))
	got, err := pubs.Get(b.ctx, pc.PublisherKey)
	require.NoError(t, err)
	require.Equal(t, "Renamed", got.DisplayName)
	require.Equal(t, pc.ID, got.ID, "an update keeps the row")

	bad := newPublisher()
	bad.ScraperEngine = "HAL"
	requireCode(t, pubs.Create(b.ctx, bad), http.StatusUnprocessableEntity, service.CodeValidationFailed)
	requireCode(t, pubs.Update(b.ctx, "pub-missing", newPublisher()), http.StatusNotFound, service.CodeNotFound)

	require.NoError(t, pubs.Delete(b.ctx, pc.PublisherKey, admin.ID))
	_, err = pubs.Get(b.ctx, pc.PublisherKey)
	requireCode(t, err, http.StatusNotFound, service.CodeNotFound)
	requireCode(t, pubs.Delete(b.ctx, pc.PublisherKey, admin.ID), http.StatusNotFound, service.CodeNotFound)

	list, err := pubs.List(b.ctx)
	require.NoError(t, err)
	for _, p := range list {
		require.NotEqual(t, pc.PublisherKey, p.PublisherKey, "deleted rows are not listed")
	}
}

// TestPublisherDeleteTakesTheKeyLock shows Delete waits for the lock Create
// and Update hold, so an Update that found the row live cannot write it back
// after a Delete.
func TestPublisherDeleteTakesTheKeyLock(t *testing.T) {
	t.Parallel()
	b := setupAccounts(t)
	admin := b.newUser(t, "admin")
	pubs := &service.PublisherAdmin{Store: b.store}
	pc := newPublisher()
	require.NoError(t, pubs.Create(b.ctx, pc))

	tx, err := b.store.DB.BeginTx(b.ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(b.ctx, "SELECT pg_advisory_xact_lock(hashtext('rd:publisher:' || ?))", pc.PublisherKey)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() { done <- pubs.Delete(b.ctx, pc.PublisherKey, admin.ID) }()
	select {
	case err := <-done:
		t.Fatalf("Delete did not wait for the lock: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	_, err = pubs.Get(b.ctx, pc.PublisherKey)
	require.NoError(t, err, "still live while the lock is held")

	require.NoError(t, tx.Rollback())
	require.NoError(t, <-done)
	_, err = pubs.Get(b.ctx, pc.PublisherKey)
	requireCode(t, err, http.StatusNotFound, service.CodeNotFound)
}
