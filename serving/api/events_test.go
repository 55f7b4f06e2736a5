package api

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/duewise/duewise/warehouse"
)

// testEventsReachScores posts a failed direct debit for a customer and
// follows it through: the next answers carry the follow-up naming the
// SEPA reason, the risk does not fall, the change feed lists the
// customer, and after a restart the feed resumes from its cursor and the
// answer stays. The refresh computes in Go from the raw histories in
// memory (the SQL refresh's equal: online.TestHistoriesMatchRefresh), or
// from the warehouse before they are loaded.
func testEventsReachScores(t *testing.T, f *fixture) {
	for _, inMemory := range []bool{true, false} {
		t.Run(map[bool]string{true: "memory", false: "warehouse"}[inMemory], func(t *testing.T) { testEventReachesScore(t, f, inMemory) })
	}
}

func testEventReachesScore(t *testing.T, f *fixture, inMemory bool) {
	now := f.asOf.Add(10 * time.Hour) // the last day of the data, 10:00 UTC
	clock := func() time.Time { return now }
	sv := f.start(t, opts{Clock: clock, Histories: inMemory})
	if inMemory {
		sv.srv.core.LoadHistories(t.Context())
	}
	customer, invoice := f.debitCustomer(t)
	path := "/v1/customers/" + customer + "/risk"
	// The customer as of the same moment without the event: the risk to
	// compare with (the live features also count the day's other events).
	if err := sv.srv.core.RefreshCustomers(t.Context(), f.tenantA, []string{customer}); err != nil {
		t.Fatal(err)
	}
	before := sv.call(t, "GET", rCustomer, path, f.keyA, nil)
	if before.code != 200 || hasAction(before.m, "direct_debit_follow_up") != "" {
		t.Fatalf("before the event: %s", before)
	}
	start := sv.call(t, "GET", rChanges, "/v1/changes?limit=1000", f.keyA, nil)
	if start.code != 200 {
		t.Fatal(start)
	}
	cursor := start.m["next"].(string)
	for start.m["more"] == true {
		start = sv.call(t, "GET", rChanges, "/v1/changes?limit=1000&since="+cursor, f.keyA, nil)
		cursor = start.m["next"].(string)
	}

	ev := map[string]any{"direct_debits": []any{map[string]any{"attempt_id": "EV-" + customer, "invoice_id": invoice, "customer_id": customer,
		"attempted_at": now.Add(-time.Hour).Format(time.RFC3339), "status": "failed", "reason": "AM04"}}}
	if r := sv.call(t, "POST", rEvents, "/v1/events", f.keyEvents, ev); r.code != 200 {
		t.Fatalf("post the failed debit: %s", r)
	}
	posted := time.Now()
	var after reply
	for {
		after = sv.call(t, "GET", rCustomer, path, f.keyA, nil)
		if after.code == 200 && hasAction(after.m, "direct_debit_follow_up") != "" {
			break
		}
		if time.Since(posted) > 30*time.Second {
			t.Fatalf("30 s after the event the answer has no follow-up: %s", after)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the failed debit reached the answer after %s", time.Since(posted).Round(time.Millisecond))
	route := map[bool]string{true: "memory", false: "warehouse"}[inMemory]
	if m := sv.call(t, "GET", "/metrics", "/metrics", "", nil); !strings.Contains(string(m.body), `duewise_refresh_customers_by_path_total{path="`+route+`"}`) {
		t.Errorf("the refresh did not take the %s path", route)
	}
	if p := hasAction(after.m, "direct_debit_follow_up"); !strings.Contains(p, "AM04") {
		t.Errorf("the follow-up does not name the SEPA reason AM04: %s", p)
	}
	pb, pa := risk90(before.m), risk90(after.m)
	if pa < pb {
		t.Errorf("a failed debit lowered the 90-day risk from %v to %v", pb, pa)
	}

	// The change feed lists the customer with the new action.
	feed := func(sv *served, since string) []any {
		now = now.Add(3 * time.Second) // past the feed's settling time
		r := sv.call(t, "GET", rChanges, "/v1/changes?since="+since, f.keyA, nil)
		if r.code != 200 {
			t.Fatal(r)
		}
		return r.m["changes"].([]any)
	}
	var got map[string]any
	for _, c := range feed(sv, cursor) {
		if c := c.(map[string]any); c["customer_id"] == customer {
			got = c
		}
	}
	if got == nil || !slices.Contains(got["changed"].([]any), any("actions")) || hasAction(got["answer"].(map[string]any), "direct_debit_follow_up") == "" {
		t.Fatalf("the change feed after %s: %v", cursor, got)
	}
	if r := sv.call(t, "GET", rChanges, "/v1/changes?since=nonsense", f.keyA, nil); r.code != 400 || r.m["field"] != "since" {
		t.Errorf("a bad cursor: %s", r)
	}
	if r := sv.call(t, "GET", rChanges, "/v1/changes?limit=0", f.keyA, nil); r.code != 400 || r.m["field"] != "limit" {
		t.Errorf("limit 0: %s", r)
	}
	old := fmt.Sprint(now.Add(-10 * 24 * time.Hour).UnixNano())
	if r := sv.call(t, "GET", rChanges, "/v1/changes?since="+old, f.keyA, nil); r.code != 410 {
		t.Errorf("a cursor older than the retention: %s", r)
	}
	if r := sv.call(t, "GET", rChanges, "/v1/changes", f.keyB, nil); r.code != 200 || slices.ContainsFunc(r.m["changes"].([]any), func(c any) bool {
		return c.(map[string]any)["customer_id"] == customer
	}) {
		t.Errorf("another tenant's feed shows the customer: %s", r)
	}

	// After a restart the feed resumes from the same cursor and the
	// answer keeps the event.
	if err := sv.stop(); err != nil {
		t.Fatal(err)
	}
	sv = f.start(t, opts{Clock: clock})
	if r := sv.call(t, "GET", rCustomer, path, f.keyA, nil); hasAction(r.m, "direct_debit_follow_up") == "" {
		t.Errorf("after a restart: %s", r)
	}
	if !slices.ContainsFunc(feed(sv, cursor), func(c any) bool { return c.(map[string]any)["customer_id"] == customer }) {
		t.Error("after a restart the feed lost the change")
	}
}

// debitCustomer returns a customer of tenant A paying by direct debit whose
// answer has no follow-up, and its latest invoice.
func (f *fixture) debitCustomer(t *testing.T) (customer, invoice string) {
	t.Helper()
	rr, err := f.e.Query(t.Context(), `SELECT customer_id, max(invoice_id) AS inv FROM invoices FINAL
WHERE tenant = {t:String} AND customer_id IN (SELECT customer_id FROM features_latest FINAL WHERE tenant = {t:String} AND status = 'ok'
  AND ifNull(days_since_last_dd_failure, 1000) > 60 AND payment_method = 'direct_debit')
GROUP BY customer_id ORDER BY customer_id DESC LIMIT 1`, warehouse.Params{"t": f.tenantA})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if err := warehouse.ScanOne(rr, &customer, &invoice); err != nil {
		t.Fatal(err)
	}
	return customer, invoice
}

// hasAction returns the params of the answer's action of type typ as
// text, "" when it has none.
func hasAction(ans map[string]any, typ string) string {
	acts, _ := ans["actions"].([]any)
	for _, a := range acts {
		if a := a.(map[string]any); a["type"] == typ {
			return fmt.Sprint(a["params"]) + fmt.Sprint(a["message_key"])
		}
	}
	return ""
}

func risk90(ans map[string]any) float64 {
	p, _ := ans["probabilities"].(map[string]any)
	x, _ := p["90d"].(float64)
	return x
}
