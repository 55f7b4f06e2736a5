package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/auth"
	"github.com/duewise/duewise/serving/forecast"
	"github.com/duewise/duewise/serving/scoring"
	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

func cellString(a arrow.Array, i int) string { return a.(*array.String).Value(i) }

const (
	rCustomer   = "/v1/customers/{id}/risk"
	rRisk       = "/v1/risk"
	rBatch      = "/v1/risk/batch"
	rOnboarding = "/v1/onboarding/risk"
	rInvoice    = "/v1/invoices/risk"
	rEvents     = "/v1/events"
	rModels     = "/v1/models"
	rActivate   = "/v1/models/{version}/activate"
	rReport     = "/v1/models/{version}/report"
	rChanges    = "/v1/changes"
	rForecast   = "/v1/forecast/cash"
)

func onboardingBody() map[string]any {
	return map[string]any{"prospect_id": "P-1", "customer_type": "consumer", "segment": "energy", "channel": "online",
		"payment_method": "bank_transfer", "country": "NL", "postcode_area": "9999", "monthly_amount": 85}
}

// TestAPI drives every route of a real server on a random port, on both
// backends, and checks every answer against the OpenAPI document.
func TestAPI(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		f := setup(t, e)
		sv := f.start(t, opts{})
		cA := f.customersA[0]

		t.Run("customer risk", func(t *testing.T) {
			r := sv.call(t, "GET", rCustomer, "/v1/customers/"+cA+"/risk", f.keyA, nil)
			if r.code != 200 {
				t.Fatal(r)
			}
			if r.m["customer_id"] != cA || r.m["model"].(map[string]any)["version"] != f.versions[model.Behaviour] || r.m["as_of"] != f.asOf.Format(time.DateOnly) {
				t.Fatalf("answer %s", r)
			}
			p := r.m["probabilities"].(map[string]any)
			prev := 0.0
			for _, h := range []string{"30d", "60d", "90d", "180d", "365d"} {
				if p[h].(float64) < prev {
					t.Fatalf("probabilities not monotone: %v", p)
				}
				prev = p[h].(float64)
			}
			if len(r.m["reasons"].([]any)) != scoring.TopReasons {
				t.Fatalf("want %d reasons: %s", scoring.TopReasons, r)
			}
			nl := sv.call(t, "GET", rCustomer, "/v1/customers/"+cA+"/risk?lang=nl", f.keyA, nil)
			if nl.m["reasons"].([]any)[0].(map[string]any)["text"] == r.m["reasons"].([]any)[0].(map[string]any)["text"] {
				t.Errorf("lang=nl gave the English text")
			}
			if r := sv.call(t, "GET", rCustomer, "/v1/customers/"+cA+"/risk?lang=fr", f.keyA, nil); r.code != 400 || r.m["field"] != "lang" {
				t.Errorf("lang=fr: %s", r)
			}
			if r := sv.call(t, "GET", rCustomer, "/v1/customers/NOBODY/risk", f.keyA, nil); r.code != 404 {
				t.Errorf("unknown customer: %s", r)
			}
			// The caller's request id is kept.
			r = sv.callH(t, "GET", rCustomer, "/v1/customers/"+cA+"/risk", f.keyA, nil, http.Header{"X-Request-Id": {"crm-42"}})
			if r.h.Get("X-Request-ID") != "crm-42" {
				t.Errorf("request id %q", r.h.Get("X-Request-ID"))
			}
		})

		t.Run("policy actions follow the signals", func(t *testing.T) {
			// Every answer's rules_fired names the rule of each action, and
			// a customer already behind (30+ days) with repeated lateness
			// gets the chronic non-payment actions.
			chronic, behind := 0, 0
			for _, c := range f.customersA[:120] {
				r := sv.call(t, "GET", rCustomer, "/v1/customers/"+c+"/risk", f.keyA, nil)
				rules := r.m["rules_fired"].([]any)
				for _, a := range r.m["actions"].([]any) {
					if !slices.Contains(rules, a.(map[string]any)["why"].(map[string]any)["rule"]) {
						t.Fatalf("%s: action of a rule that did not fire: %s", c, r)
					}
				}
				if r.m["status"] == "behind" {
					behind++
					// Already behind: the event has happened.
					for h, v := range r.m["probabilities"].(map[string]any) {
						if v != 1.0 {
							t.Errorf("%s is behind, but P(behind within %s) = %v", c, h, v)
						}
					}
					if r.m["expected_days"] != 0.0 || r.m["band"] != "E" {
						t.Errorf("%s is behind: expected_days %v band %v", c, r.m["expected_days"], r.m["band"])
					}
				}
				if slices.Contains(rules, any("chronic_non_payment")) {
					chronic++
					if r.m["status"] != "behind" && r.m["actions"].([]any)[0].(map[string]any)["type"] != "announce_service_stop" {
						t.Errorf("chronic without stop of service: %s", r)
					}
				}
			}
			if chronic == 0 || behind == 0 {
				t.Errorf("%d chronic non-payers, %d customers behind among 120 customers of the synthetic world", chronic, behind)
			}
		})

		t.Run("a failed direct debit is followed up naming its reason", func(t *testing.T) {
			// For a customer looked up by id, the SEPA reason comes from the
			// online features (last_dd_failure_reason), not from a request.
			rr, err := e.Query(context.Background(), `SELECT customer_id, last_dd_failure_reason FROM features_latest FINAL
WHERE tenant = {t:String} AND last_dd_failure_reason != '' ORDER BY customer_id`, warehouse.Params{"t": f.tenantA})
			if err != nil {
				t.Fatal(err)
			}
			var failed [][2]string // customer, the reason of its latest failed debit
			for rr.Next() {
				rec := rr.Record()
				for i := range int(rec.NumRows()) {
					failed = append(failed, [2]string{cellString(rec.Column(0), i), cellString(rec.Column(1), i)})
				}
			}
			rr.Release()
			named := 0
			for _, cr := range failed {
				c, reason := cr[0], cr[1]
				r := sv.call(t, "GET", rCustomer, "/v1/customers/"+c+"/risk", f.keyA, nil)
				for _, a := range r.m["actions"].([]any) {
					a := a.(map[string]any)
					if a["type"] != "direct_debit_follow_up" {
						continue
					}
					if code := a["params"].(map[string]any)["sepa_code"]; code != reason {
						t.Errorf("%s: follow-up names %v, the warehouse says %s: %s", c, code, reason, r)
					}
					named++
				}
				if named >= 3 {
					break
				}
			}
			if named == 0 {
				t.Error("no direct-debit follow-up among the customers with a failed debit")
			}
		})

		t.Run("auth", func(t *testing.T) {
			routes := []struct {
				method, route, path, scope string
				body                       any
			}{
				{"GET", rCustomer, "/v1/customers/" + cA + "/risk", "score", nil},
				{"POST", rRisk, "/v1/risk", "score", map[string]any{"signals": map[string]any{"tenure_days": 100}}},
				{"POST", rBatch, "/v1/risk/batch", "score", map[string]any{"customer_ids": []string{cA}}},
				{"POST", rOnboarding, "/v1/onboarding/risk", "score", onboardingBody()},
				{"POST", rInvoice, "/v1/invoices/risk", "score", map[string]any{"customer_id": cA, "amount": 80, "terms_days": 14}},
				{"POST", rEvents, "/v1/events", "events", map[string]any{"customer_events": []any{}}},
				{"GET", rChanges, "/v1/changes", "score", nil},
				{"GET", rModels, "/v1/models", "admin", nil},
				{"POST", rActivate, "/v1/models/" + f.versions[model.Behaviour] + "/activate", "admin", nil},
				{"GET", rReport, "/v1/models/" + f.versions[model.Behaviour] + "/report?format=json", "admin", nil},
				{"GET", rForecast, "/v1/forecast/cash?weeks=1&origins=0", "admin", nil},
			}
			st := auth.NewStore(e)
			_, revoked, err := st.Create(context.Background(), f.tenantA, "to revoke", auth.AllScopes)
			if err != nil {
				t.Fatal(err)
			}
			tokRevoked, k2, _ := st.Create(context.Background(), f.tenantA, "revoked", auth.AllScopes)
			if _, err := st.Revoke(context.Background(), k2.ID); err != nil {
				t.Fatal(err)
			}
			_ = revoked
			sv.srv.Reload(context.Background())
			for _, rt := range routes {
				for name, hdr := range map[string]string{"no header": "", "basic": "Basic dXNlcjpwdw==", "garbage": "Bearer nonsense",
					"unknown key": "Bearer dwk_000000000000_" + strings.Repeat("x", 43), "revoked key": "Bearer " + tokRevoked,
					"wrong secret": "Bearer " + f.keyA[:len(f.keyA)-4] + "AAAA"} {
					h := http.Header{}
					if hdr != "" {
						h.Set("Authorization", hdr)
					}
					r := sv.callH(t, rt.method, rt.route, rt.path, "", rt.body, h)
					if r.code != 401 || !strings.HasPrefix(r.h.Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("%s %s, %s: %s", rt.method, rt.path, name, r)
					}
				}
				wrong := map[string]string{"score": f.keyEvents, "events": f.keyA, "admin": f.keyA}[rt.scope]
				if r := sv.call(t, rt.method, rt.route, rt.path, wrong, rt.body); r.code != 403 || !strings.Contains(r.m["error"].(string), rt.scope) {
					t.Errorf("%s %s with the wrong scope: %s", rt.method, rt.path, r)
				}
			}
		})

		t.Run("tenant isolation", func(t *testing.T) {
			// A key reads only its tenant's customers...
			if r := sv.call(t, "GET", rCustomer, "/v1/customers/"+cA+"/risk", f.keyB, nil); r.code != 404 {
				t.Errorf("B reads A's customer: %s", r)
			}
			if r := sv.call(t, "GET", rCustomer, "/v1/customers/"+f.customerB+"/risk", f.keyA, nil); r.code != 404 {
				t.Errorf("A reads B's customer: %s", r)
			}
			if r := sv.call(t, "POST", rInvoice, "/v1/invoices/risk", f.keyB, map[string]any{"customer_id": cA, "amount": 10, "terms_days": 14}); r.code != 404 {
				t.Errorf("B scores an invoice of A's customer: %s", r)
			}
			r := sv.call(t, "POST", rBatch, "/v1/risk/batch", f.keyB, map[string]any{"customer_ids": []string{cA, f.customerB}})
			if r.code != 200 || r.lines[0]["error_status"] != 404.0 || r.lines[1]["customer_id"] != f.customerB {
				t.Errorf("B's batch over A's and B's customers: %s", r)
			}
			// ... and is scored by its tenant's models only.
			for _, c := range []struct {
				method, route, path string
				body                any
				kind                model.Kind
			}{
				{"POST", rRisk, "/v1/risk", map[string]any{"signals": map[string]any{"tenure_days": 100}}, model.Behaviour},
				{"POST", rOnboarding, "/v1/onboarding/risk", onboardingBody(), model.Onboarding},
				{"GET", rCustomer, "/v1/customers/" + f.customerB + "/risk", nil, model.Behaviour},
			} {
				r := sv.call(t, c.method, c.route, c.path, f.keyB, c.body)
				if r.code != 200 || r.m["model"].(map[string]any)["version"] != f.versionsB[c.kind] {
					t.Errorf("%s with B's key: %s, want B's model %s", c.path, r, f.versionsB[c.kind])
				}
				if r := sv.call(t, c.method, c.route, strings.Replace(c.path, f.customerB, cA, 1), f.keyC, c.body); r.code != 503 {
					t.Errorf("%s with a key of a tenant without models: %s", c.path, r)
				}
			}
			// A key writes only its tenant's rows.
			r = sv.call(t, "POST", rEvents, "/v1/events", f.keyAdmin, map[string]any{"customer_events": []any{
				map[string]any{"tenant": f.tenantB, "event_id": "iso-1", "customer_id": f.customerB, "occurred_at": "2026-01-02T10:00:00Z", "kind": "contact"}}})
			if r.code != 207 || !strings.Contains(fmt.Sprint(r.m["results"]), "tenant") {
				t.Errorf("A writes a row of B: %s", r)
			}
			if n := count(t, e, "SELECT toInt64(count()) FROM customer_events FINAL WHERE event_id = 'iso-1'", nil); n != 0 {
				t.Errorf("%d rows of iso-1 stored", n)
			}
			// Models: listing and activating stay within the tenant.
			r = sv.call(t, "GET", rModels, "/v1/models", f.keyBAdmin, nil)
			for _, m := range r.m["models"].([]any) {
				if m.(map[string]any)["tenant"] != f.tenantB {
					t.Errorf("B lists a model of %v", m.(map[string]any)["tenant"])
				}
			}
			if r := sv.call(t, "POST", rActivate, "/v1/models/"+f.versions[model.Invoice]+"/activate", f.keyBAdmin, nil); r.code != 404 {
				t.Errorf("B activates A's model: %s", r)
			}
		})

		t.Run("strict JSON", func(t *testing.T) {
			hist := historyOf(t, f.worldA, cA)
			badHist := map[string]any{}
			for k, v := range hist {
				badHist[k] = v
			}
			badHist["invoices"] = append([]any{map[string]any{"invoice_id": "X", "customer_id": cA, "issued_at": "2025-01-01", "due_at": "2025-01-15", "amount": "12.345", "currency": "EUR"}}, hist["invoices"].([]any)...)
			cases := []struct {
				route, path string
				body        any
				field       string
			}{
				{rRisk, "/v1/risk", `{"signals": {"tenure_days": 1}, "colour": 1}`, "colour"},
				{rRisk, "/v1/risk", `{"signals": {"tenure_days": "long"}}`, "signals.tenure_days"},
				{rRisk, "/v1/risk", `{"signals": {"channel": 3}}`, "signals.channel"},
				{rRisk, "/v1/risk", `{"signals": {"no_such_signal": 1}}`, "signals.no_such_signal"},
				{rRisk, "/v1/risk", `{"as_of": 20250101, "signals": {}}`, "as_of"},
				{rRisk, "/v1/risk", `{"as_of": "2025-13-01", "signals": {}}`, "as_of"},
				{rRisk, "/v1/risk", `{}`, "signals"},
				{rRisk, "/v1/risk", map[string]any{"signals": map[string]any{}, "history": hist}, "signals"},
				{rRisk, "/v1/risk", map[string]any{"history": map[string]any{"customer": hist["customer"], "invoices": []any{map[string]any{"invoice_id": "X", "vat": 1}}}}, "history.invoices[0].vat"},
				{rRisk, "/v1/risk", map[string]any{"history": badHist}, "history.invoices[0].amount"},
				{rRisk, "/v1/risk", `{"signals": `, ""},
				{rRisk, "/v1/risk", `{"signals": {}} {}`, ""},
				{rBatch, "/v1/risk/batch", `{"customer_ids": "x"}`, "customer_ids"},
				{rBatch, "/v1/risk/batch", `{"ids": []}`, "ids"},
				{rBatch, "/v1/risk/batch", `{"customer_ids": []}`, "customer_ids"},
				{rBatch, "/v1/risk/batch", `{"customer_ids": ["a"], "records": []}`, "records"},
				{rOnboarding, "/v1/onboarding/risk", `{"customer_type": "consumer", "channel": "online", "payment_method": "card", "monthly_amount": "85"}`, "monthly_amount"},
				{rOnboarding, "/v1/onboarding/risk", `{"customer_type": "alien", "channel": "online", "payment_method": "card", "monthly_amount": 1}`, "customer_type"},
				{rOnboarding, "/v1/onboarding/risk", `{"customer_type": "consumer", "channel": "online", "payment_method": "card", "monthly_amount": 1, "salary": 3}`, "salary"},
				{rInvoice, "/v1/invoices/risk", `{"customer_id": "` + cA + `", "amount": 10, "terms_days": 14.5}`, "terms_days"},
				{rInvoice, "/v1/invoices/risk", `{"customer_id": "` + cA + `", "amount": 10, "due_at": "tomorrow"}`, "due_at"},
				{rInvoice, "/v1/invoices/risk", `{"customer_id": "` + cA + `", "amount": -1, "terms_days": 14}`, "amount"},
				{rEvents, "/v1/events", `{"invoices": {"a": 1}}`, "invoices"},
				{rEvents, "/v1/events", `{"bananas": []}`, "bananas"},
				{rEvents, "/v1/events", `{}`, ""},
			}
			for _, c := range cases {
				key := f.keyA
				if c.route == rEvents {
					key = f.keyEvents
				}
				r := sv.call(t, "POST", c.route, c.path, key, c.body)
				if r.code != 400 {
					t.Errorf("%s %v: %s", c.path, c.body, r)
					continue
				}
				if got, _ := r.m["field"].(string); got != c.field {
					t.Errorf("%s %v: field %q, want %q (%s)", c.path, c.body, got, c.field, r)
				}
				if c.field != "" && !strings.HasPrefix(r.m["error"].(string), c.field+":") {
					t.Errorf("error %q does not start with the field path %q", r.m["error"], c.field)
				}
			}
			if r := sv.call(t, "POST", rRisk, "/v1/risk", f.keyA, `{"signals": `); !strings.Contains(r.m["error"].(string), "line 1, column") {
				t.Errorf("malformed JSON without a position: %s", r)
			}
		})

		t.Run("inline history gives the pipelines' signals", func(t *testing.T) {
			for _, c := range f.customersA[:25] {
				body := map[string]any{"as_of": f.asOf.Format(time.DateOnly), "history": historyOf(t, f.worldA, c)}
				f.validRequest(t, rRisk, "POST", body)
				inl := sv.call(t, "POST", rRisk, "/v1/risk", f.keyA, body)
				if inl.code != 200 {
					t.Fatalf("%s: %s", c, inl)
				}
				sql := latestRow(t, e, f.tenantA, c)
				got := inl.m["signals"].(map[string]any)
				for name, want := range sql {
					g, ok := got[name]
					if !ok {
						t.Fatalf("%s: signal %s missing from the answer", c, name)
					}
					if !sameValue(g, want) {
						t.Errorf("%s: %s = %v from the history, %v from the SQL pipeline", c, name, g, want)
					}
				}
				onl := sv.call(t, "GET", rCustomer, "/v1/customers/"+c+"/risk", f.keyA, nil)
				for _, h := range []string{"30d", "90d", "365d"} {
					a, o := inl.m["probabilities"].(map[string]any)[h].(float64), onl.m["probabilities"].(map[string]any)[h].(float64)
					if math.Abs(a-o) > 1e-4 {
						t.Errorf("%s %s: inline history %v, online features %v", c, h, a, o)
					}
				}
				if inl.m["status"] != onl.m["status"] || inl.m["band"] != onl.m["band"] {
					t.Errorf("%s: status/band inline %v/%v online %v/%v", c, inl.m["status"], inl.m["band"], onl.m["status"], onl.m["band"])
				}
			}
		})

		t.Run("inline signals", func(t *testing.T) {
			body := map[string]any{"customer_id": "X-1", "as_of": "2026-06-01", "signals": map[string]any{"tenure_days": 900, "late_share_365d": 0.5,
				"invoices_365d": 12, "oldest_overdue_days": 75, "open_overdue_amount": 310.5, "arrangements_broken_730d": 1, "channel": "offline", "country": "NL",
				"days_since_last_dd_failure": 3, "dd_attempts_365d": 12, "dd_failed_share_365d": 0.25, "last_dd_failure_reason": "AM04", "credit_limit": nil}}
			f.validRequest(t, rRisk, "POST", body)
			r := sv.call(t, "POST", rRisk, "/v1/risk", f.keyA, body)
			if r.code != 200 || r.m["status"] != "behind" || r.m["as_of"] != "2026-06-01" || r.m["customer_id"] != "X-1" {
				t.Fatalf("%s", r)
			}
			types := []string{}
			for _, a := range r.m["actions"].([]any) {
				types = append(types, a.(map[string]any)["type"].(string))
			}
			// A failed debit (AM04) of an offline, chronically late customer
			// in NL: follow-up by letter naming the reason, then the chronic
			// non-payment steps with the WIK letter.
			want := []string{"direct_debit_follow_up", "announce_service_stop", "wik_14_day_letter", "hand_over_to_collection"}
			if !slices.Equal(types, want) {
				t.Fatalf("actions %v, want %v: %s", types, want, r)
			}
			a0 := r.m["actions"].([]any)[0].(map[string]any)
			if a0["channel"] != "letter" || a0["params"].(map[string]any)["sepa_code"] != "AM04" {
				t.Errorf("follow-up %v", a0)
			}
			wik := r.m["actions"].([]any)[2].(map[string]any)["details"].(map[string]any)
			if wik["wik_collection_costs_max"] != 46.58 || wik["overdue_amount"] != 310.5 {
				t.Errorf("WIK details %v, want 15%% of 310.50 = 46.58", wik)
			}
		})

		t.Run("batch", func(t *testing.T) {
			ids := []string{cA, "nobody", f.customersA[1], cA}
			body := map[string]any{"customer_ids": ids}
			f.validRequest(t, rBatch, "POST", body)
			r := sv.call(t, "POST", rBatch, "/v1/risk/batch", f.keyA, body)
			if r.code != 200 || len(r.lines) != len(ids) {
				t.Fatalf("%s", r)
			}
			for i, l := range r.lines {
				if l["index"] != float64(i) {
					t.Fatalf("line %d has index %v", i, l["index"])
				}
				if (i == 1) != (l["error"] != nil) || (i != 1 && l["customer_id"] != ids[i]) {
					t.Fatalf("line %d: %v", i, l)
				}
			}
			if r.lines[1]["error_status"] != 404.0 || r.lines[1]["id"] != "nobody" {
				t.Errorf("not-found line %v", r.lines[1])
			}
			// Accept: application/json answers the same objects as one JSON
			// array (generated clients expect it); NDJSON stays the default.
			for accept, array := range map[string]bool{"application/json": true, "application/x-ndjson;q=1, application/json;q=0.5": false, "*/*": false} {
				ra := sv.callH(t, "POST", rBatch, "/v1/risk/batch", f.keyA, body, http.Header{"Accept": {accept}})
				var got []map[string]any
				if array {
					if err := json.Unmarshal(ra.body, &got); err != nil || !strings.HasPrefix(ra.h.Get("Content-Type"), "application/json") {
						t.Fatalf("Accept %s: %v %s", accept, err, ra)
					}
				} else {
					got = ra.lines
				}
				if fmt.Sprint(got) != fmt.Sprint(r.lines) {
					t.Errorf("Accept %s: %v, want the NDJSON lines %v", accept, got, r.lines)
				}
			}
			// Inline records: the bad one gets an error line, the rest answers.
			var recs []any
			for i := range 300 {
				recs = append(recs, map[string]any{"customer_id": fmt.Sprint("R", i), "signals": map[string]any{"tenure_days": i, "late_share_365d": float64(i%10) / 10}})
			}
			recs[7] = map[string]any{"customer_id": "R7", "signals": map[string]any{"bogus": 1}}
			recs[8] = "not an object"
			recs[9] = map[string]any{"customer_id": "R9", "history": map[string]any{"customer": map[string]any{"customer_id": "R9", "created_at": "yesterday"}}}
			body = map[string]any{"records": recs}
			r = sv.call(t, "POST", rBatch, "/v1/risk/batch", f.keyA, body)
			if r.code != 200 || len(r.lines) != 300 {
				t.Fatalf("%d lines: %.300s", len(r.lines), r.body)
			}
			for i, l := range r.lines {
				if l["index"] != float64(i) {
					t.Fatalf("line %d has index %v", i, l["index"])
				}
				switch i {
				case 7, 8, 9:
					want := map[int]string{7: "records[7].signals.bogus", 8: "records[8]", 9: "records[9].history.customer.created_at"}[i]
					if l["field"] != want || l["error_status"] != 400.0 {
						t.Errorf("line %d: %v, want field %s", i, l, want)
					}
				default:
					if l["customer_id"] != fmt.Sprint("R", i) || l["error"] != nil {
						t.Errorf("line %d: %v", i, l)
					}
				}
			}
			// Malformed JSON inside one record is that record's error; an
			// unbalanced body fails the request.
			r = sv.call(t, "POST", rBatch, "/v1/risk/batch", f.keyA, `{"records": [{"signals": {"tenure_days": 1}}, {"signals": {"tenure_days": tru}}, {"customer_id": "a\"]}"}]}`)
			if r.code != 200 || len(r.lines) != 3 || r.lines[1]["field"] != "records[1]" || !strings.Contains(r.lines[1]["error"].(string), "malformed JSON") ||
				r.lines[2]["field"] != "records[2].signals" || r.lines[0]["error"] != nil {
				t.Errorf("malformed record: %v", r.lines)
			}
			if r := sv.call(t, "POST", rBatch, "/v1/risk/batch", f.keyA, `{"records": [{"signals": {"tenure_days": 1}]}`); r.code != 400 {
				t.Errorf("unbalanced batch: %s", r)
			}
			big := map[string]any{"customer_ids": make([]string, maxBatch+1)}
			if r := sv.call(t, "POST", rBatch, "/v1/risk/batch", f.keyA, big); r.code != 413 {
				t.Errorf("oversize batch: %s", r)
			}
		})

		t.Run("batch lines are encoding/json's bytes", func(t *testing.T) {
			encodesLikeEncodingJSON(t, sv.srv, f.tenantA)
		})

		t.Run("onboarding", func(t *testing.T) {
			body := onboardingBody()
			f.validRequest(t, rOnboarding, "POST", body)
			r := sv.call(t, "POST", rOnboarding, "/v1/onboarding/risk", f.keyA, body)
			if r.code != 200 || r.m["model"].(map[string]any)["kind"] != "onboarding" || r.m["customer_id"] != "P-1" {
				t.Fatal(r)
			}
			adv := r.m["advice"].(map[string]any)
			rules := r.m["rules_fired"].([]any)
			if len(rules) == 0 || rules[0] != adv["why"].(map[string]any)["rule"] {
				t.Errorf("rules fired %v, advice %v", rules, adv)
			}
			if (adv["worth_acquisition_spend"] == true) != slices.Contains(rules, any("acquisition")) {
				t.Errorf("acquisition %v, rules %v", adv["worth_acquisition_spend"], rules)
			}
			ev, cost := adv["expected_value"].(float64), adv["acquisition_cost"].(float64)
			val := adv["value"].(map[string]any)
			if cost != 60 || (ev > cost) != (adv["worth_acquisition_spend"] == true) || math.Abs(val["p_behind"].(float64)-r.m["probabilities"].(map[string]any)["365d"].(float64)) > 1e-4 ||
				ev != math.Round((val["expected_revenue"].(float64)-val["expected_loss"].(float64)-val["expected_costs"].(float64))*100)/100 {
				t.Errorf("expected value %v, acquisition cost %v, parts %v, worth %v", ev, cost, val, adv["worth_acquisition_spend"])
			}
		})

		t.Run("invoice", func(t *testing.T) {
			body := map[string]any{"customer_id": cA, "amount": 120.5, "issued_at": "2026-10-01", "terms_days": 14}
			f.validRequest(t, rInvoice, "POST", body)
			r := sv.call(t, "POST", rInvoice, "/v1/invoices/risk", f.keyA, body)
			if r.code != 200 || r.m["model"].(map[string]any)["kind"] != "invoice" || r.m["due_at"] != "2026-10-15" {
				t.Fatal(r)
			}
			pl := r.m["p_late"].(float64)
			if pl <= 0 || pl >= 1 {
				t.Errorf("p_late %v", pl)
			}
			before := false
			for _, a := range r.m["actions"].([]any) {
				w := a.(map[string]any)["when"].(map[string]any)
				before = before || (w["anchor"] == "due_date" && w["offset_days"].(float64) < 0)
			}
			if before != (r.m["reminder_before_due"] == true) {
				t.Errorf("reminder_before_due %v, actions %v", r.m["reminder_before_due"], r.m["actions"])
			}
			if r := sv.call(t, "POST", rInvoice, "/v1/invoices/risk", f.keyA, map[string]any{"customer_id": "NOBODY", "amount": 1, "terms_days": 1}); r.code != 404 {
				t.Errorf("unknown customer: %s", r)
			}
		})

		t.Run("events", func(t *testing.T) {
			rows := []any{
				map[string]any{"event_id": "ev-1", "customer_id": cA, "occurred_at": "2026-01-02T10:00:00Z", "kind": "contact", "detail": "called"},
				map[string]any{"event_id": "ev-2", "customer_id": cA, "occurred_at": "yesterday", "kind": "contact"},
			}
			q := "SELECT toInt64(count()) FROM customer_events FINAL WHERE tenant = {t:String} AND event_id LIKE 'ev-%'"
			for range 2 { // idempotent
				r := sv.call(t, "POST", rEvents, "/v1/events", f.keyEvents, map[string]any{"customer_events": rows})
				if r.code != 207 || r.m["accepted"] != 1.0 || r.m["rejected"] != 1.0 {
					t.Fatalf("%s", r)
				}
				res := r.m["results"].(map[string]any)["customer_events"].([]any)
				if res[0].(map[string]any)["accepted"] != true || res[1].(map[string]any)["accepted"] != false ||
					!strings.HasPrefix(res[1].(map[string]any)["reason"].(string), "customer_events[1].occurred_at") {
					t.Fatalf("results %s", r)
				}
				if n := count(t, e, q, warehouse.Params{"t": f.tenantA}); n != 1 {
					t.Fatalf("%d rows stored, want 1", n)
				}
			}
			good := map[string]any{"customers": []any{map[string]any{"customer_id": "NEW-1", "created_at": "2026-01-01", "customer_type": "consumer",
				"segment": "energy", "channel": "online", "payment_method": "card", "country": "NL", "monthly_amount": "40.00"}},
				"invoices": []any{map[string]any{"invoice_id": "NEW-I1", "customer_id": "NEW-1", "issued_at": "2026-01-01", "due_at": "2026-01-15", "amount": 40, "currency": "EUR"}}}
			f.validRequest(t, rEvents, "POST", good)
			r := sv.call(t, "POST", rEvents, "/v1/events", f.keyEvents, good)
			if r.code != 200 || r.m["accepted"] != 2.0 {
				t.Fatalf("%s", r)
			}
		})

		t.Run("model report", func(t *testing.T) {
			v := f.versions[model.Behaviour]
			to := f.asOf.AddDate(0, 0, -120)
			from := to.AddDate(0, -3, 0)
			q := "?format=json&from=" + from.Format(time.DateOnly) + "&to=" + to.Format(time.DateOnly)
			r := sv.call(t, "GET", rReport, "/v1/models/"+v+"/report"+q, f.keyAdmin, nil)
			if r.code != 200 {
				t.Fatal(r)
			}
			// The numbers are those of training.Evaluate on the same rows.
			d := snapshotRows(t, e, features.SnapshotOptions{Tenant: f.tenantA, From: from, To: to, Every: "1mo"})
			entry, err := f.reg.Get(context.Background(), f.tenantA, v)
			if err != nil {
				t.Fatal(err)
			}
			a, err := f.reg.Load(entry)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := training.Evaluate(a, d, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := r.m["models"].([]any)[0].(map[string]any)
			if r.m["rows"] != float64(d.Len()) || m["version"] != v || m["metrics"].(map[string]any)["model"].(map[string]any)["auc"].(map[string]any)["90d"] != ev.Model.AUC["90d"] {
				t.Errorf("report of %d rows, AUC %v; evaluate: %d rows, AUC %v", int(r.m["rows"].(float64)), m["metrics"].(map[string]any)["model"].(map[string]any)["auc"], d.Len(), ev.Model.AUC)
			}
			// The page by default, with a second model of the same kind.
			page := sv.call(t, "GET", rReport, "/v1/models/"+v+"/report?compare="+v, f.keyAdmin, nil)
			for _, id := range []string{"roc-90d", "calibration", "survival-band-0", "auc-by-horizon", "drift-0", "difference-table", "monotonicity-table-0"} {
				if !bytes.Contains(page.body, []byte(`id="`+id+`"`)) {
					t.Errorf("the page has no %s", id)
				}
			}
			for name, c := range map[string]struct {
				path  string
				code  int
				field string
			}{
				"unknown version": {"/v1/models/behaviour-nope/report", 404, "version"},
				"bad date":        {"/v1/models/" + v + "/report?from=2025-13-01", 400, "from"},
				"from after to":   {"/v1/models/" + v + "/report?from=" + to.Format(time.DateOnly) + "&to=" + from.Format(time.DateOnly), 400, "from"},
				"bad step":        {"/v1/models/" + v + "/report?every=fortnightly", 400, "every"},
				"bad format":      {"/v1/models/" + v + "/report?format=pdf", 400, "format"},
				"another kind":    {"/v1/models/" + v + "/report?compare=" + f.versions[model.Invoice], 400, "compare"},
				"no rows":         {"/v1/models/" + v + "/report?from=2001-01-01&to=2001-02-01", 400, "from"},
				"another tenant":  {"/v1/models/" + f.versions[model.Behaviour] + "/report", 404, "version"},
			} {
				key := f.keyAdmin
				if name == "another tenant" {
					key = f.keyBAdmin
				}
				if r := sv.call(t, "GET", rReport, c.path, key, nil); r.code != c.code || r.m["field"] != c.field {
					t.Errorf("%s: %s", name, r)
				}
			}
		})

		t.Run("cash-in forecast", func(t *testing.T) {
			// The forecast made 13 weeks before the end of the data equals
			// the CLI's (forecast.Cash with the served invoice model), as
			// JSON and as CSV.
			from := f.asOf.AddDate(0, 0, -7*13)
			q := "?from=" + from.Format(time.DateOnly) + "&weeks=13&origins=2"
			r := sv.call(t, "GET", rForecast, rForecast+q, f.keyAdmin, nil)
			if r.code != 200 {
				t.Fatal(r)
			}
			entry, err := f.reg.Get(context.Background(), f.tenantA, f.versions[model.Invoice])
			if err != nil {
				t.Fatal(err)
			}
			a, err := f.reg.Load(entry)
			if err != nil {
				t.Fatal(err)
			}
			want, err := forecast.Cash(context.Background(), e, a, forecast.Options{Tenant: f.tenantA, From: from, Weeks: 13, Origins: 2})
			if err != nil {
				t.Fatal(err)
			}
			weeks := r.m["weeks"].([]any)
			if r.m["model"] != a.Version || len(weeks) != 13 || r.m["open_invoices"] != float64(want.OpenInvoices) || len(r.m["calibration"].([]any)) != 2 {
				t.Fatalf("%s", r)
			}
			for i, w := range weeks {
				m := w.(map[string]any)
				if m["expected"] != want.Weeks[i].Expected || m["low"] != want.Weeks[i].Low || m["actual"] != *want.Weeks[i].Actual {
					t.Errorf("week %d: %v, want %+v", i+1, m, want.Weeks[i])
				}
			}
			csv := sv.call(t, "GET", rForecast, rForecast+q+"&format=csv", f.keyAdmin, nil)
			if lines := strings.Split(strings.TrimSpace(string(csv.body)), "\n"); csv.code != 200 || len(lines) != 14 || lines[0] != "week_start,week_end,expected,low,high,from_open,from_new,actual" {
				t.Errorf("csv: %d %q", csv.code, csv.body)
			}
			for name, c := range map[string]struct {
				query string
				code  int
				field string
			}{
				"bad date":      {"?from=2025-02-30", 400, "from"},
				"bad weeks":     {"?weeks=53", 400, "weeks"},
				"weeks text":    {"?weeks=many", 400, "weeks"},
				"bad origins":   {"?origins=-1", 400, "origins"},
				"bad format":    {"?format=xlsx", 400, "format"},
				"another kind":  {"?model=" + f.versions[model.Behaviour], 400, "model"},
				"unknown model": {"?model=invoice-nope", 404, "model"},
			} {
				if r := sv.call(t, "GET", rForecast, rForecast+c.query, f.keyAdmin, nil); r.code != c.code || r.m["field"] != c.field {
					t.Errorf("%s: %s", name, r)
				}
			}
		})

		t.Run("models and hot switch", func(t *testing.T) {
			r := sv.call(t, "GET", rModels, "/v1/models", f.keyAdmin, nil)
			if r.code != 200 || r.m["serving"].(map[string]any)["behaviour"] != f.versions[model.Behaviour] || len(r.m["models"].([]any)) != 3 {
				t.Fatalf("%s", r)
			}
			cur := f.versions[model.Behaviour]
			a, err := model.Read(filepath.Join(f.reg.Dir(), cur+".model"))
			if err != nil {
				t.Fatal(err)
			}
			// A new version (a changed bias), a corrupt one and one that
			// needs a feature the server does not have.
			write := func(edit func(a *model.Artifact), corrupt bool) string { return f.writeModel(t, a, edit, corrupt) }
			good := write(func(b *model.Artifact) {
				b.Layers[0].B = slices.Clone(b.Layers[0].B)
				b.Layers[0].B[0] += 0.5
			}, false)
			bad := write(func(b *model.Artifact) { b.CreatedAt = b.CreatedAt.Add(time.Second) }, true)
			alien := write(func(b *model.Artifact) {
				b.CreatedAt = b.CreatedAt.Add(2 * time.Second)
				b.Features[0].Name = "shoe_size"
			}, false)
			for name, v := range map[string]string{"corrupt": bad, "foreign feature": alien} {
				r := sv.call(t, "POST", rActivate, "/v1/models/"+v+"/activate", f.keyAdmin, nil)
				if r.code != 422 {
					t.Fatalf("%s model not refused: %s", name, r)
				}
				if name == "corrupt" {
					if r := sv.call(t, "GET", rReport, "/v1/models/"+v+"/report", f.keyAdmin, nil); r.code != 422 || !strings.Contains(r.m["error"].(string), "checksum") {
						t.Errorf("the report of a corrupt model: %s", r)
					}
					if r := sv.call(t, "GET", rForecast, rForecast+"?model="+v, f.keyAdmin, nil); r.code != 422 || !strings.Contains(r.m["error"].(string), "checksum") {
						t.Errorf("the cash-in forecast of a corrupt model: %s", r)
					}
				}
				if want := map[string]string{"corrupt": "checksum", "foreign feature": "shoe_size"}[name]; !strings.Contains(r.m["error"].(string), want) {
					t.Errorf("%s: error does not say %q: %s", name, want, r)
				}
				if r := sv.call(t, "GET", rCustomer, "/v1/customers/"+cA+"/risk", f.keyA, nil); r.m["model"].(map[string]any)["version"] != cur {
					t.Fatalf("after the %s model, not the current one: %s", name, r)
				}
			}
			// A version whose training profile puts all of one input's
			// rows where the served customers are not: its drift warns.
			prof, ok := model.ProfileOf(a)
			if !ok {
				t.Fatal("the trained model has no training profile")
			}
			shifted := *prof
			shifted.Inputs = slices.Clone(prof.Inputs)
			in := slices.IndexFunc(shifted.Inputs, func(h model.Histogram) bool { return h.Type == model.Numeric && h.Name != "as_of_month" })
			h := &shifted.Inputs[in]
			h.Shares = make([]float64, h.Bins())
			h.Shares[h.Missing()] = 1
			drifted := write(func(b *model.Artifact) {
				b.CreatedAt = b.CreatedAt.Add(3 * time.Second)
				b.Params = maps.Clone(b.Params)
				b.Params[model.ProfileParam] = &shifted
			}, false)
			// Switch while requests run: none fails, each is scored by the
			// old or the new model, and the new one serves afterwards.
			var wg sync.WaitGroup
			stop := make(chan struct{})
			var mu sync.Mutex
			seen := map[string]int{}
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						r := sv.call(t, "GET", rCustomer, "/v1/customers/"+f.customersA[(w*31+i)%len(f.customersA)]+"/risk", f.keyA, nil)
						if r.code != 200 {
							t.Errorf("request during the switch: %s", r)
							return
						}
						mu.Lock()
						seen[r.m["model"].(map[string]any)["version"].(string)]++
						mu.Unlock()
					}
				}()
			}
			time.Sleep(100 * time.Millisecond)
			r = sv.call(t, "POST", rActivate, "/v1/models/"+good+"/activate", f.keyAdmin, nil)
			time.Sleep(100 * time.Millisecond)
			close(stop)
			wg.Wait()
			if r.code != 200 || r.m["previous"] != cur {
				t.Fatalf("activate: %s", r)
			}
			if seen[cur] == 0 || seen[good] == 0 || len(seen) != 2 {
				t.Errorf("versions seen during the switch: %v", seen)
			}
			if r := sv.call(t, "GET", rCustomer, "/v1/customers/"+cA+"/risk", f.keyA, nil); r.m["model"].(map[string]any)["version"] != good {
				t.Fatalf("new model not serving: %s", r)
			}
			if r := sv.call(t, "POST", rActivate, "/v1/models/nope/activate", f.keyAdmin, nil); r.code != 404 {
				t.Errorf("unknown version: %s", r)
			}
			// Drift: every input of the served model has its gauge; the
			// drifted version warns in /readyz, and the warning goes with it.
			if r := sv.call(t, "POST", rActivate, "/v1/models/"+drifted+"/activate", f.keyAdmin, nil); r.code != 200 {
				t.Fatalf("activate the drifted version: %s", r)
			}
			name := h.Name
			warns := func() string {
				r := sv.call(t, "GET", "/readyz", "/readyz", "", nil)
				ws, _ := r.m["warnings"].([]any)
				for _, w := range ws {
					if strings.HasPrefix(w.(string), "tenant "+f.tenantA+":") {
						return w.(string)
					}
				}
				return ""
			}
			waitFor(t, "the drift warning", func() bool {
				w := warns()
				return strings.Contains(w, drifted) && strings.Contains(w, name+" ")
			})
			gauges := driftGauges(t, sv, f.tenantA, drifted)
			if g := gauges[name]; !(g > 5) {
				t.Errorf("duewise_drift_psi of %s with all training rows missing it: %v", name, g)
			}
			want := 0
			for _, ft := range a.Features {
				if ft.Name != "as_of_month" {
					want++
				}
			}
			if len(gauges) != want {
				t.Errorf("%d drift gauges for %d inputs: %v", len(gauges), want, gauges)
			}
			// Roll back for the other subtests.
			if r := sv.call(t, "POST", rActivate, "/v1/models/"+cur+"/activate", f.keyAdmin, nil); r.code != 200 {
				t.Fatalf("roll back: %s", r)
			}
			waitFor(t, "the drift of the rolled-back model", func() bool {
				g := driftGauges(t, sv, f.tenantA, cur)
				return !strings.Contains(warns(), drifted) && len(g) == want && g[name] < gauges[name]
			})
		})

		t.Run("shadow model", func(t *testing.T) {
			cur := f.versions[model.Behaviour]
			a, err := model.Read(filepath.Join(f.reg.Dir(), cur+".model"))
			if err != nil {
				t.Fatal(err)
			}
			challenger := f.writeModel(t, a, func(b *model.Artifact) {
				b.CreatedAt = b.CreatedAt.Add(5 * time.Second)
				last := len(b.Layers) - 1
				b.Layers[last].B = slices.Clone(b.Layers[last].B)
				for j := range b.Layers[last].B {
					b.Layers[last].B[j] -= 0.7 // lower hazards: a lower risk for everyone
				}
			}, false)
			sv2 := f.start(t, opts{Shadow: map[string]string{"behaviour": challenger}})
			ids := f.customersA[:5]
			for _, id := range ids {
				r := sv2.callH(t, "GET", rCustomer, "/v1/customers/"+id+"/risk", f.keyA, nil, http.Header{"X-Request-Id": {"shadow-" + id}})
				if r.code != 200 || r.m["model"].(map[string]any)["version"] != cur || strings.Contains(string(r.body), "shadow") {
					t.Fatalf("an answer with a shadow model: %s", r)
				}
			}
			// The challenger's risk of the same request (1 for a customer
			// already behind, as for the served model) is the risk it
			// answers when it is the served model.
			if r := sv2.call(t, "POST", rActivate, "/v1/models/"+challenger+"/activate", f.keyAdmin, nil); r.code != 200 {
				t.Fatal(r)
			}
			for _, id := range ids {
				sv2.callH(t, "GET", rCustomer, "/v1/customers/"+id+"/risk", f.keyA, nil, http.Header{"X-Request-Id": {"served-" + id}})
			}
			if r := sv2.call(t, "POST", rActivate, "/v1/models/"+cur+"/activate", f.keyAdmin, nil); r.code != 200 {
				t.Fatal(r)
			}
			sv2.srv.trail.Flush(context.Background())
			rr, err := e.Query(context.Background(), `SELECT request_id, model_version, shadow_version, risk_90d, shadow_risk_90d FROM score_audit
WHERE tenant = {t:String} AND (startsWith(request_id, 'shadow-') OR startsWith(request_id, 'served-'))`, warehouse.Params{"t": f.tenantA})
			if err != nil {
				t.Fatal(err)
			}
			type audited struct {
				version, shadow  string
				risk, shadowRisk float64
			}
			got := map[string]audited{}
			var req string
			var x audited
			err = warehouse.Scan(rr, func() error { got[req] = x; return nil }, &req, &x.version, &x.shadow, &x.risk, &x.shadowRisk)
			rr.Release()
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				sh, sd := got["shadow-"+id], got["served-"+id]
				if sh.version != cur || sh.shadow != challenger || sd.version != challenger || math.Abs(sh.shadowRisk-sd.risk) > 1e-12 || (sh.shadowRisk == sh.risk && sh.risk != 1) {
					t.Errorf("%s: audited with the shadow %+v, served by the challenger %+v", id, sh, sd)
				}
			}
			if got["served-"+ids[0]].shadow != "" {
				t.Errorf("the challenger, served, is its own shadow: %+v", got["served-"+ids[0]])
			}
		})

		t.Run("health, readiness, metrics, openapi", func(t *testing.T) {
			if r := sv.call(t, "GET", "/healthz", "/healthz", "", nil); r.code != 200 {
				t.Fatal(r)
			}
			r := sv.call(t, "GET", "/readyz", "/readyz", "", nil)
			if r.code != 200 || r.m["ready"] != true || r.m["warehouse"] != "ok" {
				t.Fatalf("readyz %s", r)
			}
			r = sv.call(t, "GET", "/metrics", "/metrics", "", nil)
			for _, m := range []string{
				`duewise_http_requests_total{method="GET",route="/v1/customers/{id}/risk",status="200"}`,
				`duewise_http_requests_total{method="POST",route="/v1/risk",status="400"}`,
				`duewise_http_request_duration_seconds_bucket{method="GET",route="/v1/customers/{id}/risk",status="200",le="0.005"}`,
				`duewise_scores_total{band="`, `kind="behaviour",version="` + f.versions[model.Behaviour] + `"}`,
				`duewise_active_model{kind="behaviour",tenant="` + f.tenantA + `",version="` + f.versions[model.Behaviour] + `"} 1`,
				"duewise_online_features_age_seconds ", "duewise_events_rejected_total 3", "duewise_warehouse_up 1",
				"duewise_audit_pending ", "duewise_online_features_customers ",
			} {
				if !strings.Contains(string(r.body), m) {
					t.Errorf("metric %s missing", m)
				}
			}
			t.Run("dashboard and alerts", func(t *testing.T) { checkMonitoring(t, r.body) })
			r = sv.call(t, "GET", "/openapi.json", "/openapi.json", "", nil)
			if string(r.body) != string(openAPI) {
				t.Error("/openapi.json differs from the document")
			}
		})

		t.Run("audit", func(t *testing.T) {
			n0 := count(t, e, "SELECT toInt64(count()) FROM score_audit WHERE tenant = {t:String}", warehouse.Params{"t": f.tenantA})
			r := sv.callH(t, "GET", rCustomer, "/v1/customers/"+cA+"/risk", f.keyA, nil, http.Header{"X-Request-Id": {"audit-1"}})
			sv.srv.trail.Flush(context.Background())
			if m := sv.call(t, "GET", "/metrics", "/metrics", "", nil); !strings.Contains(string(m.body), `duewise_audit_records_total{outcome="written"}`) {
				t.Error("no audit records counted as written")
			}
			if n := count(t, e, "SELECT toInt64(count()) FROM score_audit WHERE tenant = {t:String}", warehouse.Params{"t": f.tenantA}); n <= n0 {
				t.Fatalf("audit rows %d -> %d", n0, n)
			}
			rr, err := e.Query(context.Background(), `SELECT key_id, customer_id, model_version, band, reasons, rules_fired, kind, risk_90d FROM score_audit
WHERE tenant = {t:String} AND request_id = 'audit-1'`, warehouse.Params{"t": f.tenantA})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			if !rr.Next() || rr.Record().NumRows() != 1 {
				t.Fatal("no audit row for request audit-1")
			}
			rec := rr.Record()
			k, _ := sv.srv.keys.Authenticate(f.keyA)
			var reasons []map[string]any
			json.Unmarshal([]byte(cellString(rec.Column(4), 0)), &reasons)
			if cellString(rec.Column(0), 0) != k.ID || cellString(rec.Column(1), 0) != cA || cellString(rec.Column(2), 0) != f.versions[model.Behaviour] ||
				cellString(rec.Column(3), 0) != r.m["band"] || len(reasons) != scoring.TopReasons || reasons[0]["code"] != r.m["reasons"].([]any)[0].(map[string]any)["code"] ||
				cellString(rec.Column(6), 0) != "behaviour" || math.Abs(rec.Column(7).(*array.Float64).Value(0)-r.m["probabilities"].(map[string]any)["90d"].(float64)) > 1e-6 {
				t.Errorf("audit row %v for answer %s", rec, r)
			}
		})
	})
}

