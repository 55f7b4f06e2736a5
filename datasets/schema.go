package datasets

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/duewise/duewise/warehouse"
)

// VersionColumn is the ReplacingMergeTree version column of every raw table:
// the load time in nanoseconds, so a later load of the same (tenant, id)
// replaces the earlier one.
const VersionColumn = "_version"

// amountType is the Arrow type of contract amounts, ClickHouse Decimal(18, 2).
var amountType = &arrow.Decimal128Type{Precision: 18, Scale: 2}

// timestampType is the Arrow type of contract timestamps, DateTime('UTC').
var timestampType = &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}

// nullable reports whether c is stored as Nullable: optional amounts,
// timestamps, dates and integers (optional text is stored as "").
func (c Column) nullable() bool {
	return !c.Required && c.Kind != String && c.Kind != Enum && c.Kind != Currency && c.Kind != Country
}

func (c Column) arrowType() arrow.DataType {
	switch c.Kind {
	case Date:
		return arrow.FixedWidthTypes.Date32
	case Timestamp:
		return timestampType
	case Amount:
		return amountType
	case Int:
		return arrow.PrimitiveTypes.Int32
	case Number:
		return arrow.PrimitiveTypes.Float64
	}
	return arrow.BinaryTypes.String
}

func (c Column) clickhouseType() string {
	var t string
	switch c.Kind {
	case Date:
		t = "Date"
	case Timestamp:
		t = "DateTime('UTC')"
	case Amount:
		t = "Decimal(18, 2)"
	case Int:
		t = "Int32"
	case Number:
		t = "Float64"
	default:
		t = "String"
	}
	if c.nullable() {
		t = "Nullable(" + t + ")"
	}
	return t
}

// ArrowSchema returns the Arrow schema of t's rows as the Loader inserts
// them (without the _version column): ClickHouse Decimal(18, 2) as
// decimal128(18, 2), Date as date32, DateTime('UTC') as timestamp[s, UTC].
func (t Table) ArrowSchema() *arrow.Schema {
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: c.arrowType(), Nullable: c.nullable()}
	}
	return arrow.NewSchema(fields, nil)
}

// Key returns the columns of t's identity, which are its raw table's
// sorting key: (tenant, customer_id) for customers, (tenant, customer_id,
// id) for every table about a customer's invoices and events. All rows of
// one customer are stored together, so that the pipelines read one
// customer's history by the primary key (the refresh of the customers that
// events touched; the shards of a cluster hold whole customers).
func (t Table) Key() []string {
	if t.ID() == customerID {
		return []string{"tenant", customerID}
	}
	return []string{"tenant", customerID, t.ID()}
}

// customerID is the column every contract table has.
const customerID = "customer_id"

// CreateSQL returns the idempotent DDL of t's raw table: a
// ReplacingMergeTree(_version) ordered by its Key. The same text runs on
// chDB and on ClickHouse server 18.16.
func (t Table) CreateSQL() string { return t.createSQL(t.Name) }

func (t Table) createSQL(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (", name)
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "%s %s, ", c.Name, c.clickhouseType())
	}
	fmt.Fprintf(&b, "%s UInt64) ENGINE = ReplacingMergeTree(%s) ORDER BY (%s) SETTINGS %s",
		VersionColumn, VersionColumn, strings.Join(t.Key(), ", "), storageSettings)
	return b.String()
}

// storageSettings are the raw tables' MergeTree settings. A customer's
// rows lie together, so the refresh of the customers that events touched
// reads about one granule per customer and table: at ClickHouse's default
// of 8,192 rows, 1,000 random customers of 1,000,000 read a third of each
// table, at 1,024 a twentieth (docs/benchmarks.md, "Events to scores").
// Smaller granules and compressed blocks (256 rows, 4-16 KiB) saved little
// more and doubled the store's size.
const storageSettings = "index_granularity = 1024"

