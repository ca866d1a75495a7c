// Package temporaldev runs a real Temporal server (and optionally its Web UI)
// inside the current process, for the dev stack and for tests.
//
// It is the embedded equivalent of `temporal server start-dev`: SQLite
// persistence (a file under .dev/ so a restart keeps running workflows, or
// in-memory for tests), the namespaces RD uses created before start with RD's
// custom search attributes, worker heartbeats and task-queue fairness on.
//
// Only the dev binary and tests import this package: the production `rd`
// binary talks to an external cluster and never links the server.
package temporaldev

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/resolver"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	"github.com/reviewdata/rd/internal/temporalx"
)

// Config describes the embedded server. The zero value is a throwaway
// in-memory server on free loopback ports with no Web UI.
type Config struct {
	// DatabaseFile is the SQLite file that holds all server state. Empty means
	// in-memory: state is lost when the process exits. Defaults to "".
	DatabaseFile string
	// FrontendAddr is the gRPC address clients dial. Defaults to a free port on 127.0.0.1.
	FrontendAddr string
	// UIAddr is where the Temporal Web UI listens. Empty means no UI. Defaults to "".
	UIAddr string
	// Namespaces to create before start. Defaults to ["default"].
	Namespaces []string
	// Logger receives the server's own log lines at LogLevel and above.
	// Defaults to a logger that discards everything.
	Logger *slog.Logger
	// LogLevel filters the server's chatty logs. Defaults to slog.LevelWarn.
	LogLevel slog.Level
}

// Server is a running embedded Temporal server.
type Server struct {
	stopping     *atomic.Bool
	server       temporal.Server
	ui           *uiserver.Server
	frontendAddr string
	uiAddr       string
}

// dynamicConfig is what RD needs switched on beyond the server defaults.
func dynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		// Fair, priority-aware matching: admission relies on PriorityKey/FairnessKey.
		dynamicconfig.MatchingEnableFairness.Key(): true,
		// Worker heartbeats feed ListWorkers, which admission counts. On by
		// default in v1.32; pinned so an upgrade cannot silently turn it off.
		dynamicconfig.WorkerHeartbeatsEnabled.Key(): true,
	}
}

// Start builds and starts the server, and the Web UI when cfg.UIAddr is set.
// It returns once the frontend accepts connections.
func Start(cfg Config) (*Server, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	if err := checkFree(cfg.FrontendAddr); err != nil {
		return nil, err
	}
	var err error
	for range 3 {
		var s *Server
		if s, err = start(cfg); err == nil {
			return s, nil
		}
		// The internal services' ports are picked free, then bound a moment
		// later; another process can take one in between. Pick again.
		if !strings.Contains(err.Error(), "listener") {
			return nil, err
		}
	}
	return nil, err
}

// checkFree fails fast, with an error that names the address, when the
// frontend's fixed address is taken: the server itself would panic.
func checkFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("temporal-dev: frontend address %s is taken (is another dev stack running?): %w", addr, err)
	}
	return ln.Close()
}

