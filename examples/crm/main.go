// Command crm is a small CRM integration with duewise: it posts what
// happened to customers (rows of the data contract, e.g. a direct debit
// that failed) to POST /v1/events and follows GET /v1/changes, the
// customers whose risk band, status or recommended actions changed, so
// that the CRM's copy of the advice stays current without scoring every
// customer again. The cursor is kept in a file after every page: stopped
// or crashed, it resumes where it was.
//
//	go run ./examples/crm -url http://127.0.0.1:8080 -key $KEY -post events.json -once
//	go run ./examples/crm -url http://127.0.0.1:8080 -key $KEY          # follow, every 5 s
//
// The key needs the scopes events (to post) and score (to follow). See
// docs/api.md, "Following changes".
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"
)

// config is what the command line sets.
type config struct {
	url, key, post, cursorFile string
	every                      time.Duration
	once                       bool
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "http://127.0.0.1:8080", "duewise API address")
	flag.StringVar(&c.key, "key", os.Getenv("DUEWISE_KEY"), "API key with scopes events and score (env DUEWISE_KEY)")
	flag.StringVar(&c.post, "post", "", "a JSON file of events to post first: {\"direct_debits\": [...], ...}")
	flag.StringVar(&c.cursorFile, "cursor", "crm-cursor.txt", "file that keeps the change feed's cursor")
	flag.DurationVar(&c.every, "every", 5*time.Second, "how often to ask for changes")
	flag.BoolVar(&c.once, "once", false, "read the changes ready now and stop")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "crm:", err)
		os.Exit(1)
	}
}

// change is the part of a change-feed entry this CRM uses.
type change struct {
	CustomerID string                `json:"customer_id"`
	Changed    []string              `json:"changed"`
	Before     struct{ Band string } `json:"before"`
	After      struct{ Band string } `json:"after"`
	Answer     *struct {
		Probabilities map[string]float64 `json:"probabilities"`
		Actions       []struct {
			Type, Channel string
		} `json:"actions"`
	} `json:"answer"`
}

// run posts the events file (when given), then reads the change feed from
// the saved cursor, printing one line per change and saving the cursor
// after each page, until ctx ends (or once, until no change is ready).
func run(ctx context.Context, c config, out io.Writer) error {
	if c.post != "" {
		body, err := os.ReadFile(c.post)
		if err != nil {
			return err
		}
		var res struct{ Accepted, Rejected int }
		if err := call(ctx, c, http.MethodPost, "/v1/events", body, &res); err != nil {
			return fmt.Errorf("post %s: %w", c.post, err)
		}
		fmt.Fprintf(out, "posted %s: %d rows accepted, %d rejected\n", c.post, res.Accepted, res.Rejected)
	}
	cursor, err := os.ReadFile(c.cursorFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for {
		var page struct {
			Changes []change `json:"changes"`
			Next    string   `json:"next"`
			More    bool     `json:"more"`
		}
		q := url.Values{"since": {strings.TrimSpace(string(cursor))}, "limit": {"500"}}
		if err := call(ctx, c, http.MethodGet, "/v1/changes?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		for _, ch := range page.Changes {
			line := fmt.Sprintf("%s: %s changed, band %s -> %s", ch.CustomerID, strings.Join(ch.Changed, ", "), or(ch.Before.Band, "-"), ch.After.Band)
			if a := ch.Answer; a != nil && len(a.Actions) > 0 {
				line += fmt.Sprintf(", do now: %s (%s), 90-day risk %.3f", a.Actions[0].Type, a.Actions[0].Channel, a.Probabilities["90d"])
			}
			fmt.Fprintln(out, line)
		}
		if page.Next != strings.TrimSpace(string(cursor)) {
			cursor = []byte(page.Next)
			if err := os.WriteFile(c.cursorFile, cursor, 0o644); err != nil {
				return err
			}
		}
		if page.More {
			continue
		}
		if c.once {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.every):
		}
	}
}

// call sends one request and decodes its JSON answer into v (a 207 of
// POST /v1/events counts as an answer).
func call(ctx context.Context, c config, method, path string, body []byte, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.url, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusMultiStatus {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, v)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