// rekey rebuilds t's raw table when it is still sorted by an older key
// (tables made before customer_id joined the key): a copy sorted by Key,
// swapped in by RENAME, with the view that records first versions made
// again on it (and the one that records values, migration 4). Safe to run
// again after a crash at any step: a table that already has Key only loses
// a leftover old copy.
func (t Table) rekey(ctx context.Context, e warehouse.Engine) error {
	key, err := sortingKey(ctx, e, t.Name)
	if err != nil || key == "" {
		return err
	}
	old, tmp := t.Name+"__old", t.Name+"__rekey"
	if key != strings.Join(t.Key(), ", ") {
		cols := make([]string, 0, len(t.Columns)+1)
		for _, c := range t.Columns {
			cols = append(cols, c.Name)
		}
		cols = append(cols, VersionColumn)
		for _, s := range []string{
			"DROP TABLE IF EXISTS " + tmp,
			t.createSQL(tmp),
			"INSERT INTO " + tmp + " (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(cols, ", ") + " FROM " + t.Name,
			"DROP TABLE IF EXISTS " + t.Name + "_first",
			"DROP TABLE IF EXISTS " + t.Name + "_values",
			"DROP TABLE IF EXISTS " + old,
			"RENAME TABLE " + t.Name + " TO " + old + ", " + tmp + " TO " + t.Name,
		} {
			if err := e.Exec(ctx, s, nil); err != nil {
				return fmt.Errorf("sort %s by (%s): %w", t.Name, strings.Join(t.Key(), ", "), err)
			}
		}
	}
	for _, s := range []string{t.firstViewSQL(), valuesTableSQL(), t.valuesViewSQL(), "DROP TABLE IF EXISTS " + old} {
		if err := e.Exec(ctx, s, nil); err != nil {
			return fmt.Errorf("sort %s by (%s): %w", t.Name, strings.Join(t.Key(), ", "), err)
		}
	}
	return nil
}

// sortingKey returns the sorting key of table in the current database, ""
// when there is no such table.
func sortingKey(ctx context.Context, e warehouse.Engine, table string) (string, error) {
	rr, err := e.Query(ctx, "SELECT sorting_key FROM system.tables WHERE database = currentDatabase() AND name = {t:String}", warehouse.Params{"t": table})
	if err != nil {
		return "", fmt.Errorf("sorting key of %s: %w", table, err)
	}
	defer rr.Release()
	var key string
	err = warehouse.Scan(rr, func() error { return nil }, &key)
	if err != nil {
		return "", fmt.Errorf("sorting key of %s: %w", table, err)
	}
	return key, nil
}

// CreateTables creates the raw table of every contract table that does not
// exist yet. It is idempotent, safe to call on every start and as
// concurrency-safe as e.
func CreateTables(ctx context.Context, e warehouse.Engine) error {
	stmts := append(firstTableSQL(), valuesTableSQL())
	stmts = append(stmts, attributeTablesSQL...)
	for _, t := range Tables {
		stmts = append(stmts, t.CreateSQL(), t.firstViewSQL(), t.valuesViewSQL())
	}
	for _, s := range stmts {
		if err := e.Exec(ctx, s, nil); err != nil {
			return fmt.Errorf("create the raw tables: %w", err)
		}
	}
	return nil
}

// Migrations returns the versioned schema of the raw tables, for
// warehouse.Migrate (duewise init).
func Migrations() []warehouse.Migration {
	stmts := make([]string, len(Tables))
	for i, t := range Tables {
		stmts[i] = t.CreateSQL()
	}
	first := firstTableSQL()
	for _, t := range Tables {
		first = append(first, t.firstViewSQL(), t.firstBackfillSQL())
	}
	values := []string{valuesTableSQL()}
	for _, t := range Tables {
		values = append(values, t.valuesViewSQL(), t.valuesBackfillSQL())
	}
	return []warehouse.Migration{{Component: "datasets", Version: 1, Name: "raw data-contract tables", Statements: stmts},
		{Component: "datasets", Version: 2, Name: "first version of every key and the running loads (true duplicate counts)", Statements: first},
		{Component: "datasets", Version: 3, Name: "raw tables sorted by customer (tenant, customer_id, id)", Run: func(ctx context.Context, e warehouse.Engine) error {
			for _, t := range Tables {
				if err := t.rekey(ctx, e); err != nil {
					return err
				}
			}
			return nil
		}},
		{Component: "datasets", Version: 4, Name: "first version of every value of a key (stored rows a load changed)", Statements: values},
		{Component: "datasets", Version: 5, Name: "declared customer attributes and their values", Statements: attributeTablesSQL}}
}
