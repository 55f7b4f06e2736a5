package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/spf13/cobra"

	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/api"
	"github.com/duewise/duewise/serving/policy"
	"github.com/duewise/duewise/warehouse"
)

// serveFlags are shared by serve and score --all.
type serveFlags struct {
	registry string
	policy   string
}

func (f *serveFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.registry, "registry", envOr("DUEWISE_MODELS", ".duewise/models"), "model registry folder (env DUEWISE_MODELS)")
	c.Flags().StringVar(&f.policy, "policy", "", "policy YAML file replacing the embedded default (docs/actions.md)")
}

// newServer opens the API server on e (without listening).
func (g *globals) newServer(ctx context.Context, e warehouse.Engine, f serveFlags, reload time.Duration) (*api.Server, error) {
	pol, err := policy.Default()
	if f.policy != "" {
		pol, err = policy.LoadFile(f.policy)
	}
	if err != nil {
		return nil, err
	}
	return api.New(ctx, api.Config{Engine: e, Registry: registry.New(f.registry, e), Policy: pol, Log: g.log, Reload: reload})
}

func newServeCmd(g *globals) *cobra.Command {
	var f serveFlags
	var addr string
	var reload time.Duration
	var rate float64
	c := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8080] [--policy FILE] [--registry DIR]",
		Short: "Serve the REST API: risk scores, reasons and recommended actions",
		Long: `Serve answers the REST API (docs/api.md, /openapi.json) from memory: the
online features (features_latest, see 'duewise features refresh') and the
active models of every tenant ('duewise models promote') are loaded at start
and reloaded in the background every --reload, without blocking requests.
Ctrl-C or SIGTERM drains in-flight requests before exiting.

The embedded store can be opened by one process only: while serve runs on
it, use the API (POST /v1/events, POST /v1/models/{version}/activate) or a
ClickHouse server (--clickhouse) for other commands.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			e, err := g.openWarehouse(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			s, err := g.newServer(ctx, e, f, reload)
			if err != nil {
				return err
			}
			return s.Run(ctx, addr, func(a net.Addr) {
				g.log.Info("serving", "addr", a.String(), "store", g.where())
			})
		},
	}
	f.add(c)
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	c.Flags().DurationVar(&reload, "reload", time.Minute, "how often to reload online features, keys and active models")
	c.Flags().Float64Var(&rate, "rate", 200, "requests per second allowed per API key")
	return c
}

// scoreAll is `duewise score --all`.
func (g *globals) scoreAll(cmd *cobra.Command, f serveFlags, tenant, lang, out, table string) error {
	ctx := cmd.Context()
	if (out == "") == (table == "") {
		return fmt.Errorf("score --all: give --out FILE or --table NAME")
	}
	e, err := g.openWarehouse(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	s, err := g.newServer(ctx, e, f, time.Hour)
	if err != nil {
		return err
	}
	start := time.Now()
	w, err := newScoreSink(ctx, e, out, table)
	if err != nil {
		return err
	}
	n, err := s.ScoreAll(ctx, tenant, lang, w.add)
	if err != nil {
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
	e     warehouse.Engine
	table string
	file  *os.File
	csv   *csv.Writer
	json  *json.Encoder
	b     *array.RecordBuilder
	n     int
	now   time.Time
}

var scoreSchema = arrow.NewSchema([]arrow.Field{
	{Name: "tenant", Type: arrow.BinaryTypes.String}, {Name: "customer_id", Type: arrow.BinaryTypes.String},
	{Name: "as_of", Type: arrow.FixedWidthTypes.Date32}, {Name: "status", Type: arrow.BinaryTypes.String},
	{Name: "p_30d", Type: arrow.PrimitiveTypes.Float64}, {Name: "p_60d", Type: arrow.PrimitiveTypes.Float64},
	{Name: "p_90d", Type: arrow.PrimitiveTypes.Float64}, {Name: "p_180d", Type: arrow.PrimitiveTypes.Float64},
	{Name: "p_365d", Type: arrow.PrimitiveTypes.Float64}, {Name: "expected_days", Type: arrow.PrimitiveTypes.Float64},
	{Name: "band", Type: arrow.BinaryTypes.String}, {Name: "reasons", Type: arrow.BinaryTypes.String},
	{Name: "actions", Type: arrow.BinaryTypes.String}, {Name: "model_version", Type: arrow.BinaryTypes.String},
	{Name: "scored_at", Type: arrow.PrimitiveTypes.Uint32},
}, nil)

func newScoreSink(ctx context.Context, e warehouse.Engine, out, table string) (*scoreSink, error) {
	s := &scoreSink{e: e, table: table, now: time.Now().UTC()}
	if table != "" {
		if strings.ContainsFunc(table, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) {
			return nil, fmt.Errorf("--table %q: letters, digits and _ only", table)
		}
		err := e.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (tenant String, customer_id String, as_of Date, status String,
p_30d Float64, p_60d Float64, p_90d Float64, p_180d Float64, p_365d Float64, expected_days Float64, band String,
reasons String, actions String, model_version String, scored_at DateTime) ENGINE = MergeTree ORDER BY (tenant, customer_id, scored_at)`, nil)
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
	s.file = f
	if strings.HasSuffix(out, ".ndjson") || strings.HasSuffix(out, ".jsonl") {
		s.json = json.NewEncoder(f)
		return s, nil
	}
	s.csv = csv.NewWriter(f)
	s.csv.Write([]string{"tenant", "customer_id", "as_of", "status", "p_30d", "p_60d", "p_90d", "p_180d", "p_365d", "expected_days", "band", "reasons", "actions", "model_version"})
	return s, nil
}

