package datasets

import (
	"context"
	"fmt"
	"strings"

	"github.com/duewise/duewise/warehouse"
)

// A load that repeats stored keys is normal (a retry, a daily export with
// the open invoices again); one that gives stored keys different values
// replaces what was stored, which is what a correction does and what a
// mistake (ids of another system, another tenant's export) does too. The
// loader says how many stored rows got different values.
//
// The previous values cannot be read after the load: a merge of the
// ReplacingMergeTree may already have dropped them. So ingest_values keeps,
// per (table, tenant, id) and hash of the row's values, the first version
// that had those values (a materialized view on each raw table, like
// ingest_first; ReplacingMergeTree(rank) with rank = bitNot(_version) keeps
// the lowest version per value hash). It grows by one row per distinct
// value of a key, not per load. A key got different values in a load when
// it has a value first seen in the load's versions and one first seen
// before the load. A row set back to a value it once had is not counted.
const valuesTable = "ingest_values"

func valuesTableSQL() string {
	return "CREATE TABLE IF NOT EXISTS " + valuesTable + " (tbl String, tenant String, id String, h UInt64, rank UInt64) ENGINE = ReplacingMergeTree(rank) ORDER BY (tbl, tenant, id, h)"
}

// valueHash is the SQL hash of a row's values (every column but tenant,
// the id and _version); NULL and "" hash apart.
func (t Table) valueHash() string {
	var args []string
	for _, c := range t.Columns[2:] {
		if c.nullable() {
			args = append(args, "isNull("+c.Name+")", "ifNull(toString("+c.Name+"), '')")
		} else {
			args = append(args, "toString("+c.Name+")")
		}
	}
	return "cityHash64(" + strings.Join(args, ", ") + ")"
}

// valuesViewSQL is the materialized view that records t's value hashes.
func (t Table) valuesViewSQL() string {
	return fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s_values TO %s AS SELECT '%s' AS tbl, tenant, toString(%s) AS id, %s AS h, bitNot(%s) AS rank FROM %s",
		t.Name, valuesTable, t.Name, t.ID(), t.valueHash(), VersionColumn, t.Name)
}

// valuesBackfillSQL fills ingest_values from the rows t already holds.
func (t Table) valuesBackfillSQL() string {
	return fmt.Sprintf("INSERT INTO %s SELECT '%s', tenant, toString(%s), %s AS h, bitNot(min(%s)) FROM %s GROUP BY tenant, %s, h",
		valuesTable, t.Name, t.ID(), t.valueHash(), VersionColumn, t.Name, t.ID())
}

// changed returns how many keys stored before this load got different
// values in it, and one of them.
func (fl *fileLoad) changed(ctx context.Context) (int64, string, error) {
	if len(fl.ranges) == 0 {
		return 0, "", nil
	}
	p := warehouse.Params{"t": fl.table, "lo": fl.ranges[0].lo}
	mine := fl.mine("v", p)
	// As in firsts: the versions are compared after FINAL chose each
	// row, not filtered on before. The keys are narrowed first to those
	// with a row of the load's versions (unmerged, so a superset), by the
	// id in the sorting key, which keeps a small load into a large store
	// cheap.
	p["rlo"], p["rhi"] = ^fl.ranges[len(fl.ranges)-1].hi, ^fl.ranges[0].lo
	where := "tbl = {t:String}"
	if fl.l.cfg.Tenant != "" {
		where += " AND tenant = {tenant:String}"
		p["tenant"] = fl.l.cfg.Tenant
	}
	q := "SELECT toInt64(count()), any(id) FROM (SELECT tenant, id, max(" + mine + ") AS new, min(v) < {lo:UInt64} AS before FROM (" +
		"SELECT tenant, id, bitNot(rank) AS v FROM " + valuesTable + " FINAL WHERE " + where +
		" AND id IN (SELECT id FROM " + valuesTable + " WHERE " + where + " AND rank BETWEEN {rlo:UInt64} AND {rhi:UInt64})" +
		") GROUP BY tenant, id) WHERE new AND before"
	rr, err := fl.l.e.Query(ctx, q, p)
	if err != nil {
		return 0, "", fmt.Errorf("count the changed rows of %s: %w", fl.table, err)
	}
	defer rr.Release()
	var n int64
	var id string
	if err := warehouse.ScanOne(rr, &n, &id); err != nil {
		return 0, "", fmt.Errorf("count the changed rows of %s: %w", fl.table, err)
	}
	return n, id, nil
}
