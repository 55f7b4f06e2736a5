package api

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// TestHostileInput sends what an adversarial probe of a running server
// sent: every request answers 4xx and the server stays alive.
func TestHostileInput(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		f := setup(t, e)
		sv := f.start(t, opts{})
		alive := func(t *testing.T) {
			t.Helper()
			if r := sv.call(t, "GET", "/healthz", "/healthz", "", nil); r.code != 200 {
				t.Fatalf("server not alive: %s", r)
			}
		}
		want := func(t *testing.T, r reply, code int, field string) {
			t.Helper()
			var wantField any
			if field != "" {
				wantField = field
			}
			if r.code != code || r.m["field"] != wantField {
				t.Errorf("got %s, want %d naming %q", r, code, field)
			}
		}

		t.Run("1 deep nesting", func(t *testing.T) {
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			r := sv.call(t, "POST", rRisk, "/v1/risk", f.keyA, strings.Repeat("[", 1<<20))
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			want(t, r, 400, "")
			if grew := int64(after.StackSys) - int64(before.StackSys); grew > 16<<20 {
				t.Errorf("1 MiB of [ grew the stacks by %d MB", grew>>20)
			}
			deep := strings.Repeat("[", 5_000_000) + strings.Repeat("]", 5_000_000)
			want(t, sv.call(t, "POST", rBatch, "/v1/risk/batch", f.keyA, deep), 400, "")
			for _, body := range []string{`{"records":[` + deep + `]}`, `{"records":[{"history":` + deep + `}]}`} {
				want(t, sv.call(t, "POST", rBatch, "/v1/risk/batch", f.keyA, body), 400, "")
			}
			for _, rc := range []struct{ route, path string }{{rOnboarding, "/v1/onboarding/risk"}, {rInvoice, "/v1/invoices/risk"}, {rEvents, "/v1/events"}} {
				want(t, sv.call(t, "POST", rc.route, rc.path, f.keyAdmin, `{"a":`+strings.Repeat("[", 100_000)), 400, "")
			}
			alive(t)
		})

		t.Run("2 numbers out of range", func(t *testing.T) {
			want(t, sv.call(t, "POST", rRisk, "/v1/risk", f.keyA, `{"customer_id":"huge-1","signals":{"tenure_days":1e300}}`), 400, "signals.tenure_days")
			for _, field := range []string{"monthly_amount", "credit_limit"} {
				b := onboardingBody()
				b["prospect_id"], b[field] = "huge-2", 1e308
				want(t, sv.call(t, "POST", rOnboarding, "/v1/onboarding/risk", f.keyA, b), 400, field)
			}
			want(t, sv.call(t, "POST", rInvoice, "/v1/invoices/risk", f.keyA, map[string]any{"customer_id": f.customersA[0], "amount": 1e300, "terms_days": 14}), 400, "amount")
			r := sv.call(t, "POST", rBatch, "/v1/risk/batch", f.keyA, `{"records":[{"customer_id":"huge-3","signals":{"tenure_days":-1e300}}]}`)
			if r.code != 200 || len(r.lines) != 1 || r.lines[0]["field"] != "records[0].signals.tenure_days" {
				t.Errorf("batch: %s", r)
			}
			if err := sv.srv.trail.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := count(t, e, "SELECT toInt64(count()) FROM score_audit WHERE tenant = {t:String} AND (isNaN(risk_90d) OR isInfinite(risk_90d) OR customer_id LIKE '%huge%')", warehouse.Params{"t": f.tenantA}); n != 0 {
				t.Errorf("%d audit rows with a non-finite score or of a refused request", n)
			}
			alive(t)
		})

		t.Run("5 invalid UTF-8 in events", func(t *testing.T) {
			body := "{\"customer_events\":[{\"event_id\":\"utf-\xff\",\"customer_id\":\"" + f.customersA[0] + "\",\"occurred_at\":\"2026-01-02T10:00:00Z\",\"kind\":\"contact\"}," +
				"{\"event_id\":\"utf-\xfe\",\"customer_id\":\"" + f.customersA[0] + "\",\"occurred_at\":\"2026-01-02T10:00:00Z\",\"kind\":\"contact\"}]}"
			r := sv.callH(t, "POST", rEvents, "/v1/events", f.keyEvents, body, nil)
			res, _ := r.m["results"].(map[string]any)["customer_events"].([]any)
			if r.code != 207 || len(res) != 2 || r.m["accepted"] != 0.0 {
				t.Fatalf("events with invalid UTF-8: %s", r)
			}
			for _, x := range res {
				if reason, _ := x.(map[string]any)["reason"].(string); !strings.Contains(reason, "event_id: invalid UTF-8") {
					t.Errorf("row %v, want event_id: invalid UTF-8", x)
				}
			}
			if n := count(t, e, "SELECT toInt64(count()) FROM customer_events FINAL WHERE tenant = {t:String} AND event_id LIKE 'utf-%'", warehouse.Params{"t": f.tenantA}); n != 0 {
				t.Errorf("%d rows with invalid UTF-8 stored", n)
			}
		})

		t.Run("6 an id with a slash", func(t *testing.T) {
			id := "X/1 é"
			r := sv.call(t, "POST", rEvents, "/v1/events", f.keyEvents, map[string]any{"customers": []any{map[string]any{"customer_id": id,
				"created_at": f.asOf.AddDate(-1, 0, 0).Format(time.DateOnly), "customer_type": "consumer", "segment": "energy", "channel": "online",
				"payment_method": "direct_debit", "country": "NL", "monthly_amount": "80.00"}}})
			if r.code != 200 {
				t.Fatalf("add the customer: %s", r)
			}
			if _, err := features.Refresh(context.Background(), e, features.RefreshOptions{AsOf: f.asOf, Tenant: f.tenantA}); err != nil {
				t.Fatal(err)
			}
			sv.srv.Reload(context.Background())
			r = sv.call(t, "GET", rCustomer, "/v1/customers/X%2F1%20%C3%A9/risk", f.keyA, nil)
			if r.code != 200 || r.m["customer_id"] != id {
				t.Errorf("GET the escaped id: %s", r)
			}
			r = sv.call(t, "POST", rBatch, "/v1/risk/batch", f.keyA, map[string]any{"customer_ids": []string{id}})
			if r.code != 200 || len(r.lines) != 1 || r.lines[0]["customer_id"] != id {
				t.Errorf("batch: %s", r)
			}
		})

		t.Run("7 duplicate keys", func(t *testing.T) {
			for _, rc := range []struct {
				route, path, key, body, field string
			}{
				{rOnboarding, "/v1/onboarding/risk", f.keyA, `{"prospect_id":"a","prospect_id":"b","customer_type":"consumer","channel":"online","payment_method":"bank_transfer","monthly_amount":5}`, "prospect_id"},
				{rInvoice, "/v1/invoices/risk", f.keyA, `{"customer_id":"` + f.customersA[0] + `","amount":5,"amount":7,"terms_days":14}`, "amount"},
				{rEvents, "/v1/events", f.keyEvents, `{"customer_events":[],"customer_events":[]}`, "customer_events"},
				{rRisk, "/v1/risk", f.keyA, `{"signals":{"tenure_days":1,"tenure_days":2}}`, "signals.tenure_days"},
			} {
				r := sv.call(t, "POST", rc.route, rc.path, rc.key, rc.body)
				if r.code != 400 || r.m["field"] != rc.field || !strings.Contains(fmt.Sprint(r.m["error"]), "given twice") {
					t.Errorf("%s: %s, want 400 naming %s given twice", rc.path, r, rc.field)
				}
			}
		})

		t.Run("9 failed authentications", func(t *testing.T) {
			d := DefaultConfig()
			sv := f.start(t, opts{Config: Config{AuthFailures: d.AuthFailures, AuthFailureBurst: d.AuthFailureBurst}})
			limited := 0
			for i := range 200 {
				h := http.Header{"X-Forwarded-For": {fmt.Sprintf("10.0.%d.%d", i/250, i%250)}}
				r := sv.callH(t, "GET", rCustomer, "/v1/customers/"+f.customersA[0]+"/risk", fmt.Sprintf("guess-%d", i), nil, h)
				switch r.code {
				case 429:
					limited++
					if r.h.Get("Retry-After") == "" {
						t.Fatal("429 without Retry-After")
					}
				case 401:
				default:
					t.Fatalf("guess %d: %s", i, r)
				}
			}
			if limited < 150 {
				t.Errorf("%d of 200 failed authentications limited", limited)
			}
			if r := sv.call(t, "GET", rCustomer, "/v1/customers/"+f.customersA[0]+"/risk", f.keyA, nil); r.code != 429 {
				t.Errorf("a good key from the blocked address: %s", r)
			}
		})
	})
}
