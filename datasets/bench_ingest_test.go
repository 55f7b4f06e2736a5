package datasets

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// fileLoadSQL is chDB loading a contract CSV file by itself, into a scratch
// table of the same shape: the yardstick of BenchmarkIngest.
func fileLoadSQL(t Table, scratch, path string) string {
	cols := make([]string, len(t.Columns))
	structure := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = c.Name
		structure[i] = c.Name + " " + c.clickhouseType()
	}
	return fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM file('%s', 'CSVWithNames', '%s') SETTINGS date_time_input_format = 'best_effort'",
		scratch, strings.Join(cols, ", "), strings.Join(cols, ", "), path, strings.ReplaceAll(strings.Join(structure, ", "), "'", `\'`))
}

// BenchmarkIngest loads a generated world's CSV folder (env
// DUEWISE_BENCH_WORLD, from duewise generate) into chDB with the Loader,
// validation included, and in the same run times chDB's own INSERT ...
// SELECT FROM file(...) of the same files into scratch tables. It truncates
// the raw tables of the test store first.
func BenchmarkIngest(b *testing.B) {
	dir, err := filepath.Abs(benchWorld(b))
	if err != nil {
		b.Fatal(err)
	}
	e := warehousetest.Embedded(b)
	ctx := context.Background()
	exec := func(sql string) {
		if err := e.Exec(ctx, sql, nil); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	if err := CreateTables(ctx, e); err != nil {
		b.Fatal(err)
	}
	var ours, theirs time.Duration
	var rows int64
	for i := 0; i < b.N; i++ {
		for _, t := range Tables {
			exec("TRUNCATE TABLE " + t.Name)
		}
		l, err := NewLoader(e, DefaultLoaderConfig())
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		sum, err := l.LoadPaths(ctx, []string{dir})
		ours += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if sum.Total.Rejected > 0 {
			b.Fatalf("%d rows rejected: %q", sum.Total.Rejected, sum.Files[0].Problems)
		}
		rows += sum.Total.Read
		for _, f := range sum.Files {
			t, _ := TableByName(f.Table)
			scratch := "bench_" + t.Name
			exec("CREATE TABLE IF NOT EXISTS " + scratch + " AS " + t.Name)
			exec("TRUNCATE TABLE " + scratch)
			start := time.Now()
			exec(fileLoadSQL(t, scratch, f.File))
			d := time.Since(start)
			theirs += d
			b.Logf("%-16s %9d rows  duewise %6.2fs (%8.0f rows/s)  chdb file() %6.2fs (%8.0f rows/s)",
				t.Name, f.Read, f.Seconds, f.RowsPerSecond, d.Seconds(), float64(f.Read)/d.Seconds())
		}
	}
	b.ReportMetric(float64(rows)/ours.Seconds(), "ingest_rows/s")
	b.ReportMetric(float64(rows)/theirs.Seconds(), "chdb_file_rows/s")
	b.ReportMetric(ours.Seconds()/theirs.Seconds(), "x_chdb_time")
	_ = warehouse.Params{}
}
