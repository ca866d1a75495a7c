// Package buildinfo says which build of RD is running.
package buildinfo

// Version is set at link time:
// go build -ldflags "-X github.com/reviewdata/rd/internal/buildinfo.Version=v1.2.3".
var Version = "dev"
