package audit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// childEnv names the spool folder of the child process of
// TestRecordSurvivesKill; its tenant follows in childTenant.
const childEnv, childTenant = "DUEWISE_AUDIT_TEST_SPOOL", "DUEWISE_AUDIT_TEST_TENANT"

const childRecords, childCalls = 1000, 10

// TestRecordSurvivesKill: records that Record has returned are written to
// the warehouse after the process is killed with SIGKILL before any
// fsync or insert (SyncEvery and Every of an hour), once each.
func TestRecordSurvivesKill(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		recordThenWait(t, dir, os.Getenv(childTenant))
		return
	}
	e := warehousetest.Server(t)
	ctx := context.Background()
	if _, err := warehouse.Migrate(ctx, e, Migrations()); err != nil {
		t.Fatal(err)
	}
	dir, tenant := t.TempDir(), warehousetest.Tenant(t)
	child := exec.Command(os.Args[0], "-test.run", "^TestRecordSurvivesKill$")
	child.Env = append(os.Environ(), childEnv+"="+dir, childTenant+"="+tenant)
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	child.Process.Kill() // at once: the child sleeps for an hour before it would fsync
	child.Wait()
	if want := fmt.Sprintf("recorded %d\n", childRecords); err != nil || line != want {
		t.Fatalf("child said %q (%v), want %q", line, err, want)
	}

	tr, err := Open(Config{Warehouse: e, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if n := tr.Pending(); n != childRecords {
		t.Errorf("replayed %d records, want %d", n, childRecords)
	}
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var n, ids uint64
	rr, err := e.Query(ctx, `SELECT count(), uniqExact(audit_id) FROM score_audit WHERE tenant = {t:String}`, warehouse.Params{"t": tenant})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if err := warehouse.Scan(rr, func() error { return nil }, &n, &ids); err != nil {
		t.Fatal(err)
	}
	if n != childRecords || ids != childRecords {
		t.Fatalf("after kill -9 and a restart: %d audit rows with %d ids, want %d of each", n, ids, childRecords)
	}
}

// recordThenWait is the child of TestRecordSurvivesKill: it records, says
// so on stdout and waits to be killed.
func recordThenWait(t *testing.T, dir, tenant string) {
	tr, err := Open(Config{Warehouse: warehousetest.Server(t), Dir: dir, SyncEvery: time.Hour, Every: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for c := range childCalls {
		recs := make([]Record, childRecords/childCalls)
		for i := range recs {
			recs[i] = Record{Tenant: tenant, KeyID: "k", RequestID: fmt.Sprintf("r%d", c), Kind: "behaviour",
				Customer: fmt.Sprintf("c%d-%d", c, i), ModelVersion: "v1", Risk: 0.25, Band: "medium",
				Reasons: []Reason{{Code: "late_share_365d", Weight: 0.1}}, RulesFired: []string{"r1"}}
		}
		if err := tr.Record(context.Background(), recs...); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Printf("recorded %d\n", childRecords)
	time.Sleep(time.Hour)
}

// TestSpoolSyncedWithinInterval: the background fsync covers what Record
// wrote within SyncEvery, and Record does not wait for it.
func TestSpoolSyncedWithinInterval(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr, err := Open(Config{Warehouse: warehousetest.Server(t), Dir: t.TempDir(), SyncEvery: 20 * time.Millisecond, Every: time.Hour, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close(context.Background())
	metric := func(name string) *dto.Metric {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				return mf.GetMetric()[0]
			}
		}
		t.Fatalf("no metric %s", name)
		return nil
	}
	unsynced := func() float64 { return metric("duewise_audit_spool_unsynced").GetGauge().GetValue() }
	if err := tr.Record(context.Background(), Record{Tenant: "t", Customer: "c", Risk: 0.5}); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(5 * time.Second)
	for unsynced() != 0 && time.Now().Before(until) {
		time.Sleep(5 * time.Millisecond)
	}
	if u := unsynced(); u != 0 {
		t.Fatalf("%v records still not fsync'd after 5 s with SyncEvery 20 ms", u)
	}
	if n := metric("duewise_audit_spool_fsync_seconds").GetHistogram().GetSampleCount(); n == 0 {
		t.Fatal("no fsync counted")
	}
}
