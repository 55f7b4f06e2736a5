package scoring

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/changes"
	"github.com/duewise/duewise/serving/online"
)

// ChangeLog is where the core writes the changes of its answers (package
// changes); Append must have written them when it returns.
type ChangeLog interface {
	Append(ctx context.Context, cs []changes.Change) error
}

// Scores follow the customer: Touch queues the customers whose raw data
// changed (rows posted to POST /v1/events, a file ingested through the
// server), and Run's refresher recomputes their online features, in Go
// from the raw histories in memory (histories.go) or, until those are
// loaded, with the same SQL pipeline as `features refresh` restricted to
// them (features.RefreshCustomers), writes them into features_latest and
// swaps them into the table in memory (online.Table.With). The customers that
// arrive while a batch is being refreshed form the next batch, so the
// batches grow with the load and the delay stays about two batches' time.
// Changes of band, status or actions are written to the change feed
// before the new answers are served.
//
// A full refresh (every RefreshEvery, and instead of a batch of more than
// FullRefreshAbove customers) recomputes every customer; the reload that
// follows it and the refreshes of given customers take turns (rmu), so
// that a table loaded from the warehouse never drops a newer delta.

// pending are the customers waiting for a refresh. Safe for concurrent use.
type pending struct {
	mu   sync.Mutex
	ids  map[string]map[string]time.Time // tenant -> customer -> first touch
	n    int
	full bool          // a full refresh was asked for
	wake chan struct{} // has room for one wake-up
}

func newPending() *pending {
	return &pending{ids: map[string]map[string]time.Time{}, wake: make(chan struct{}, 1)}
}

// Touch queues a refresh of the online features of tenant's customers:
// their raw data changed. It never blocks; Run's refresher picks them up.
func (s *Core) Touch(tenant string, customers []string) {
	if len(customers) == 0 {
		return
	}
	p, now := s.pend, s.cfg.Now()
	p.mu.Lock()
	m := p.ids[tenant]
	if m == nil {
		m = map[string]time.Time{}
		p.ids[tenant] = m
	}
	for _, c := range customers {
		if _, ok := m[c]; !ok {
			m[c] = now
			p.n++
		}
	}
	if p.n > s.cfg.FullRefreshAbove {
		p.full, p.ids, p.n = true, map[string]map[string]time.Time{}, 0
	}
	p.mu.Unlock()
	s.met.pending.Set(float64(p.n))
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// batch is one tenant's customers to refresh and when each was touched.
type batch struct {
	tenant  string
	ids     []string
	touched []time.Time
}

// take removes and returns up to max customers of one tenant, and whether
// a full refresh was asked for.
func (p *pending) take(max int) (batch, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.full {
		p.full = false
		return batch{}, true
	}
	for tn, m := range p.ids {
		b := batch{tenant: tn}
		for id, at := range m {
			if len(b.ids) == max {
				break
			}
			b.ids, b.touched = append(b.ids, id), append(b.touched, at)
			delete(m, id)
		}
		p.n -= len(b.ids)
		if len(m) == 0 {
			delete(p.ids, tn)
		}
		return b, false
	}
	return batch{}, false
}

// put queues a batch again (its refresh failed).
func (p *pending) put(b batch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.ids[b.tenant]
	if m == nil {
		m = map[string]time.Time{}
		p.ids[b.tenant] = m
	}
	for i, id := range b.ids {
		if _, ok := m[id]; !ok {
			m[id] = b.touched[i]
			p.n++
		}
	}
}

// refreshLoop refreshes what Touch queued, batch after batch, until ctx
// ends; a failed batch is tried again after a pause.
func (s *Core) refreshLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.pend.wake:
		}
		for ctx.Err() == nil {
			b, full := s.pend.take(s.cfg.RefreshBatch)
			s.met.pending.Set(float64(s.pending()))
			if full {
				s.FullRefresh(ctx)
				continue
			}
			if len(b.ids) == 0 {
				break
			}
			if err := s.refreshCustomers(ctx, b); err != nil {
				s.log.Warn("online features of touched customers not refreshed; trying again", "tenant", b.tenant, "customers", len(b.ids), "err", err)
				s.met.refreshErrors.Inc()
				s.pend.put(b)
				select {
				case <-ctx.Done():
				case <-time.After(s.cfg.Ping):
				}
				break
			}
		}
	}
}

func (s *Core) pending() int {
	s.pend.mu.Lock()
	defer s.pend.mu.Unlock()
	return s.pend.n
}

// RefreshCustomers recomputes the online features of tenant's customers
// at once (what Touch queues for the background), writes their changes to
// the feed and serves the new rows when it returns.
func (s *Core) RefreshCustomers(ctx context.Context, tenant string, customers []string) error {
	now := s.cfg.Now()
	b := batch{tenant: tenant, ids: customers, touched: make([]time.Time, len(customers))}
	for i := range b.touched {
		b.touched[i] = now
	}
	return s.refreshCustomers(ctx, b)
}

