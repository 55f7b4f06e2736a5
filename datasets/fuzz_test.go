package datasets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/duewise/duewise/warehouse/warehousetest"
)

// FuzzCSV reads any bytes as a payments CSV file through the loader's
// reader and validation (everything but the insert): no input panics, an
// unreadable file is an error naming it, every rejected row says where and
// why, the rows read add up, and the allocations stay within a bound of
// the file's size. `make test` runs it for a few seconds (scripts/fuzz.sh);
// the seeds are in testdata/fuzz/FuzzCSV.
func FuzzCSV(f *testing.F) {
	tb, _ := TableByName("payments")
	names := make([]string, len(tb.Columns))
	for i, c := range tb.Columns {
		names[i] = c.Name
	}
	f.Add([]byte(strings.Join(names, ",") + "\nfuzz,p1,c1,12.50,EUR,2026-01-02T10:00:00Z,bank_transfer,\n"))
	f.Add([]byte("tenant,payment_id\n\"a\"\"b\",\"x\ny\"\n"))
	f.Add([]byte("tenant,payment_id,amount\nt,p,1e400\nt,p,\xff\xfe\n"))
	f.Add([]byte("\"unterminated\n"))
	f.Add([]byte(""))
	cfg := DefaultLoaderConfig()
	cfg.Tenant, cfg.ChunkBytes, cfg.Workers = "fuzz", 4<<10, 2
	l, err := NewLoader(warehousetest.Server(f), cfg)
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "payments.csv")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		read, rejected, err := readAll(t, l, p, tb)
		runtime.ReadMemStats(&after)
		if err != nil && !strings.Contains(err.Error(), p) {
			t.Fatalf("error does not name the file: %v", err)
		}
		if rejected > read {
			t.Fatalf("%d rows rejected of %d read", rejected, read)
		}
		if a, bound := after.TotalAlloc-before.TotalAlloc, 64*uint64(len(data))+32<<20; a > bound {
			t.Fatalf("%d bytes of CSV allocated %d bytes (bound %d)", len(data), a, bound)
		}
	})
}

// readAll reads and validates the file at p as table tb, as loadFile
// does, without inserting, and returns the rows read and rejected.
func readAll(t *testing.T, l *Loader, p string, tb Table) (read, rejected int, err error) {
	src, err := l.open(context.Background(), fileJob{path: p, table: tb, format: CSV})
	if err != nil {
		return 0, 0, err
	}
	defer src.close()
	err = l.pipeline(context.Background(), src, func(b *batch) error {
		if b.rec != nil {
			b.rec.Release()
		}
		read += b.read
		rejected += len(b.rejects)
		for _, r := range b.rejects {
			if len(r.problems) == 0 || r.problems[0].Reason == "" {
				t.Errorf("a rejected row without a reason: %s", r.message(p))
			}
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("load %s: %w", p, err)
	}
	return read, rejected, err
}
