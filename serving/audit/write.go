package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/duewise/duewise/warehouse"
)

// replay reads the segments a previous process left in the spool. A torn
// frame at the end of a segment (a write that a crash cut short, which was
// never acknowledged) ends it.
func (t *Trail) replay() error {
	paths, err := filepath.Glob(filepath.Join(t.cfg.Dir, "*.spool"))
	if err != nil {
		return fmt.Errorf("audit: spool: %w", err)
	}
	slices.Sort(paths)
	replayed := 0
	for _, p := range paths {
		n, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(p), ".spool"))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("audit: replay the spool: %w", err)
		}
		s := &segment{n: n, path: p, size: int64(len(b)), uncertain: true}
		for len(b) > 0 {
			r, rest, err := readFrame(b)
			if err != nil {
				t.log.Warn("audit spool: a torn record at the end of a segment is skipped (it was never acknowledged)", "file", p, "bytes", len(b))
				break
			}
			s.rows, b = append(s.rows, r), rest
		}
		if len(s.rows) == 0 {
			os.Remove(p)
			continue
		}
		t.sealed = append(t.sealed, s)
		t.bytes += s.size
		t.pending += len(s.rows)
		replayed += len(s.rows)
	}
	if replayed > 0 {
		t.log.Info("audit spool replayed: its records are written to the warehouse next", "records", replayed, "segments", len(t.sealed))
		t.replayed = replayed
	}
	return nil
}

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "audit_id", Type: arrow.BinaryTypes.String},
	{Name: "tenant", Type: arrow.BinaryTypes.String}, {Name: "key_id", Type: arrow.BinaryTypes.String},
	{Name: "request_id", Type: arrow.BinaryTypes.String}, {Name: "kind", Type: arrow.BinaryTypes.String},
	{Name: "customer_id", Type: arrow.BinaryTypes.String}, {Name: "model_version", Type: arrow.BinaryTypes.String},
	{Name: "band", Type: arrow.BinaryTypes.String}, {Name: "reasons", Type: arrow.BinaryTypes.String},
	{Name: "rules_fired", Type: arrow.BinaryTypes.String},
	{Name: "risk_90d", Type: arrow.PrimitiveTypes.Float64}, {Name: "scored_at", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}},
	{Name: "shadow_version", Type: arrow.BinaryTypes.String}, {Name: "shadow_risk_90d", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// writeSegment inserts the records of s that the warehouse does not have
// yet and returns how many it inserted.
func (t *Trail) writeSegment(ctx context.Context, s *segment) (int, error) {
	rows := s.rows
	if s.uncertain {
		var err error
		if rows, err = t.unwritten(ctx, rows); err != nil {
			return 0, err
		}
	}
	for i := 0; i < len(rows); i += t.cfg.Batch {
		if err := t.insert(ctx, rows[i:min(i+t.cfg.Batch, len(rows))]); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

// unwritten returns the rows whose id is not in the audit table. The ids
// of a segment are one process's (one prefix, fixed-width counters), so
// one range query finds them.
func (t *Trail) unwritten(ctx context.Context, rows []row) ([]row, error) {
	lo, hi := rows[0].id, rows[0].id
	for i := range rows {
		lo, hi = min(lo, rows[i].id), max(hi, rows[i].id)
	}
	rr, err := t.cfg.Warehouse.Query(ctx, `SELECT audit_id FROM `+Table+` WHERE audit_id >= {lo:String} AND audit_id <= {hi:String}`,
		warehouse.Params{"lo": lo, "hi": hi})
	if err != nil {
		return nil, fmt.Errorf("audit: check which spooled records are written: %w", err)
	}
	defer rr.Release()
	have := map[string]bool{}
	var id string
	if err := warehouse.Scan(rr, func() error { have[id] = true; return nil }, &id); err != nil {
		return nil, fmt.Errorf("audit: check which spooled records are written: %w", err)
	}
	if len(have) == 0 {
		return rows, nil
	}
	return slices.DeleteFunc(slices.Clone(rows), func(r row) bool { return have[r.id] }), nil
}

func (t *Trail) insert(ctx context.Context, rows []row) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	strs := make([]*array.StringBuilder, 10)
	for i := range strs {
		sb, ok := b.Field(i).(*array.StringBuilder)
		if !ok {
			return fmt.Errorf("audit: column %d is not a string", i)
		}
		strs[i] = sb
	}
	risk, ok1 := b.Field(10).(*array.Float64Builder)
	at, ok2 := b.Field(11).(*array.TimestampBuilder)
	shadow, ok3 := b.Field(12).(*array.StringBuilder)
	shadowRisk, ok4 := b.Field(13).(*array.Float64Builder)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("audit: unexpected builder types")
	}
	for i := range rows {
		for j, s := range rows[i].strings() {
			strs[j].Append(*s)
		}
		risk.Append(rows[i].risk)
		at.Append(arrow.Timestamp(rows[i].at))
		shadow.Append(rows[i].shadow)
		shadowRisk.Append(rows[i].shadowRisk)
	}
	rec := b.NewRecord()
	defer rec.Release()
	if err := t.cfg.Warehouse.Insert(ctx, Table, rec); err != nil {
		return fmt.Errorf("audit: write %d records: %w", len(rows), err)
	}
	return nil
}