// refreshCustomers recomputes the online features of one batch, writes its
// changes to the feed and swaps the new rows in.
func (s *Core) refreshCustomers(ctx context.Context, b batch) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	start := time.Now()
	cur := s.tmap.Load()
	if cur == nil {
		return nil // the first load will have them
	}
	recs, err := s.computeBatch(ctx, b, s.cfg.Now())
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil // none of them is a customer (yet)
	}
	rr, err := array.NewRecordReader(recs[0].Schema(), recs)
	if err != nil {
		return fmt.Errorf("online features of %d customers: %w", len(b.ids), err)
	}
	delta, err := online.FromRecords(rr)
	rr.Release()
	if err != nil {
		return err
	}
	next, err := cur.t.With(delta)
	if err != nil {
		return err
	}
	nm := s.cat.mapTable(next)
	if err := s.announce(ctx, cur, nm, s.models.all(), s.models.all(), b.tenant, b.ids); err != nil {
		return err
	}
	s.setTable(nm)
	s.met.refreshSeconds.Observe(time.Since(start).Seconds())
	s.met.refreshed.Add(float64(delta.Len()))
	done := s.cfg.Now()
	for _, at := range b.touched {
		s.met.eventToScore.Observe(done.Sub(at).Seconds())
	}
	return nil
}

// setTable makes m's table the one requests read.
func (s *Core) setTable(m *tableMap) {
	s.tmap.Store(m)
	s.online.Set(m.t)
}

// FullRefresh recomputes the online features of every customer as of now
// (features.Refresh, live) and loads them, without blocking requests; the
// refreshes of touched customers wait for the load (not for the
// computation). A failure is logged and counted; the table in memory keeps
// serving.
func (s *Core) FullRefresh(ctx context.Context) {
	start := time.Now()
	st, err := features.Refresh(ctx, s.cfg.Engine, features.RefreshOptions{Live: true, Now: s.cfg.Now(), Threshold: s.cfg.Threshold})
	if err != nil {
		s.met.refreshErrors.Inc()
		s.log.Error("full refresh of the online features failed", "err", err)
		return
	}
	s.log.Info("online features refreshed", "customers", st.Customers, "behind", st.Behind, "seconds", time.Since(start).Seconds())
	s.met.fullRefreshSeconds.Observe(time.Since(start).Seconds())
	s.Reload(ctx)
	s.loadHistoriesInBackground(ctx) // compacts the rows applied since
}

// fullRefreshLoop runs FullRefresh every RefreshEvery, the first time when
// the newest full refresh in the warehouse is older than that.
func (s *Core) fullRefreshLoop(ctx context.Context) {
	wait := time.Duration(0)
	if last, err := online.LastRefresh(ctx, s.cfg.Engine); err == nil {
		wait = max(0, s.cfg.RefreshEvery-s.cfg.Now().Sub(last))
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		s.pend.mu.Lock()
		s.pend.full = true
		s.pend.mu.Unlock()
		select {
		case s.pend.wake <- struct{}{}:
		default:
		}
		wait = s.cfg.RefreshEvery
	}
}

// answerState returns the change-feed state of customer id in m scored by
// l, and whether it has one (the customer is in m and l is set).
func (s *Core) answerState(m *tableMap, l *loaded, tenant, id string, v *Values) (changes.State, bool) {
	if m == nil || l == nil {
		return changes.State{}, false
	}
	r, ok := m.t.Lookup(tenant, id)
	if !ok {
		return changes.State{}, false
	}
	*v = s.cat.Reset(*v)
	m.fromRow(r, v)
	a, _ := s.decide(l, v, id, r.AsOf, r.Status, "en")
	acts := make([]string, len(a.Actions))
	for i, x := range a.Actions {
		acts[i] = x.Type + "/" + x.Channel
	}
	return changes.State{Band: a.Band, Status: a.Status, Actions: acts}, true
}

// announce writes to the change feed the customers of tenant whose answer
// with the behaviour models and features after differs from that with
// those before: ids, or every customer of after when ids is nil.
func (s *Core) announce(ctx context.Context, before, after *tableMap, mb, ma modelSet, tenant string, ids []string) error {
	if s.cfg.Changes == nil {
		return nil
	}
	lb, la := mb[tenant][string(model.Behaviour)], ma[tenant][string(model.Behaviour)]
	if la == nil {
		return nil
	}
	if ids == nil {
		ids = make([]string, 0, after.t.Customers(tenant))
		after.t.Each(tenant, func(_, id string, _ online.Row) bool { ids = append(ids, id); return true })
	}
	var (
		out  []changes.Change
		v, w Values
	)
	flush := func() error {
		err := s.cfg.Changes.Append(ctx, out)
		s.met.changes.Add(float64(len(out)))
		out = out[:0]
		return err
	}
	for _, id := range ids {
		st, ok := s.answerState(after, la, tenant, id, &w)
		if !ok {
			continue
		}
		was, _ := s.answerState(before, lb, tenant, id, &v)
		if c := changes.New(tenant, id, string(model.Behaviour), la.entry.Version, was, st); len(c.Fields) > 0 {
			out = append(out, c)
		}
		if len(out) == 10_000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// announceAll writes the changes between two states of every tenant with
// a behaviour model, in the background: after a full reload or a model
// switch, which change the answers of many customers at once and are
// served at once (a crash before the feed is written loses these notices;
// the refreshes of touched customers write theirs first).
func (s *Core) announceAll(before, after *tableMap, mb, ma modelSet, tenants []string) {
	if s.cfg.Changes == nil || before == nil || after == nil {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.annMu.Lock() // one at a time, in order
		defer s.annMu.Unlock()
		for _, tn := range slices.Sorted(slices.Values(tenants)) {
			if err := s.announce(s.bgCtx, before, after, mb, ma, tn, nil); err != nil {
				s.log.Warn("changes not written to the feed", "tenant", tn, "err", err)
				s.met.refreshErrors.Inc()
			}
		}
	}()
}
