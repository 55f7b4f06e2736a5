package synth

import (
	"slices"

	rf "github.com/duewise/duewise/datasets/rowfile"
)

// A fork continues one customer's world from a moment T with draws of its
// own: a replicate of what may still happen, given what has happened. It
// is how TrueRisk computes the world's true risk at T without seeing the
// world's own future.
//
// What the fork keeps (known at T): the customer's traits, the hidden
// state of every month up to the one that holds T, a life event that has
// started by then or has shown a trace before T (a move announced ahead),
// every draw made before T about anything but the open invoices, and the
// rows written before T. What it draws anew (the future):
//
//   - every draw made at or after T (futureKey): invoices issued from T on
//     (amount and course), the months' noise and leaving, the standard
//     policy's channel draws;
//   - the hidden states of the later months (stateKey): the world's
//     monthly transitions from the state of T's month, and a life event
//     that has not shown yet anywhere in the months left, or the rest of
//     one under way (its remaining months, uniform as they were drawn);
//   - the course of every invoice issued before T and still open at T
//     (courseKey): whether it goes 30+ days unpaid and how it is paid
//     otherwise were drawn at issue and are the world's realised future.
//     The fork draws them again and the caller keeps a replicate only if
//     it writes the same rows before T as the world did (rejection: the
//     draws are then distributed as given what was seen: a failed debit, a
//     reminder, no payment yet on day 27).
//
// To keep the estimates' noise small, the fork forces courses instead of
// drawing them (force): each open invoice's course (on time, late once
// nudged, late when the money comes, 30+ days unpaid) in strata that the
// caller assigns, with the importance weight prior/proposal; and every
// invoice issued from T on whose 30-days-unpaid day falls within the
// horizon is forced not to go behind, its hazard recorded so that the
// caller multiplies the survival by 1 - hazard (a likelihood ratio: the
// expectation is the same, its noise much smaller).
type fork struct {
	at    rf.Time // T
	from  rf.Time // the snapshot the replicate started from (<= T)
	month int     // the month that holds T: its hidden state is known
	salt  uint64  // this replicate's draws
	// life: the life event's schedule is drawn anew (it has neither
	// started by T's month nor shown before T).
	life bool
	// contradicted: a redrawn life event would have shown before the
	// replicate started, which the world's rows deny.
	contradicted bool
	// open are the months of the invoices open at T; fates the course
	// forced on each; weight the product of prior/proposal of the forced
	// courses.
	open   []int
	fates  []fate
	weight float64
	// until is the last behind day (inclusive) of the horizon; marks the
	// behind day and hazard of every invoice issued at or after T that was
	// forced not to go behind.
	until rf.Date
	marks []mark
}

// mark is an invoice's behind day (due date + behindDays) and hazard.
type mark struct {
	day    rf.Date
	hazard float64
}

// behindDays is the world's "behind": unpaid behindDays days after the due
// date (the fate a hazard is the probability of).
const behindDays = 30

// fateNotBehind is what force returns for an invoice forced not to go
// behind: its course is then drawn among the others.
const fateNotBehind = fateBehind + 1

// Salts of the fork's own draws.
const (
	saltCourse = 0xC0FFEE
	saltLife   = 0x11FE
)

// futureKey returns k for a draw made at t: itself, or keyed anew for a
// fork's replicate when t is at or after the fork's moment.
func (s *sim) futureKey(k key, t rf.Time) key {
	if f := s.fork; f != nil && t >= f.at {
		return k.at(f.salt)
	}
	return k
}

// stateKey returns the key of month m's state transition: a fork draws
// the months after T's anew.
func (s *sim) stateKey(m int) key {
	k := s.k.at(purposeState).at(uint64(m))
	if f := s.fork; f != nil && m > f.month {
		return k.at(f.salt)
	}
	return k
}

// lifeKey returns the key of the life event's traces.
func (s *sim) lifeKey() key {
	k := s.k.at(purposeLife)
	if f := s.fork; f != nil && f.life {
		return k.at(f.salt)
	}
	return k
}

// courseKey returns the key of the course of month m's invoice, whose
// draws at issue are k: a fork draws the course of an invoice open at T
// anew (its amount and what the course only shows keep k).
func (s *sim) courseKey(k key, m int) key {
	if f := s.fork; f != nil && slices.Contains(f.open, m) {
		return k.at(f.salt ^ saltCourse)
	}
	return k
}

