package datasets

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
	err := l.ensureTables(ctx)
	if err != nil {
		return nil, err
	}
	if t, err = l.rowsTable(ctx, t, rows); err != nil {
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
		if _, err := l.store(ctx, &t, rec); err != nil {
			return nil, fmt.Errorf("load rows: %w", err)
		}
	}
	return res, nil
}

// rowsTable returns the table that JSON rows of t bind to: for customers,
// t followed by the declared attributes that any row names (see
// attributeTable).
func (l *Loader) rowsTable(ctx context.Context, t Table, rows []json.RawMessage) (Table, error) {
	if t.Name != "customers" {
		return t, nil
	}
	names := t.columnNames()
	var cells []string
	for _, raw := range rows {
		var ps []Problem
		cells, ps = decodeJSONRow(&t, raw, cells)
		for _, p := range ps {
			if p.Reason == reasonUnknownCol && !slices.Contains(names, p.Column) {
				names = append(names, p.Column)
			}
		}
	}
	if len(names) == len(t.Columns) || l.cfg.Tenant == "" {
		return t, nil
	}
	return l.attributeTable(ctx, t, names)
}