// count runs a query that returns one Int64.
func count(t *testing.T, e warehouse.Engine, q string, p warehouse.Params) int64 {
	t.Helper()
	rr, err := e.Query(context.Background(), q, p)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	rr.Next()
	return rr.Record().Column(0).(*array.Int64).Value(0)
}

// latestRow returns the signals of one customer in features_latest.
func latestRow(t *testing.T, e warehouse.Engine, tenant, customer string) map[string]any {
	t.Helper()
	rr, err := features.Latest(context.Background(), e, tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.Record()
		ids := rec.Column(int(rec.Schema().FieldIndices("customer_id")[0])).(*array.String)
		for i := range ids.Len() {
			if ids.Value(i) != customer {
				continue
			}
			out := map[string]any{}
			for j, fl := range rec.Schema().Fields() {
				if meta := map[string]bool{"tenant": true, "customer_id": true, "as_of": true, "status": true, "refreshed_at": true}; meta[fl.Name] {
					continue
				}
				col := rec.Column(j)
				switch c := col.(type) {
				case *array.String:
					out[fl.Name] = c.Value(i)
				case *array.Float64:
					if c.IsNull(i) {
						out[fl.Name] = nil
					} else {
						out[fl.Name] = c.Value(i)
					}
				}
			}
			return out
		}
	}
	t.Fatalf("customer %s not in features_latest", customer)
	return nil
}

