package api

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/gin-gonic/gin"

	"github.com/duewise/duewise/warehouse"
)

// AuditTable is the warehouse table of the audit trail.
const AuditTable = "score_audit"

// AuditMigrations create the audit table: one row per score served, so
// that any automated decision can be explained later (GDPR Art. 22): who
// asked (tenant, key, request), about whom (customer), which model and
// version, the score (risk_90d: the 90-day risk; for the invoice model the
// probability of paying late), band, reasons, rules fired, and when.
func AuditMigrations() []warehouse.Migration {
	return []warehouse.Migration{
		{Component: "audit", Version: 1, Name: "score_audit table", Statements: []string{`
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
ORDER BY (tenant, customer_id, scored_at)`}},
		{Component: "audit", Version: 2, Name: "score_audit model kind and rules fired", Statements: []string{
			`ALTER TABLE score_audit ADD COLUMN kind String, ADD COLUMN rules_fired String`}},
	}
}

type auditRow struct {
	tenant, key, request, kind, customer, version, band, reasons, rules string
	risk                                                                float64
	at                                                                  time.Time
}

// Audit buffer limits: rows wait at most auditEvery (or until auditBatch
// are queued) before they are written, in few large inserts (each insert
// makes a MergeTree part the warehouse merges later, on the same CPUs as
// the API when the store is embedded); while the warehouse is down they
// are kept, up to auditMax, and written when it is back.
const (
	auditEvery = 5 * time.Second
	auditBatch = 50_000
	auditMax   = 1_000_000
)

// auditor buffers audit rows and writes them in batches, off the request
// path. A request never waits for the warehouse: when the buffer is full
// (the warehouse is down for long) the oldest rows are dropped and
// counted in duewise_audit_records_total{outcome="dropped"}.
type auditor struct {
	eng warehouse.Engine
	log *slog.Logger
	met *metricSet

	mu   sync.Mutex
	buf  []auditRow
	wake chan struct{}
}

func newAuditor(eng warehouse.Engine, log *slog.Logger, met *metricSet) *auditor {
	return &auditor{eng: eng, log: log, met: met, wake: make(chan struct{}, 1)}
}

// record queues the audit row of one score.
func (a *auditor) record(c *gin.Context, kind, customer, version string, risk float64, band string, reasons []Reason, rules []string) {
	r := auditRow{tenant: c.GetString(ctxTenant), key: c.GetString(ctxKeyID), request: c.GetString(ctxRequestID), kind: kind,
		customer: customer, version: version, band: band, reasons: reasonsJSON(reasons), rules: rulesJSON(rules), risk: risk, at: time.Now().UTC()}
	a.mu.Lock()
	if len(a.buf) >= auditMax {
		n := len(a.buf) - auditMax + 1
		a.buf = append(a.buf[:0], a.buf[n:]...)
		a.met.audited.WithLabelValues("dropped").Add(float64(n))
	}
	a.buf = append(a.buf, r)
	full := len(a.buf) >= auditBatch
	a.mu.Unlock()
	if full {
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
}

// reasonsJSON encodes reasons compactly as [{"code":..,"weight":..}]:
// the texts follow from the codes.
func reasonsJSON(rs []Reason) string {
	b := make([]byte, 0, 48*len(rs)+2)
	b = append(b, '[')
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(append(b, `{"code":`...), r.Code)
		b = append(b, `,"weight":`...)
		b = strconv.AppendFloat(b, r.Weight, 'g', -1, 64)
		b = append(b, '}')
	}
	return string(append(b, ']'))
}

func rulesJSON(rs []string) string {
	if rs == nil {
		rs = []string{} // [] rather than null in the audit table
	}
	return string(appendStrings(nil, rs))
}

// run writes the buffer every auditEvery (or when auditBatch rows wait)
// until ctx ends, then writes what is left (trying for up to 10 s).
func (a *auditor) run(ctx context.Context) {
	t := time.NewTicker(auditEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			a.flush(fctx)
			cancel()
			return
		case <-t.C:
		case <-a.wake:
		}
		a.flush(ctx)
	}
}

// flush writes the buffered rows; on failure they stay buffered.
func (a *auditor) flush(ctx context.Context) {
	a.mu.Lock()
	rows := a.buf
	a.buf = nil
	a.mu.Unlock()
	if len(rows) == 0 {
		return
	}
	if err := a.write(ctx, rows); err != nil {
		a.met.audited.WithLabelValues("retried").Add(float64(len(rows)))
		a.log.Warn("audit records not written yet, will retry", "rows", len(rows), "err", err)
		a.mu.Lock()
		a.buf = append(rows, a.buf...)
		if n := len(a.buf) - auditMax; n > 0 {
			a.buf = a.buf[n:]
			a.met.audited.WithLabelValues("dropped").Add(float64(n))
		}
		a.mu.Unlock()
		return
	}
	a.met.audited.WithLabelValues("written").Add(float64(len(rows)))
}

// pending returns the number of buffered rows.
func (a *auditor) pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.buf)
}

var auditSchema = arrow.NewSchema([]arrow.Field{
	{Name: "tenant", Type: arrow.BinaryTypes.String}, {Name: "key_id", Type: arrow.BinaryTypes.String},
	{Name: "request_id", Type: arrow.BinaryTypes.String}, {Name: "kind", Type: arrow.BinaryTypes.String},
	{Name: "customer_id", Type: arrow.BinaryTypes.String}, {Name: "model_version", Type: arrow.BinaryTypes.String},
	{Name: "band", Type: arrow.BinaryTypes.String}, {Name: "reasons", Type: arrow.BinaryTypes.String},
	{Name: "rules_fired", Type: arrow.BinaryTypes.String},
	{Name: "risk_90d", Type: arrow.PrimitiveTypes.Float64}, {Name: "scored_at", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}},
}, nil)

func (a *auditor) write(ctx context.Context, rows []auditRow) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, auditSchema)
	defer b.Release()
	for _, r := range rows {
		for i, v := range []string{r.tenant, r.key, r.request, r.kind, r.customer, r.version, r.band, r.reasons, r.rules} {
			b.Field(i).(*array.StringBuilder).Append(v)
		}
		b.Field(9).(*array.Float64Builder).Append(r.risk)
		b.Field(10).(*array.TimestampBuilder).Append(arrow.Timestamp(r.at.Unix()))
	}
	rec := b.NewRecord()
	defer rec.Release()
	return a.eng.Insert(ctx, AuditTable, rec)
}
