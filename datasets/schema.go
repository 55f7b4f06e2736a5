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

// CreateSQL returns the idempotent DDL of t's raw table: a
// ReplacingMergeTree(_version) ordered by (tenant, id). The same text runs on
// chDB and on ClickHouse server 18.16.
func (t Table) CreateSQL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (", t.Name)
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "%s %s, ", c.Name, c.clickhouseType())
	}
	fmt.Fprintf(&b, "%s UInt64) ENGINE = ReplacingMergeTree(%s) ORDER BY (tenant, %s)", VersionColumn, VersionColumn, t.ID())
	return b.String()
}

// CreateTables creates the raw table of every contract table that does not
// exist yet. It is idempotent, safe to call on every start and as
// concurrency-safe as e.
func CreateTables(ctx context.Context, e warehouse.Engine) error {
	stmts := append(firstTableSQL(), valuesTableSQL())
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
		{Component: "datasets", Version: 3, Name: "first version of every value of a key (stored rows a load changed)", Statements: values}}
}
