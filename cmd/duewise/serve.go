package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/duewise/duewise/cmd/duewise/internal/admin"
	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/api"
	"github.com/duewise/duewise/serving/audit"
	"github.com/duewise/duewise/serving/auth"
	"github.com/duewise/duewise/serving/changes"
	"github.com/duewise/duewise/serving/policy"
	"github.com/duewise/duewise/serving/scoring"
	"github.com/duewise/duewise/warehouse"
)

// serveFlags are shared by serve and score --all: what the scoring core
// needs.
type serveFlags struct {
	registry string
	policy   string
	cfg      scoring.Config
}

func (f *serveFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.registry, "registry", envOr("DUEWISE_MODELS", ".duewise/models"), "model registry folder (env DUEWISE_MODELS)")
	c.Flags().StringVar(&f.policy, "policy", "", "policy YAML file replacing the embedded default (docs/actions.md)")
	c.Flags().IntVar(&f.cfg.Workers, "workers", 0, "goroutines scoring batches in parallel (0 = one per Go processor, see --procs)")
}

// newCore opens the scoring core on e: the online features and the active
// models in memory.
func (g *globals) newCore(ctx context.Context, e warehouse.Engine, f serveFlags, reg prometheus.Registerer) (*scoring.Core, error) {
	pol, err := policy.LoadFile(f.policy)
	if err != nil {
		return nil, err
	}
	cfg := f.cfg
	cfg.Engine, cfg.Registry, cfg.Policy, cfg.Log, cfg.Metrics = e, registry.New(f.registry, e), pol, g.log, reg
	return scoring.New(ctx, cfg)
}

// serverFlags are serve's own flags.
type serverFlags struct {
	serveFlags
	addr     string
	spool    string
	spoolMax int64
	sync     time.Duration
	api      api.Config
	changes  changes.Config
	shadow   []string // KIND=VERSION
	procs    int
}

// newServer opens the API server on e (without listening): the scoring
// core, the audit trail (replaying its spool) and the HTTP layer.
func (g *globals) newServer(ctx context.Context, e warehouse.Engine, f serverFlags) (*api.Server, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := registerBuildInfo(reg, buildInfo()); err != nil {
		return nil, err
	}
	cc := f.changes
	cc.Warehouse, cc.Log = e, g.log
	feed, err := changes.Open(cc)
	if err != nil {
		return nil, err
	}
	f.cfg.Changes = feed
	if f.cfg.Shadow, err = parseShadow(f.shadow); err != nil {
		return nil, err
	}
	core, err := g.newCore(ctx, e, f.serveFlags, reg)
	if err != nil {
		return nil, err
	}
	spool := f.spool
	if spool == "" {
		spool = filepath.Join(".duewise", "audit-spool")
		if g.clickhouse == "" {
			spool = filepath.Join(g.store, "audit-spool")
		}
	}
	trail, err := audit.Open(audit.Config{Warehouse: e, Dir: spool, MaxBytes: f.spoolMax, SyncEvery: f.sync, Metrics: reg, Log: g.log})
	if err != nil {
		return nil, err
	}
	lc := datasets.DefaultLoaderConfig()
	lc.Touched = core.Touch     // POST /v1/events: refresh the scores of the customers it touched
	lc.Inserted = core.Inserted // and keep their raw histories in memory current
	ld, err := datasets.NewLoader(e, lc)
	if err != nil {
		trail.Close(ctx)
		return nil, err
	}
	cfg := f.api
	cfg.Scoring, cfg.Audit, cfg.Keys, cfg.Loader, cfg.Changes, cfg.Metrics, cfg.Log, cfg.Workers = core, trail, auth.NewStore(e), ld, feed, reg, g.log, f.cfg.Workers
	s, err := api.New(ctx, cfg)
	if err != nil {
		trail.Close(ctx)
		return nil, err
	}
	return s, nil
}