func (s *scoreSink) add(tenant string, a *api.RiskAnswer) error {
	switch {
	case s.json != nil:
		return s.json.Encode(struct {
			Tenant string `json:"tenant"`
			*api.RiskAnswer
		}{tenant, a})
	case s.csv != nil:
		reasons, _ := json.Marshal(a.Reasons)
		actions, _ := json.Marshal(a.Actions)
		p := a.Probabilities
		ff := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
		return s.csv.Write([]string{tenant, a.CustomerID, a.AsOf, a.Status, ff(p.D30), ff(p.D60), ff(p.D90), ff(p.D180), ff(p.D365), ff(a.ExpectedDays), a.Band, string(reasons), string(actions), a.Model.Version})
	}
	reasons, _ := json.Marshal(a.Reasons)
	actions, _ := json.Marshal(a.Actions)
	d, _ := time.Parse(time.DateOnly, a.AsOf)
	b := s.b
	b.Field(0).(*array.StringBuilder).Append(tenant)
	b.Field(1).(*array.StringBuilder).Append(a.CustomerID)
	b.Field(2).(*array.Date32Builder).Append(arrow.Date32FromTime(d))
	b.Field(3).(*array.StringBuilder).Append(a.Status)
	for i, x := range []float64{a.Probabilities.D30, a.Probabilities.D60, a.Probabilities.D90, a.Probabilities.D180, a.Probabilities.D365, a.ExpectedDays} {
		b.Field(4 + i).(*array.Float64Builder).Append(x)
	}
	b.Field(10).(*array.StringBuilder).Append(a.Band)
	b.Field(11).(*array.StringBuilder).Append(string(reasons))
	b.Field(12).(*array.StringBuilder).Append(string(actions))
	b.Field(13).(*array.StringBuilder).Append(a.Model.Version)
	b.Field(14).(*array.Uint32Builder).Append(uint32(s.now.Unix()))
	s.n++
	if s.n%50_000 == 0 {
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
	if s.csv != nil {
		s.csv.Flush()
		if err := s.csv.Error(); err != nil {
			return err
		}
	}
	return s.file.Close()
}
