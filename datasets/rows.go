package datasets

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// LoadRows validates JSON objects of one contract table (the body of the
// REST events endpoint) and inserts the good ones in one batch. Every row
// gets a RowResult; a rejected row's Reason names the JSON field path, e.g.
// "rows[3].due_at: before issued_at". The error is for the request as a
// whole (unknown table, warehouse failure); then no row was stored.
func (l *Loader) LoadRows(ctx context.Context, table string, rows []json.RawMessage) ([]RowResult, error) {
	t, ok := TableByName(table)
	if !ok {
		return nil, fmt.Errorf("load rows: table %q is not a data-contract table (want one of %s)", table, strings.Join(tableNames(), ", "))
	}
	if err := l.ensureTables(ctx); err != nil {
		return nil, err
	}
	b, err := bind(t, t.columnNames(), l.cfg.Tenant)
	if err != nil {
		return nil, err
	}
	rb := newRowBuilder(b, l.mem)
	defer rb.release()
	res := make([]RowResult, len(rows))
	var cells []string
	for i, raw := range rows {
		var ps []Problem
		cells, ps = decodeJSONRow(&t, raw, cells)
		if ps == nil {
			ps = rb.check(cells)
		}
		res[i] = RowResult{Index: i, ID: cells[1]}
		if ps != nil {
			msgs := make([]string, len(ps))
			for k, p := range ps {
				msgs[k] = jsonPath(i, p.Column) + ": " + p.Reason
			}
			res[i].Reason = strings.Join(msgs, "; ")
			continue
		}
		rb.appendRow()
		res[i].Accepted = true
	}
	if rec := rb.record(); rec != nil {
		defer rec.Release()
		if _, err := l.insert(ctx, t.Name, rec); err != nil {
			return nil, fmt.Errorf("load rows: %w", err)
		}
	}
	return res, nil
}