// force returns the fate a fork imposes on invoice v (hazard h), if any:
// the stratum's course for an invoice open at T (weighing the replicate by
// its prior over the proposal, uniform over the four courses), or
// fateNotBehind for an invoice issued from T on that would go behind
// within the horizon (its hazard recorded).
func (f *fork) force(s *sim, v *invoice, h float64) (fate, bool) {
	if f == nil {
		return 0, false
	}
	if j := slices.Index(f.open, v.m); j >= 0 {
		c := f.fates[j]
		f.weight *= s.coursePrior(v, h, c) * float64(numCourses)
		return c, true
	}
	if v.issued.At(0, 0, 0) >= f.at && v.due+behindDays <= f.until {
		f.marks = append(f.marks, mark{day: v.due + behindDays, hazard: h})
		return fateNotBehind, true
	}
	return 0, false
}

// numCourses is the number of fates an invoice's course starts from.
const numCourses = int(fateBehind) + 1

// coursePrior is the probability that invoice v (hazard h) takes course
// c, as fateOf draws it.
func (s *sim) coursePrior(v *invoice, h float64, c fate) float64 {
	on, nudge := s.onTimeP(v), s.nudgeP(v)
	switch c {
	case fateBehind:
		return h
	case fateOnTime:
		return (1 - h) * on
	case fateNudge:
		return (1 - h) * (1 - on) * nudge
	}
	return (1 - h) * (1 - on) * (1 - nudge)
}

// repath draws the hidden states of the months after the fork's month
// anew, with the life event's schedule as the fork knows it, and replaces
// the traces the world had scheduled for them.
func (s *sim) repath() {
	f := s.fork
	n := 0
	for _, e := range s.q {
		if e.kind == evRow && int(e.inv)-1 > f.month {
			continue // a trace of a later month: drawn anew below
		}
		s.q[n] = e
		n++
	}
	s.q = s.q[:n]
	s.q.heapify()
	if s.life >= 0 {
		s.relife()
	}
	s.pathFrom(f.month+1, s.states[f.month])
}

// relife draws what is not known at T of the customer's life event: all
// of it when it has neither started by T's month nor shown before T (its
// kind, and one month among those left, as the profile draws them), the
// length and recovery of one announced ahead, the rest of one under way.
func (s *sim) relife() {
	f := s.fork
	k := s.k.at(purposeLife).at(f.salt ^ saltLife)
	m := f.month
	if s.lifeAt > m && s.lifeShown >= f.at {
		// Nothing of it exists at T but the archetype: its kind and month
		// are drawn as the profile draws them, given that it has not
		// started by T's month.
		w := make([]float64, len(lifeKinds))
		for i, lk := range lifeKinds {
			w[i] = lk.share
		}
		f.life = true
		s.life = k.pick(3, w)
		s.lifeAt = k.n(0, m+1, s.cal.months-1) // m+1 > months-1: after the world's end
	}
	lk := lifeKinds[s.life]
	switch {
	case s.lifeAt > m:
		// Not started (announced ahead, or drawn anew above): its length
		// and recovery are the future.
		s.lifeDur = k.n(1, lk.minDur, lk.maxDur)
		s.lifeRec = k.n(2, 1, 4)
	case s.lifeAt <= m && m < s.lifeAt+s.lifeDur:
		s.lifeDur = k.n(1, max(lk.minDur, m-s.lifeAt+1), lk.maxDur)
		s.lifeRec = k.n(2, 1, 4)
	case s.lifeAt <= m && m < s.lifeAt+s.lifeDur+s.lifeRec:
		s.lifeRec = k.n(2, max(1, m-s.lifeAt-s.lifeDur+1), 4)
	}
}

// heapify restores the heap order of q.
func (q queue) heapify() {
	for i := len(q)/2 - 1; i >= 0; i-- {
		for j := i; ; {
			l, r, m := 2*j+1, 2*j+2, j
			if l < len(q) && q.less(l, m) {
				m = l
			}
			if r < len(q) && q.less(r, m) {
				m = r
			}
			if m == j {
				break
			}
			q[j], q[m] = q[m], q[j]
			j = m
		}
	}
}

// snapshot is a sim's state at a moment, from which a fork's replicates
// start: the sim itself and copies of everything it changes in place.
type snapshot struct {
	at     rf.Time // every event before it has happened, none at or after it
	sim    sim
	invs   []invoice
	acts   []pending
	q      queue
	states []state
	claims []Claim
	rows   [numTables]int   // the lengths of the batch's tables
	arr    []rf.Arrangement // the customer's arrangements and disputes as they were
	disp   []rf.Dispute     // (rows that change after they are written)
}