func newServeCmd(g *globals) *cobra.Command {
	var f serverFlags
	d, sd := api.DefaultConfig(), scoring.DefaultConfig()
	c := &cobra.Command{
		Use:   "serve [--config FILE] [--addr 127.0.0.1:8080] [--policy FILE] [--registry DIR]",
		Short: "Serve the REST API: risk scores, reasons and recommended actions",
		Long: `Serve answers the REST API (docs/api.md, /openapi.json) from memory: the
online features (features_latest, see 'duewise features refresh') and the
active models of every tenant ('duewise models promote') are loaded at start
and reloaded in the background (the features when they changed, every
--reload), without blocking requests. Ctrl-C or SIGTERM drains in-flight
requests before exiting.

Every score is recorded in the audit trail (the table score_audit) before it
is answered: first in a local spool (--audit-spool: written before the
answer, so that kill -9 loses nothing; fsync'd every --audit-sync-every, the
window a power loss may take), then in the warehouse. While the warehouse is down the spool grows up to
--audit-spool-max, past which scores are refused (503); what is spooled is
written when the warehouse is back, also after a restart or a crash.

The embedded store can be opened by one process only. While serve runs on
it, other duewise commands on the same --store (keys, ingest, models, sql,
features refresh, ...) run through the server: serve writes serve.json
(address and token, readable by its owner only) into the store folder and
those commands send their arguments to it.

With --config FILE the settings come from a YAML file whose keys are the
flag names (deploy/duewise.yaml is an example for production); a flag on
the command line wins over the file, the file over the environment.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.serve(cmd.Context(), f)
		},
	}
	f.add(c)
	fl := c.Flags()
	fl.String(configFlag, "", "YAML file of serve's settings: its keys are these flags' names (and the global ones), e.g. addr: 127.0.0.1:8080; a flag given on the command line wins (docs/operations.md, deploy/duewise.yaml)")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address")
	fl.StringVar(&f.spool, "audit-spool", os.Getenv("DUEWISE_AUDIT_SPOOL"), "folder of the audit spool (env DUEWISE_AUDIT_SPOOL; default <store>/audit-spool, or .duewise/audit-spool with --clickhouse)")
	fl.Int64Var(&f.spoolMax, "audit-spool-max", audit.DefaultMaxBytes, "largest size of the audit spool in bytes; past it scores are refused until the warehouse takes the records")
	fl.DurationVar(&f.sync, "audit-sync-every", audit.DefaultSyncEvery, "how often the audit spool is fsync'd: a power loss or an OS crash may take the audit records of the scores answered within it (kill -9 takes none)")
	fl.DurationVar(&f.cfg.Reload, "reload", sd.Reload, "how often to check for new online features and active models")
	fl.DurationVar(&f.cfg.RefreshEvery, "refresh-every", 24*time.Hour, "how often to recompute every customer's online features as of now (0: never); the customers that events touch are refreshed at once")
	fl.BoolVar(&f.cfg.Histories, "histories-in-memory", true, "keep every customer's raw history in memory (1,675 MiB per 1,000,000 customers over 24 months, loaded in the background in about 84 s; the SQL path serves meanwhile), so that the customers that events touch are recomputed in Go within a second instead of read from the warehouse (2-4 ms of its CPU per customer); false: the SQL path only, for a server short of memory (docs/benchmarks.md \"Events to scores\")")
	fl.StringArrayVar(&f.shadow, "shadow", nil, "KIND=VERSION: score every answer of that model kind also with the challenger VERSION (of the tenants that have it registered), without answering with it, and record its risk in the audit (shadow_version, shadow_risk_90d) to compare the two on the same requests (duewise models compare, docs/report.md); repeatable, one per kind")
	fl.Float64Var(&f.cfg.DriftWarn, "drift-warn", scoring.DefaultDriftWarn, "population stability index above which /readyz warns that a served behaviour model's inputs or scores drifted from its training rows (measured after every load of the features or switch of model; gauges duewise_drift_psi, duewise_score_drift_psi); 0 measures none")
	fl.DurationVar(&f.changes.Retention, "changes-retention", changes.DefaultConfig().Retention, "how long the change feed (GET /v1/changes) keeps its changes (whole days)")
	fl.Float64Var(&f.api.RatePerSecond, "rate", d.RatePerSecond, "requests per second allowed per API key (token bucket)")
	fl.IntVar(&f.api.Burst, "burst", d.Burst, "burst of requests allowed per API key above --rate")
	fl.Float64Var(&f.api.AuthFailures, "auth-failure-rate", d.AuthFailures, "failed authentications per second allowed per client address (token bucket)")
	fl.IntVar(&f.api.AuthFailureBurst, "auth-failure-burst", d.AuthFailureBurst, "burst of failed authentications allowed per client address above --auth-failure-rate")
	fl.Int64Var(&f.api.MaxBody, "max-body", d.MaxBody, "largest request body in bytes")
	fl.Int64Var(&f.api.MaxBatchBody, "max-batch-body", d.MaxBatchBody, "largest body of POST /v1/risk/batch and POST /v1/events in bytes")
	fl.DurationVar(&f.api.RequestTimeout, "timeout", d.RequestTimeout, "time limit of one request")
	fl.DurationVar(&f.api.ShutdownTimeout, "drain", d.ShutdownTimeout, "at shutdown, how long in-flight requests may take to finish")
	fl.IntVar(&f.procs, "procs", 0, "Go processors of the server (GOMAXPROCS); 0: the environment's GOMAXPROCS when set, else two per CPU, so that requests do not wait behind the embedded warehouse's calls and refresh batches (docs/benchmarks.md \"Events to scores\")")
	fl.DurationVar(&f.cfg.StaleGrace, "stale-grace", sd.StaleGrace, "how long customer lookups keep using the features in memory after the warehouse became unreachable (0: answer 503 at once)")
	fl.IntVar(&f.cfg.Threshold, "threshold", sd.Threshold, "days past due that count as behind (for inline histories)")
	return c
}

// serve is `duewise serve`.
func (g *globals) serve(ctx context.Context, f serverFlags) error {
	if g.engine != nil {
		return errors.New("serve cannot run inside a running server")
	}
	switch {
	case f.procs > 0:
		runtime.GOMAXPROCS(f.procs)
	case f.procs < 0:
		return fmt.Errorf("--procs %d: want 0 or more", f.procs)
	case os.Getenv("GOMAXPROCS") == "":
		runtime.GOMAXPROCS(api.Procs(runtime.NumCPU()))
	}
	e, err := g.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	s, err := g.newServer(ctx, e, f)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if g.clickhouse == "" {
		adm, err := admin.Start(admin.Config{Dir: g.store, API: ln.Addr().String(), Exec: g.execInServer(e, s), Log: g.log})
		if err != nil {
			ln.Close()
			return err
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			adm.Close(ctx)
		}()
	}
	return s.Run(ctx, ln, func(a net.Addr) {
		g.log.Info("serving", "addr", a.String(), "store", g.where())
	})
}

// execInServer runs forwarded command lines inside the server: a fresh
// command tree whose commands use the server's engine (and, for score
// --all, its scoring core). After each command the server reloads keys,
// models and features, so that a new key or a promoted model works at
// once.
func (g *globals) execInServer(e warehouse.Engine, s *api.Server) admin.Exec {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		// The command logs to the client's stderr, in the client's
		// --log-level and --log-format (forwarded as flags).
		sub := &globals{engine: e, core: s.Core()}
		root := g.newRoot(sub)
		root.SetArgs(args)
		root.SetOut(stdout)
		root.SetErr(stderr)
		_, err := root.ExecuteContextC(ctx)
		s.Reload(context.WithoutCancel(ctx))
		if err != nil {
			fmt.Fprintln(stderr, "duewise:", err)
			return exitCode(err)
		}
		return 0
	}
}

// scoreAll is `duewise score --all`: the scoring core in-process, no HTTP.
func (g *globals) scoreAll(cmd *cobra.Command, f serveFlags, tf *tenantFlags, lang, out, table string) error {
	ctx := cmd.Context()
	if (out == "") == (table == "") {
		return fmt.Errorf("score --all: give --out FILE or --table NAME")
	}
	if lang != "en" && lang != "nl" {
		return fmt.Errorf("--lang %q: want en or nl", lang)
	}
	e, err := g.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	tenant, err := tf.inStore(ctx, g, e)
	if err != nil {
		return err
	}
	core := g.core
	if core == nil {
		if core, err = g.newCore(ctx, e, f, nil); err != nil {
			return err
		}
	}
	start := time.Now()
	w, err := newScoreSink(ctx, e, out, table)
	if err != nil {
		return err
	}
	var total int64 // unknown for every tenant
	if tenant != "" {
		total = int64(len(core.Customers(tenant)))
	}
	bar := g.startBar(cmd, "score --all", "customers", total)
	n, err := core.All(ctx, tenant, lang, w.encode, func(x any) error {
		bar.Add(1)
		return w.write(x)
	})
	bar.Stop()
	if err != nil {
		w.abort()
		return err
	}
	if err := w.close(ctx); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(cmd.OutOrStdout(), "scored %d customers in %s (%.0f/s) into %s%s\n", n, el.Round(time.Millisecond), float64(n)/el.Seconds(), out, table)
	return nil
}

// scoreSink writes batch scores to a CSV/NDJSON file or a warehouse table.
type scoreSink struct {
	e      warehouse.Engine
	table  string
	path   string
	file   *os.File
	w      *bufio.Writer
	ndjson bool
	b      *array.RecordBuilder
	n      int
	now    time.Time
}

var scoreSchema = arrow.NewSchema([]arrow.Field{
	{Name: "tenant", Type: arrow.BinaryTypes.String}, {Name: "customer_id", Type: arrow.BinaryTypes.String},
	{Name: "as_of", Type: arrow.FixedWidthTypes.Date32}, {Name: "status", Type: arrow.BinaryTypes.String},
	{Name: "p_30d", Type: arrow.PrimitiveTypes.Float64}, {Name: "p_60d", Type: arrow.PrimitiveTypes.Float64},
	{Name: "p_90d", Type: arrow.PrimitiveTypes.Float64}, {Name: "p_180d", Type: arrow.PrimitiveTypes.Float64},
	{Name: "p_365d", Type: arrow.PrimitiveTypes.Float64}, {Name: "expected_days", Type: arrow.PrimitiveTypes.Float64},
	{Name: "band", Type: arrow.BinaryTypes.String}, {Name: "reasons", Type: arrow.BinaryTypes.String},
	{Name: "actions", Type: arrow.BinaryTypes.String}, {Name: "rules_fired", Type: arrow.BinaryTypes.String},
	{Name: "model_version", Type: arrow.BinaryTypes.String}, {Name: "scored_at", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}},
}, nil)

// scoreColumns are the CSV columns (and table columns) of score --all.
var scoreColumns = []string{"tenant", "customer_id", "as_of", "status", "p_30d", "p_60d", "p_90d", "p_180d", "p_365d", "expected_days", "band", "reasons", "actions", "rules_fired", "model_version"}

func newScoreSink(ctx context.Context, e warehouse.Engine, out, table string) (*scoreSink, error) {
	s := &scoreSink{e: e, table: table, path: out, now: time.Now().UTC()}
	if table != "" {
		if table == "" || strings.ContainsFunc(table, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) {
			return nil, fmt.Errorf("--table %q: letters, digits and _ only", table)
		}
		err := e.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (tenant String, customer_id String, as_of Date, status String,
p_30d Float64, p_60d Float64, p_90d Float64, p_180d Float64, p_365d Float64, expected_days Float64, band String,
reasons String, actions String, rules_fired String, model_version String, scored_at DateTime) ENGINE = MergeTree ORDER BY (tenant, customer_id, scored_at)`, nil)
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", table, err)
		}
		s.b = array.NewRecordBuilder(memory.DefaultAllocator, scoreSchema)
		return s, nil
	}
	f, err := os.Create(out)
	if err != nil {
		return nil, fmt.Errorf("score --all: %w", err)
	}
	s.file, s.w = f, bufio.NewWriterSize(f, 1<<20)
	if strings.HasSuffix(out, ".ndjson") || strings.HasSuffix(out, ".jsonl") {
		s.ndjson = true
		return s, nil
	}
	cw := csv.NewWriter(s.w)
	cw.Write(scoreColumns)
	cw.Flush()
	return s, cw.Error()
}

