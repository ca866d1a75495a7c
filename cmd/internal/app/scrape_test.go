package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadScrapeSettings(t *testing.T) {
	t.Parallel()
	cfg, err := Load(env(map[string]string{
		"SCRAPE_BATCH_SIZE":    "50",
		"SCRAPE_HTTP_TIMEOUT":  "12s",
		"SCRAPE_ALLOW_PRIVATE": "true",
		"S3_PUBLIC_BASE_URL":   "https://cdn.example.com/rd",
	}))
	require.NoError(t, err)
	require.Equal(t, ScrapeConfig{BatchSize: 50, HTTPTimeout: 12 * time.Second, AllowPrivate: true}, cfg.Scrape)
	require.Equal(t, "https://cdn.example.com/rd", cfg.Blob.PublicBaseURL)

	defaults, err := Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, ScrapeConfig{}, defaults.Scrape, "zero values mean the defaults")

	for name, value := range map[string]string{
		"SCRAPE_BATCH_SIZE":    "0",
		"SCRAPE_HTTP_TIMEOUT":  "-1s",
		"SCRAPE_ALLOW_PRIVATE": "maybe",
	} {
		_, err := Load(env(map[string]string{name: value}))
		require.ErrorContains(t, err, name, "a bad %s must be reported by name", name)
	}
}
