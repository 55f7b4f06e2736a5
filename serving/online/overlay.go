package online

import (
	"hash/maphash"
	"slices"
)

// overShards is the number of shards of an overlay: a power of two. At
// 1,000,000 loaded customers the overlay folds at 125,000 (compactShare),
// about 30 per shard; a batch of 100 refreshed customers then copies
// about 100 shards of 30 rows instead of 125,000 rows.
const overShards = 4096

// overlay holds the customers refreshed since a table was loaded, split
// by a hash of (tenant, customer) into overShards shards, each a small
// immutable Table. With copies only the shards a delta falls into (their
// rows and the delta's) and the slice of shard pointers, so that the cost
// of a refresh follows its delta, not the number of customers refreshed
// since the load: merging the whole overlay per batch took 7.2 s of CPU in
// the 60 s of BenchmarkEventsToScores (docs/benchmarks.md, "Events to
// scores"). Immutable: safe for concurrent use.
type overlay struct {
	seed   maphash.Seed
	shards []*Table // overShards of them; nil = no customer
	n      int      // customers
	copied int      // rows copied into shards by the with that made it
}

// shard returns the shard of tenant's customer.
func (o *overlay) shard(tenant, customer string) int {
	h := maphash.String(o.seed, customer) ^ maphash.String(o.seed, tenant)*0x9E3779B97F4A7C15
	return int(h >> 52 & (overShards - 1))
}

// lookup returns tenant's customer when the overlay holds it.
func (o *overlay) lookup(tenant, customer string) (Row, bool) {
	s := o.shards[o.shard(tenant, customer)]
	if s == nil {
		return Row{}, false
	}
	return s.Lookup(tenant, customer)
}

// with returns o (nil = empty) with delta's customers in place of its
// own, and per tenant how many of delta's customers neither o nor base
// held. o is unchanged.
func (o *overlay) with(delta, base *Table) (*overlay, map[string]int, error) {
	no := &overlay{}
	if o == nil {
		no.seed, no.shards = maphash.MakeSeed(), make([]*Table, overShards)
	} else {
		no.seed, no.shards, no.n = o.seed, slices.Clone(o.shards), o.n
	}
	// delta's rows by shard, in delta's order.
	parts := map[int][]rowRef{}
	for i := range delta.tenant {
		r := rowRef{delta, i}
		k := no.shard(r.tenant(), delta.id(i))
		parts[k] = append(parts[k], r)
	}
	added := map[string]int{}
	for k, rows := range parts {
		old := no.shards[k]
		slices.SortStableFunc(rows, cmpRefs)
		rows = slices.CompactFunc(rows, func(a, b rowRef) bool { return cmpRefs(a, b) == 0 })
		for _, r := range rows {
			tn, id := r.tenant(), r.t.id(r.i)
			if old != nil {
				if _, ok := old.Lookup(tn, id); ok {
					continue
				}
			}
			no.n++
			if _, ok := base.Lookup(tn, id); !ok {
				added[tn]++
			}
		}
		var s *Table
		var err error
		if old == nil {
			s, err = tableOf(delta.NumNames, delta.CatNames, len(rows), func(fn func(tenant, customer string, r Row) bool) {
				for _, r := range rows {
					if !fn(r.tenant(), r.t.id(r.i), r.t.row(r.i)) {
						return
					}
				}
			})
		} else {
			s, err = merged(old, rows)
		}
		if err != nil {
			return nil, nil, err
		}
		no.shards[k] = s
		no.copied += len(s.tenant)
	}
	return no, added, nil
}

// sorted returns the overlay's rows of tenant ("" = all), ordered by
// tenant and customer.
func (o *overlay) sorted(tenant string) []rowRef {
	var out []rowRef
	for _, s := range o.shards {
		if s == nil {
			continue
		}
		for i := range s.tenant {
			if r := (rowRef{s, i}); tenant == "" || r.tenant() == tenant {
				out = append(out, r)
			}
		}
	}
	slices.SortFunc(out, cmpRefs)
	return out
}