// scoreRow is one answer ready to write: a JSON line, or the cells of a
// CSV row and of a table row.
type scoreRow struct {
	line  []byte
	cells []string
	asOf  time.Time
	p     [6]float64
}

// encode formats an answer; it runs on the scoring workers.
func (s *scoreSink) encode(tenant string, a *scoring.RiskAnswer) (any, error) {
	if s.ndjson {
		b, err := json.Marshal(struct {
			Tenant string `json:"tenant"`
			*scoring.RiskAnswer
		}{tenant, a})
		return &scoreRow{line: append(b, '\n')}, err
	}
	reasons, err := json.Marshal(a.Reasons)
	if err != nil {
		return nil, err
	}
	actions, err := json.Marshal(a.Actions)
	if err != nil {
		return nil, err
	}
	rules, _ := json.Marshal(a.RulesFired)
	p := a.Probabilities
	r := &scoreRow{p: [6]float64{p.D30, p.D60, p.D90, p.D180, p.D365, a.ExpectedDays}}
	ff := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	r.cells = []string{tenant, a.CustomerID, a.AsOf, a.Status, ff(p.D30), ff(p.D60), ff(p.D90), ff(p.D180), ff(p.D365), ff(a.ExpectedDays),
		a.Band, string(reasons), string(actions), string(rules), a.Model.Version}
	if s.b != nil {
		r.asOf, _ = time.Parse(time.DateOnly, a.AsOf)
		return r, nil
	}
	// CSV: quote here, on the worker.
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write(r.cells)
	cw.Flush()
	r.line, r.cells = buf.Bytes(), nil
	return r, cw.Error()
}