// numTables is the number of tables of a Batch a sim writes (Labels
// excepted).
const numTables = 9

// lens returns the lengths of b's tables.
func lens(b *rf.Batch) [numTables]int {
	return [numTables]int{len(b.Customers), len(b.Invoices), len(b.Payments), len(b.DirectDebits), len(b.Reminders),
		len(b.Arrangements), len(b.Disputes), len(b.CustomerEvents), len(b.Truth)}
}

// save records s's state at now (every event before now handled) into
// dst, reusing its buffers. s writes into a batch of its own customer.
func (s *sim) save(dst *snapshot, now rf.Time) {
	dst.at = now
	dst.sim = *s
	dst.invs = append(dst.invs[:0], s.invs...)
	dst.acts = append(dst.acts[:0], s.acts...)
	dst.q = append(dst.q[:0], s.q...)
	dst.states = append(dst.states[:0], s.states...)
	dst.claims = append(dst.claims[:0], s.led.Claims...)
	dst.rows = lens(s.b)
	dst.arr = append(dst.arr[:0], s.b.Arrangements...)
	dst.disp = append(dst.disp[:0], s.b.Disputes...)
}

// restore sets r (a sim of its own, with a batch of its own) to the state
// of src, taken from a sim that wrote into world, and r counts nothing in
// its ledger. r's batch must hold world's rows as they were then (see
// prepare) and may hold more: they are cut off.
func (r *sim) restore(src *snapshot) {
	b, invs, acts, q, states, claims, buf := r.b, r.invs, r.acts, r.q, r.states, r.led.Claims, r.buf
	*r = src.sim
	n := src.rows
	b.Customers, b.Invoices, b.Payments, b.DirectDebits = b.Customers[:n[0]], b.Invoices[:n[1]], b.Payments[:n[2]], b.DirectDebits[:n[3]]
	b.Reminders, b.CustomerEvents, b.Truth = b.Reminders[:n[4]], b.CustomerEvents[:n[7]], b.Truth[:n[8]]
	b.Arrangements = append(b.Arrangements[:0], src.arr...)
	b.Disputes = append(b.Disputes[:0], src.disp...)
	r.b, r.cust = b, &b.Customers[len(b.Customers)-1]
	r.invs = append(invs[:0], src.invs...)
	r.acts = append(acts[:0], src.acts...)
	r.q = append(q[:0], src.q...)
	r.states = append(states[:0], src.states...)
	r.led.Claims = append(claims[:0], src.claims...)
	r.led.Contacts = nil
	r.led.from, r.led.end = 0, 0 // counts nothing
	r.buf = buf[:0]
}

// prepare gives b world's rows of the tables that are only ever appended
// to, as far as src had them, for restore.
func prepare(b, world *rf.Batch, src *snapshot) {
	n := src.rows
	b.Customers = append(b.Customers[:0], world.Customers[:n[0]]...)
	b.Invoices = append(b.Invoices[:0], world.Invoices[:n[1]]...)
	b.Payments = append(b.Payments[:0], world.Payments[:n[2]]...)
	b.DirectDebits = append(b.DirectDebits[:0], world.DirectDebits[:n[3]]...)
	b.Reminders = append(b.Reminders[:0], world.Reminders[:n[4]]...)
	b.CustomerEvents = append(b.CustomerEvents[:0], world.CustomerEvents[:n[7]]...)
	b.Truth = append(b.Truth[:0], world.Truth[:n[8]]...)
}

// sameRowsSince reports whether b and world hold the same rows, those
// before the lengths n being the same by construction.
func sameRowsSince(b, world *rf.Batch, n [numTables]int) bool {
	return slices.Equal(b.Invoices[n[1]:], world.Invoices[n[1]:]) &&
		slices.Equal(b.Payments[n[2]:], world.Payments[n[2]:]) &&
		slices.Equal(b.DirectDebits[n[3]:], world.DirectDebits[n[3]:]) &&
		slices.Equal(b.Reminders[n[4]:], world.Reminders[n[4]:]) &&
		slices.Equal(b.Arrangements, world.Arrangements) &&
		slices.Equal(b.Disputes, world.Disputes) &&
		slices.Equal(b.CustomerEvents[n[7]:], world.CustomerEvents[n[7]:])
}