// sameValue compares a signal from an answer with one from the SQL.
func sameValue(a, b any) bool {
	fa, oka := a.(float64)
	fb, okb := b.(float64)
	if oka && okb {
		return math.Abs(fa-fb) <= 1e-9*math.Max(1, math.Abs(fb))
	}
	return a == b
}

// waitFor polls cond every 20 ms for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("no %s within 10 s", what)
}

// driftGauges reads the duewise_drift_psi gauges of tenant's version from
// /metrics, by input.
func driftGauges(t *testing.T, sv *served, tenant, version string) map[string]float64 {
	t.Helper()
	r := sv.call(t, "GET", "/metrics", "/metrics", "", nil)
	out := map[string]float64{}
	prefix := `duewise_drift_psi{input="`
	for _, line := range strings.Split(string(r.body), "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		in, rest, _ := strings.Cut(rest, `"`)
		labels, value, _ := strings.Cut(rest, "} ")
		if labels != `,tenant="`+tenant+`",version="`+version+`"` {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || math.IsNaN(v) || v < 0 {
			t.Fatalf("drift gauge %q", line)
		}
		out[in] = v
	}
	return out
}

// writeModel writes a copy of a, changed by edit (and corrupted when
// corrupt), into the fixture's registry folder and returns its version.
func (f *fixture) writeModel(t *testing.T, a *model.Artifact, edit func(a *model.Artifact), corrupt bool) string {
	t.Helper()
	b := *a
	b.Layers = slices.Clone(a.Layers)
	b.Features = slices.Clone(a.Features)
	b.Version, b.CreatedAt = "", time.Now().UTC().Add(time.Duration(len(f.customersA))*time.Second)
	edit(&b)
	data, err := model.Marshal(&b)
	if err != nil {
		t.Fatal(err)
	}
	if corrupt {
		data[len(data)/2] ^= 1
	}
	if err := os.WriteFile(filepath.Join(f.reg.Dir(), b.Version+".model"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return b.Version
}
