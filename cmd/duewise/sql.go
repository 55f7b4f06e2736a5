package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/spf13/cobra"

	"github.com/duewise/duewise/warehouse"
)

func newSQLCmd(g *globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   `sql "SELECT ..." [--format table|csv|json]`,
		Short: "Run a SQL statement on the warehouse and print its result",
		Long: `Sql runs one ClickHouse SQL statement on the warehouse (the embedded store,
or the server of --clickhouse) and prints the rows: an aligned table, CSV
with a header, or JSON lines (one object per row). Raw tables hold every
loaded version of a row; read them with FINAL to see the deduplicated state.
DateTime values print as ISO 8601 (2026-12-07T09:30:00Z, or with the
column's time-zone offset).`,
		Example: `  duewise sql "SELECT count() FROM invoices FINAL WHERE tenant = 'demo'"
  duewise sql --format csv "SELECT * FROM features_latest FINAL LIMIT 10" > latest.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "table", "csv", "json":
			default:
				return fmt.Errorf("--format %q: want table, csv or json", format)
			}
			ctx := cmd.Context()
			e, err := g.openWarehouse(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			zones := dateTimeZones(ctx, e, args[0])
			rr, err := e.Query(ctx, args[0], nil)
			if err != nil {
				return err
			}
			defer rr.Release()
			return printRecords(cmd.OutOrStdout(), rr, format, zones)
		},
	}
	c.Flags().StringVar(&format, "format", "table", "output format: table, csv or json")
	return c
}

// dateTimeZones returns, per result column of the statement q, the time
// zone of a ClickHouse DateTime column (UTC when the type names none) and
// nil for any other: both backends hand DateTime over as UInt32 seconds, so
// the column types come from DESCRIBE. A statement DESCRIBE does not take
// (not a SELECT) has none.
func dateTimeZones(ctx context.Context, e warehouse.Engine, q string) []*time.Location {
	q = strings.TrimRight(strings.TrimSpace(q), "; \t\n")
	if first := strings.ToUpper(strings.SplitN(q, " ", 2)[0]); first != "SELECT" && first != "WITH" {
		return nil
	}
	rr, err := e.Query(ctx, "DESCRIBE TABLE ("+q+")", nil)
	if err != nil {
		return nil
	}
	defer rr.Release()
	var zones []*time.Location
	for rr.Next() {
		rec := rr.Record()
		types, ok := rec.Column(1).(*array.String)
		if !ok {
			return nil
		}
		for i := 0; i < types.Len(); i++ {
			zones = append(zones, dateTimeZone(types.Value(i)))
		}
	}
	return zones
}

// dateTimeZone returns the zone of a DateTime type name, e.g.
// Nullable(DateTime('Europe/Amsterdam')), or nil for another type.
func dateTimeZone(typ string) *time.Location {
	for _, wrap := range []string{"Nullable(", "LowCardinality("} {
		if strings.HasPrefix(typ, wrap) && strings.HasSuffix(typ, ")") {
			typ = typ[len(wrap) : len(typ)-1]
		}
	}
	if typ == "DateTime" {
		return time.UTC
	}
	name, ok := strings.CutPrefix(typ, "DateTime('")
	if !ok || !strings.HasSuffix(name, "')") {
		return nil
	}
	loc, err := time.LoadLocation(strings.TrimSuffix(name, "')"))
	if err != nil {
		return time.UTC
	}
	return loc
}

// printRecords writes every row of rr in format; zones marks the DateTime
// columns (see dateTimeZones).
func printRecords(w io.Writer, rr array.RecordReader, format string, zones []*time.Location) error {
	names := make([]string, rr.Schema().NumFields())
	for i, f := range rr.Schema().Fields() {
		names[i] = f.Name
	}
	var (
		tw  *tabwriter.Writer
		cw  *csv.Writer
		enc *json.Encoder
	)
	switch format {
	case "table":
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(names, "\t"))
	case "csv":
		cw = csv.NewWriter(w)
		if err := cw.Write(names); err != nil {
			return err
		}
	case "json":
		enc = json.NewEncoder(w)
	}
	row := make([]string, len(names))
	for rr.Next() {
		rec := rr.Record()
		for i := 0; i < int(rec.NumRows()); i++ {
			obj := make(map[string]any, len(names))
			for j, col := range rec.Columns() {
				var zone *time.Location
				if j < len(zones) {
					zone = zones[j]
				}
				row[j] = cell(col, i, zone)
				if enc != nil {
					obj[names[j]] = jsonCell(col, i, zone)
				}
			}
			switch {
			case tw != nil:
				fmt.Fprintln(tw, strings.Join(row, "\t"))
			case cw != nil:
				if err := cw.Write(row); err != nil {
					return err
				}
			default:
				if err := enc.Encode(obj); err != nil {
					return err
				}
			}
		}
	}
	if err := rr.Err(); err != nil {
		return err
	}
	if tw != nil {
		return tw.Flush()
	}
	if cw != nil {
		cw.Flush()
		return cw.Error()
	}
	return nil
}

// cell is the text of one value; NULL prints as an empty string. zone,
// when set, marks a DateTime column (UInt32 seconds).
func cell(col arrow.Array, i int, zone *time.Location) string {
	if col.IsNull(i) {
		return ""
	}
	switch a := col.(type) {
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Timestamp: // DateTime64
		tt := a.DataType().(*arrow.TimestampType)
		loc, err := time.LoadLocation(tt.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		return isoTime(a.Value(i).ToTime(tt.Unit), loc)
	case *array.Uint32:
		if zone != nil {
			return isoTime(time.Unix(int64(a.Value(i)), 0), zone)
		}
	}
	return col.ValueStr(i)
}

// isoTime formats t in loc as ISO 8601 (RFC 3339): 2026-12-07T09:30:00Z in
// UTC, the offset in another zone, fractions of a second only when t has
// them.
func isoTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(time.RFC3339Nano)
}

func jsonCell(col arrow.Array, i int, zone *time.Location) any {
	if col.IsNull(i) {
		return nil
	}
	if _, ok := col.(*array.Timestamp); ok || zone != nil {
		return cell(col, i, zone)
	}
	switch a := col.(type) {
	case *array.Decimal128:
		return json.Number(cell(col, i, nil))
	case *array.Float64:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Uint64:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Uint32:
		return a.Value(i)
	case *array.Uint8:
		return a.Value(i)
	}
	return col.GetOneForMarshal(i)
}