// start builds and starts the server once. The server reports a port it
// cannot bind through its logger's Fatal, which panics: that becomes an error.
func start(cfg Config) (s *Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("temporal-dev: start server: %v", r)
		}
	}()
	conf, err := cfg.serverConfig()
	if err != nil {
		return nil, err
	}
	sqlConf := conf.Persistence.DataStores[sqliteplugin.PluginName].SQL
	if err := prepareDatabase(cfg, sqlConf); err != nil {
		return nil, err
	}
	stopping := new(atomic.Bool)
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(newServerLogger(cfg.Logger, cfg.LogLevel, stopping)),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	)
	if err != nil {
		return nil, fmt.Errorf("temporal-dev: build server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("temporal-dev: start server: %w", err)
	}
	s = &Server{stopping: stopping, server: srv, frontendAddr: cfg.FrontendAddr, uiAddr: cfg.UIAddr}
	if err := s.waitForMatching(cfg.Namespaces[0]); err != nil {
		s.Stop()
		return nil, err
	}
	if cfg.UIAddr != "" {
		if err := s.startUI(cfg); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// FrontendAddr is the host:port that Temporal clients dial.
func (s *Server) FrontendAddr() string { return s.frontendAddr }

// UIAddr is the host:port of the Web UI, or "" when it is not running.
func (s *Server) UIAddr() string { return s.uiAddr }

// Stop stops the Web UI and the server. It is safe to call once.
func (s *Server) Stop() {
	s.stopping.Store(true)
	if s.ui != nil {
		s.ui.Stop()
	}
	_ = s.server.Stop()
}

// waitForMatching returns once the matching service answers through the
// frontend. Start returns when every service has started, but their
// membership ring takes a moment longer to form; until it has, task dispatch
// fails with "Not enough hosts", and a client that stops in that window can
// hang on its shutdown call.
func (s *Server) waitForMatching(namespace string) error {
	c, err := client.Dial(client.Options{HostPort: s.frontendAddr, Namespace: namespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return fmt.Errorf("temporal-dev: dial own frontend: %w", err)
	}
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace: namespace,
			TaskQueue: &taskqueuepb.TaskQueue{Name: "temporal-dev-readiness", Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		})
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("temporal-dev: matching not ready after 30s: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (cfg *Config) applyDefaults() error {
	if len(cfg.Namespaces) == 0 {
		cfg.Namespaces = []string{"default"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LogLevel == 0 {
		cfg.LogLevel = slog.LevelWarn
	}
	if cfg.FrontendAddr == "" {
		port, err := freePort()
		if err != nil {
			return err
		}
		cfg.FrontendAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	return nil
}

func (cfg *Config) serverConfig() (*config.Config, error) {
	host, portText, err := net.SplitHostPort(cfg.FrontendAddr)
	if err != nil {
		return nil, fmt.Errorf("temporal-dev: frontend address %q: %w", cfg.FrontendAddr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("temporal-dev: frontend port %q: %w", portText, err)
	}
	services := map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		svc, err := serviceConfig(name, host, port)
		if err != nil {
			return nil, err
		}
		services[name] = svc
	}
	conf := &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: "127.0.0.1"},
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores: map[string]config.DataStore{
				sqliteplugin.PluginName: {SQL: cfg.sqlConfig()},
			},
		},
		ClusterMetadata: &cluster.Config{
			FailoverVersionIncrement: 10,
			MasterClusterName:        "active",
			CurrentClusterName:       "active",
			ClusterInformation: map[string]cluster.ClusterInformation{
				"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: cfg.FrontendAddr},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services:            services,
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		// The server's internal workers dial the frontend through this.
		PublicClient: config.PublicClient{HostPort: cfg.FrontendAddr},
	}
	return conf, nil
}

// serviceConfig gives the frontend the public address and every internal
// service a free loopback port of its own.
func serviceConfig(name, host string, frontendPort int) (config.Service, error) {
	membership, err := freePort()
	if err != nil {
		return config.Service{}, err
	}
	svc := config.Service{RPC: config.RPC{MembershipPort: membership, BindOnLocalHost: true}}
	if name == "frontend" {
		svc.RPC.GRPCPort = frontendPort
		svc.RPC.BindOnLocalHost = false
		svc.RPC.BindOnIP = host
		return svc, nil
	}
	svc.RPC.GRPCPort, err = freePort()
	return svc, err
}

func (cfg *Config) sqlConfig() *config.SQL {
	if cfg.DatabaseFile == "" {
		return &config.SQL{
			PluginName: sqliteplugin.PluginName,
			// Shared cache so every service of the server sees one database;
			// a random name so two servers in one process do not collide.
			ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
			DatabaseName:      "rd-" + strconv.FormatUint(rand.Uint64(), 36),
		}
	}
	return &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{"mode": "rwc", "_journal_mode": "wal", "_synchronous": "normal"},
		DatabaseName:      cfg.DatabaseFile,
	}
}

// prepareDatabase creates the schema for a new database file, then the
// namespaces (a no-op for those that exist) with RD's search attributes.
func prepareDatabase(cfg Config, sqlConf *config.SQL) error {
	if cfg.DatabaseFile != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.DatabaseFile), 0o755); err != nil {
			return fmt.Errorf("temporal-dev: create database folder: %w", err)
		}
		if _, err := os.Stat(cfg.DatabaseFile); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(sqlConf); err != nil {
				return fmt.Errorf("temporal-dev: set up schema in %s: %w", cfg.DatabaseFile, err)
			}
		} else if err := forgetPreviousMembers(sqlConf); err != nil {
			return err
		}
	}
	attrs := make(map[string]enumspb.IndexedValueType, len(temporalx.SearchAttributes))
	for name, typ := range temporalx.SearchAttributes {
		attrs[name] = typ
	}
	var namespaces []*sqliteschema.NamespaceConfig
	for _, ns := range cfg.Namespaces {
		nsConf, err := sqliteschema.NewNamespaceConfig("active", ns, false, attrs)
		if err != nil {
			return fmt.Errorf("temporal-dev: namespace %q: %w", ns, err)
		}
		namespaces = append(namespaces, nsConf)
	}
	if err := sqliteschema.CreateNamespaces(sqlConf, namespaces...); err != nil {
		return fmt.Errorf("temporal-dev: create namespaces: %w", err)
	}
	return nil
}

