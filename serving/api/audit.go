package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/gin-gonic/gin"

	"github.com/duewise/duewise/warehouse"
)

// AuditMigrations create the audit table: one row per score, so that any
// automated decision can be explained later (GDPR Art. 22).
func AuditMigrations() []warehouse.Migration {
	return []warehouse.Migration{{Component: "audit", Version: 1, Name: "score_audit table", Statements: []string{`
CREATE TABLE IF NOT EXISTS score_audit
(
    tenant String,
    key_id String,
    request_id String,
    customer_id String,
    model_version String,
    risk_90d Float64,
    band String,
    reasons String,
    scored_at DateTime
)
ENGINE = MergeTree
ORDER BY (tenant, customer_id, scored_at)`}}}
}

type auditRow struct {
	tenant, key, request, customer, version, band, reasons string
	risk                                                   float64
	at                                                     time.Time
}

// auditor buffers audit rows and writes them in batches; when the buffer
// is full (the warehouse is down or slow) rows are dropped and counted,
// never blocking a request.
type auditor struct {
	eng  warehouse.Engine
	log  *slog.Logger
	met  *metricSet
	ch   chan auditRow
	once sync.Once
	done chan struct{}
}

func newAuditor(eng warehouse.Engine, log *slog.Logger, met *metricSet) *auditor {
	return &auditor{eng: eng, log: log, met: met, ch: make(chan auditRow, 100_000), done: make(chan struct{})}
}

func (a *auditor) record(c *gin.Context, customer, version string, risk float64, band string, reasons []Reason) {
	b, _ := json.Marshal(reasons)
	r := auditRow{tenant: c.GetString("tenant"), key: c.GetString("key_id"), request: c.GetString("request_id"), customer: customer,
		version: version, band: band, reasons: string(b), risk: risk, at: time.Now().UTC()}
	select {
	case a.ch <- r:
	default:
		a.met.audited.WithLabelValues("dropped").Inc()
	}
}

var auditSchema = arrow.NewSchema([]arrow.Field{
	{Name: "tenant", Type: arrow.BinaryTypes.String}, {Name: "key_id", Type: arrow.BinaryTypes.String},
	{Name: "request_id", Type: arrow.BinaryTypes.String}, {Name: "customer_id", Type: arrow.BinaryTypes.String},
	{Name: "model_version", Type: arrow.BinaryTypes.String}, {Name: "risk_90d", Type: arrow.PrimitiveTypes.Float64},
	{Name: "band", Type: arrow.BinaryTypes.String}, {Name: "reasons", Type: arrow.BinaryTypes.String},
	{Name: "scored_at", Type: arrow.PrimitiveTypes.Uint32},
}, nil)

// run writes batches every second (or at 10,000 rows) until ctx ends.
func (a *auditor) run(ctx context.Context) {
	defer close(a.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var buf []auditRow
	flush := func(ctx context.Context) {
		if len(buf) == 0 {
			return
		}
		if err := a.write(ctx, buf); err != nil {
			a.met.audited.WithLabelValues("failed").Add(float64(len(buf)))
			a.log.Error("write audit records", "rows", len(buf), "err", err)
		} else {
			a.met.audited.WithLabelValues("written").Add(float64(len(buf)))
		}
		buf = buf[:0]
	}
	for {
		select {
		case r, ok := <-a.ch:
			if !ok {
				flush(context.Background())
				return
			}
			buf = append(buf, r)
			if len(buf) >= 10_000 {
				flush(ctx)
			}
		case <-t.C:
			flush(ctx)
		case <-ctx.Done():
			// drain what is queued, then stop
			for {
				select {
				case r := <-a.ch:
					buf = append(buf, r)
				default:
					flush(context.Background())
					return
				}
			}
		}
	}
}

func (a *auditor) write(ctx context.Context, rows []auditRow) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, auditSchema)
	defer b.Release()
	for _, r := range rows {
		for i, v := range []string{r.tenant, r.key, r.request, r.customer, r.version} {
			b.Field(i).(*array.StringBuilder).Append(v)
		}
		b.Field(5).(*array.Float64Builder).Append(r.risk)
		b.Field(6).(*array.StringBuilder).Append(r.band)
		b.Field(7).(*array.StringBuilder).Append(r.reasons)
		b.Field(8).(*array.Uint32Builder).Append(uint32(r.at.Unix()))
	}
	rec := b.NewRecord()
	defer rec.Release()
	return a.eng.Insert(ctx, "score_audit", rec)
}

// close waits for the writer to drain (when it runs).
func (a *auditor) close(ctx context.Context) {
	select {
	case <-a.done:
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
}
