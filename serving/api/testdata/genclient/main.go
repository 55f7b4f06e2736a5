// Command genclient calls every operation of the duewise API through the
// client that oapi-codegen generates from the served /openapi.json (the
// file client.gen.go beside it, written by TestGeneratedClient), and
// prints one JSON line per operation: its status and whether the answer
// decoded into the client's types.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

type result struct {
	Op      string `json:"op"`
	Status  int    `json:"status"`
	Decoded bool   `json:"decoded"`
	Err     string `json:"err,omitempty"`
}

type response interface{ StatusCode() int }

func main() {
	url := flag.String("url", "", "server URL")
	key := flag.String("key", "", "API key with the scopes score, events and admin")
	customer := flag.String("customer", "", "a customer id")
	version := flag.String("version", "", "a model version to activate")
	bodiesFile := flag.String("bodies", "", "JSON object of request bodies by operation id")
	flag.Parse()
	raw, err := os.ReadFile(*bodiesFile)
	if err != nil {
		panic(err)
	}
	var bodies map[string]json.RawMessage
	if err := json.Unmarshal(raw, &bodies); err != nil {
		panic(err)
	}
	auth := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+*key)
		return nil
	}
	acceptJSON := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Accept", "application/json")
		return nil
	}
	c, err := NewClientWithResponses(*url, WithRequestEditorFn(auth))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	out := json.NewEncoder(os.Stdout)
	emit := func(op string, r response, decoded func() bool, err error) {
		res := result{Op: op}
		if err != nil {
			res.Err = err.Error()
		} else {
			res.Status, res.Decoded = r.StatusCode(), decoded()
		}
		out.Encode(res)
	}
	body := func(op string) io.Reader { return bytes.NewReader(bodies[op]) }
	const ct = "application/json"

	h, err := c.HealthzWithResponse(ctx)
	emit("healthz", h, func() bool { return h.JSON200 != nil }, err)
	rd, err := c.ReadyzWithResponse(ctx)
	emit("readyz", rd, func() bool { return rd.JSON200 != nil && rd.JSON200.Ready }, err)
	m, err := c.MetricsWithResponse(ctx)
	emit("metrics", m, func() bool { return strings.Contains(string(m.Body), "duewise_") }, err)
	o, err := c.OpenapiWithResponse(ctx)
	emit("openapi", o, func() bool { return o.JSON200 != nil && (*o.JSON200)["openapi"] != nil }, err)

	en := CustomerRiskParamsLangEn
	cr, err := c.CustomerRiskWithResponse(ctx, *customer, &CustomerRiskParams{Lang: &en})
	emit("customerRisk", cr, func() bool { return cr.JSON200 != nil && len(cr.JSON200.Reasons) > 0 }, err)
	ir, err := c.InlineRiskWithBodyWithResponse(ctx, &InlineRiskParams{}, ct, body("inlineRisk"))
	emit("inlineRisk", ir, func() bool { return ir.JSON200 != nil }, err)
	br, err := c.BatchRiskWithBodyWithResponse(ctx, &BatchRiskParams{}, ct, body("batchRisk"), acceptJSON)
	emit("batchRisk", br, func() bool { return br.JSON200 != nil && len(*br.JSON200) == 2 }, err)
	or, err := c.OnboardingRiskWithBodyWithResponse(ctx, &OnboardingRiskParams{}, ct, body("onboardingRisk"))
	emit("onboardingRisk", or, func() bool { return or.JSON200 != nil }, err)
	vr, err := c.InvoiceRiskWithBodyWithResponse(ctx, &InvoiceRiskParams{}, ct, body("invoiceRisk"))
	emit("invoiceRisk", vr, func() bool { return vr.JSON200 != nil }, err)
	ev, err := c.EventsWithBodyWithResponse(ctx, ct, body("events"))
	emit("events", ev, func() bool { return ev.JSON200 != nil || ev.JSON207 != nil }, err)
	limit := 10
	ch, err := c.ListChangesWithResponse(ctx, &ListChangesParams{Limit: &limit})
	emit("listChanges", ch, func() bool { return ch.JSON200 != nil && ch.JSON200.Changes != nil }, err)
	lm, err := c.ListModelsWithResponse(ctx)
	emit("listModels", lm, func() bool { return lm.JSON200 != nil }, err)
	asJSON := ModelReportParamsFormat("json")
	mp, err := c.ModelReportWithResponse(ctx, *version, &ModelReportParams{})
	if err == nil {
		mj, jerr := c.ModelReportWithResponse(ctx, *version, &ModelReportParams{Format: &asJSON})
		emit("modelReport", mj, func() bool {
			return mp.StatusCode() == 200 && strings.Contains(string(mp.Body), "<svg") && mj.JSON200 != nil && mj.JSON200.Rows > 0
		}, jerr)
	} else {
		emit("modelReport", mp, func() bool { return false }, err)
	}
	weeks, origins := 4, 1
	cf, err := c.CashForecastWithResponse(ctx, &CashForecastParams{Weeks: &weeks, Origins: &origins})
	emit("cashForecast", cf, func() bool { return cf.JSON200 != nil && len(cf.JSON200.Weeks) == 4 }, err)
	am, err := c.ActivateModelWithResponse(ctx, *version)
	emit("activateModel", am, func() bool { return am.JSON200 != nil }, err)
	fmt.Fprintln(os.Stderr, "genclient: done")
}