// forgetPreviousMembers deletes the membership records the last run of this
// single-node server left behind. Those hosts are gone, but until their
// records expire the new services try to join them, and matching answers
// "Not enough hosts" for about a minute after every restart.
func forgetPreviousMembers(sqlConf *config.SQL) error {
	db, err := sql.NewSQLDB(sqlplugin.DbKindUnknown, sqlConf, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("temporal-dev: open %s: %w", sqlConf.DatabaseName, err)
	}
	defer func() { _ = db.Close() }()
	// Records expire two days after their last heartbeat: prune them all.
	everything := &sqlplugin.PruneClusterMembershipFilter{PruneRecordsBefore: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := db.PruneClusterMembership(context.Background(), everything); err != nil {
		return fmt.Errorf("temporal-dev: clear stale cluster membership: %w", err)
	}
	return nil
}

func (s *Server) startUI(cfg Config) error {
	host, portText, err := net.SplitHostPort(cfg.UIAddr)
	if err != nil {
		return fmt.Errorf("temporal-dev: UI address %q: %w", cfg.UIAddr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("temporal-dev: UI port %q: %w", portText, err)
	}
	// Fail fast on a taken port: ui.Start blocks and only reports errors late.
	ln, err := net.Listen("tcp", cfg.UIAddr)
	if err != nil {
		return fmt.Errorf("temporal-dev: UI address %s: %w", cfg.UIAddr, err)
	}
	_ = ln.Close()
	s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		Host:                host,
		Port:                port,
		TemporalGRPCAddress: cfg.FrontendAddr,
		EnableUI:            true,
		DefaultNamespace:    cfg.Namespaces[0],
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
	}))
	go func() {
		if err := s.ui.Start(); err != nil {
			cfg.Logger.Error("temporal web UI stopped", "error", err)
		}
	}()
	return nil
}

// Ports are picked below Linux's default ephemeral range (32768-60999): a
// port found free there can be taken as the source port of any outgoing
// connection before the server binds it, which happened under load.
const (
	pickLow  = 20000
	pickHigh = 32000
)

func freePort() (int, error) {
	for range 100 {
		port := pickLow + rand.IntN(pickHigh-pickLow)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			_ = ln.Close()
			return port, nil
		}
	}
	return 0, errors.New("temporal-dev: found no free port in 20000-32000")
}

// FreeAddr returns a loopback address with a free port outside the
// ephemeral range, for tests that must name addresses before binding them.
func FreeAddr() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}