// write writes one encoded answer, in order.
func (s *scoreSink) write(x any) error {
	r := x.(*scoreRow)
	if s.b == nil {
		_, err := s.w.Write(r.line)
		return err
	}
	b := s.b
	c := r.cells
	b.Field(0).(*array.StringBuilder).Append(c[0])
	b.Field(1).(*array.StringBuilder).Append(c[1])
	b.Field(2).(*array.Date32Builder).Append(arrow.Date32FromTime(r.asOf))
	b.Field(3).(*array.StringBuilder).Append(c[3])
	for i, x := range r.p {
		b.Field(4 + i).(*array.Float64Builder).Append(x)
	}
	for i := 10; i <= 14; i++ {
		b.Field(i).(*array.StringBuilder).Append(c[i])
	}
	b.Field(15).(*array.TimestampBuilder).Append(arrow.Timestamp(s.now.Unix()))
	s.n++
	if s.n%100_000 == 0 {
		return s.flush(context.Background())
	}
	return nil
}

func (s *scoreSink) flush(ctx context.Context) error {
	rec := s.b.NewRecord()
	defer rec.Release()
	if rec.NumRows() == 0 {
		return nil
	}
	if err := s.e.Insert(ctx, s.table, rec); err != nil {
		return fmt.Errorf("write %s: %w", s.table, err)
	}
	return nil
}

func (s *scoreSink) close(ctx context.Context) error {
	if s.b != nil {
		defer s.b.Release()
		return s.flush(ctx)
	}
	if err := s.w.Flush(); err != nil {
		s.abort()
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	if err := s.file.Close(); err != nil {
		os.Remove(s.path)
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	return nil
}

// abort removes a partly written file (a table keeps what was written).
func (s *scoreSink) abort() {
	if s.b != nil {
		s.b.Release()
		return
	}
	s.file.Close()
	os.Remove(s.path)
}

// parseShadow reads the --shadow values (KIND=VERSION, one per kind).
func parseShadow(vals []string) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, v := range vals {
		kind, version, ok := strings.Cut(v, "=")
		switch {
		case !ok || version == "":
			return nil, fmt.Errorf("--shadow %q: want KIND=VERSION, e.g. behaviour=behaviour-20261207193257-43cf1bd1", v)
		case !model.Kind(kind).Valid():
			return nil, fmt.Errorf("--shadow %q: kind %q: want behaviour, onboarding or invoice", v, kind)
		case out[kind] != "":
			return nil, fmt.Errorf("--shadow %q: a shadow of %s is given twice", v, kind)
		}
		out[kind] = version
	}
	return out, nil
}
