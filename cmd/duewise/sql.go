package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/spf13/cobra"
)

func newSQLCmd(g *globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   `sql "SELECT ..." [--format table|csv|json]`,
		Short: "Run a SQL statement on the warehouse and print its result",
		Long: `Sql runs one ClickHouse SQL statement on the warehouse (the embedded store,
or the server of --clickhouse) and prints the rows: an aligned table, CSV
with a header, or JSON lines (one object per row). Raw tables hold every
loaded version of a row; read them with FINAL to see the deduplicated state.`,
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
			rr, err := e.Query(ctx, args[0], nil)
			if err != nil {
				return err
			}
			defer rr.Release()
			return printRecords(cmd.OutOrStdout(), rr, format)
		},
	}
	c.Flags().StringVar(&format, "format", "table", "output format: table, csv or json")
	return c
}

// printRecords writes every row of rr in format.
func printRecords(w io.Writer, rr array.RecordReader, format string) error {
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
				row[j] = cell(col, i)
				if enc != nil {
					obj[names[j]] = jsonCell(col, i)
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

// cell is the text of one value; NULL prints as an empty string.
func cell(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return ""
	}
	if d, ok := col.(*array.Decimal128); ok {
		return d.Value(i).ToString(d.DataType().(*arrow.Decimal128Type).Scale)
	}
	return col.ValueStr(i)
}

func jsonCell(col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch a := col.(type) {
	case *array.Decimal128:
		return json.Number(cell(col, i))
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
