package synth

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	rf "github.com/duewise/duewise/datasets/rowfile"
)

// busy is an honest test policy that uses every action the world knows,
// on top of the standard steps, deciding only on its Decision.
type busy struct{}

func (busy) Name() string               { return "busy" }
func (busy) Start(*rf.Customer) Decider { return busy{} }
func (busy) Decide(d *Decision, out []Action) []Action {
	out = standard{}.Decide(d, out)
	switch d.Kind {
	case Issued:
		late := 0
		for _, p := range d.History.Payments {
			for _, inv := range d.History.Invoices {
				if inv.ID == p.InvoiceID && p.PaidAt.Date() > inv.DueAt {
					late++
				}
			}
		}
		if late > 0 {
			out = append(out, Action{Kind: PreDueReminder, At: (d.Invoice.DueAt - 5).At(9, 0, 0)})
		}
		if d.U < 0.05 {
			out = append(out, Action{Kind: ProactiveCall})
		}
	case DebitFailed:
		out = append(out, Action{Kind: DebitFollowUp})
		if d.U < 0.5 {
			out = append(out, Action{Kind: RetryDebit, At: d.At + 3*day})
		}
		if d.Reason == "AC04" {
			out = append(out, Action{Kind: NewMandate})
		}
	case Overdue:
		switch d.DaysOverdue {
		case 1:
			out = append(out, Action{Kind: PersonalReminder})
		case 14:
			if d.U < 0.5 {
				out = append(out, Action{Kind: OfferPlan})
			}
		case 28:
			out = append(out, Action{Kind: ServiceStop}, Action{Kind: Contact, Detail: "note"})
		}
	case InstallmentDue:
		out = append(out, Action{Kind: Reminder})
	}
	return out
}

// peek is a dishonest test policy: it offers a plan to customers whose
// invoice will go 30+ days unpaid (the future) or calls customers whose
// hidden state is not healthy.
type peek struct{ future bool }

func (p peek) Name() string {
	return ternary(p.future, "peek_at_the_future", "peek_at_the_hidden_state")
}
func (p peek) Start(*rf.Customer) Decider { return p }
func (p peek) Decide(d *Decision, out []Action) []Action {
	out = standard{}.Decide(d, out)
	if d.Kind != Issued {
		return out
	}
	if !p.future {
		if d.w.st != healthy {
			out = append(out, Action{Kind: ProactiveCall})
		}
		return out
	}
	for i := range d.w.invs {
		if v := &d.w.invs[i]; v.id == d.Invoice.ID && v.fate == fateBehind {
			out = append(out, Action{Kind: OfferPlan})
		}
	}
	return out
}

func TestPointInTime(t *testing.T) {
	cfg := testConfig(t, 400, 24)
	cfg.PolicyFrom = cfg.Start.AddDate(0, 6, 0)
	for _, tc := range []struct {
		policy Policy
		honest bool
	}{{Standard, true}, {None, true}, {busy{}, true}, {peek{future: true}, false}, {peek{}, false}} {
		t.Run(tc.policy.Name(), func(t *testing.T) {
			c := cfg
			c.Policy = tc.policy
			err := CheckPointInTime(context.Background(), c, 0)
			switch {
			case tc.honest && err != nil:
				t.Fatal(err)
			case !tc.honest && err == nil:
				t.Fatal("a policy that peeks passed the check")
			case !tc.honest && !strings.Contains(err.Error(), "could not know"):
				t.Fatalf("error %v, want one about what it could not know", err)
			}
			if err != nil {
				t.Log(err)
			}
		})
	}
}

// simulate returns the rows (per customer, as final histories) and the
// ledgers of cfg's world.
func simulate(t *testing.T, cfg Config) ([]History, []Ledger) {
	t.Helper()
	var hs []History
	var ls []Ledger
	err := Simulate(context.Background(), cfg, func(c *Chunk) error {
		b := c.Rows
		by := map[string]*History{}
		for i := range b.Customers {
			cu := b.Customers[i]
			hs = append(hs, History{Customer: &cu})
			by[cu.ID] = &hs[len(hs)-1]
		}
		for _, r := range b.Invoices {
			by[r.CustomerID].Invoices = append(by[r.CustomerID].Invoices, r)
		}
		for _, r := range b.Payments {
			by[r.CustomerID].Payments = append(by[r.CustomerID].Payments, r)
		}
		for _, r := range b.DirectDebits {
			by[r.CustomerID].DirectDebits = append(by[r.CustomerID].DirectDebits, r)
		}
		for _, r := range b.Reminders {
			by[r.CustomerID].Reminders = append(by[r.CustomerID].Reminders, r)
		}
		for _, r := range b.Arrangements {
			by[r.CustomerID].Arrangements = append(by[r.CustomerID].Arrangements, r)
		}
		for _, r := range b.Disputes {
			by[r.CustomerID].Disputes = append(by[r.CustomerID].Disputes, r)
		}
		for _, r := range b.CustomerEvents {
			by[r.CustomerID].Events = append(by[r.CustomerID].Events, r)
		}
		ls = append(ls, c.Ledgers...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hs, ls
}

// contactOnly is Standard plus a contact at every issued invoice: an
// action that changes nothing but the contacts.
type contactOnly struct{}

func (contactOnly) Name() string               { return "contact_only" }
func (contactOnly) Start(*rf.Customer) Decider { return contactOnly{} }
func (contactOnly) Decide(d *Decision, out []Action) []Action {
	out = standard{}.Decide(d, out)
	if d.Kind == Issued {
		out = append(out, Action{Kind: Contact, Detail: "newsletter"})
	}
	return out
}

// TestCommonRandomNumbers: every policy meets the same customers, hidden
// states, life events and draws. Before the policy takes over the worlds
// are the same; an action without effect shifts no draw; and a policy's
// actions change neither the customers nor their hidden states.
func TestCommonRandomNumbers(t *testing.T) {
	cfg := testConfig(t, 1500, 18)
	cfg.PolicyFrom = cfg.Start.AddDate(0, 9, 0)
	from := rf.DateOf(cfg.PolicyFrom).At(0, 0, 0)
	worlds := map[string][]History{}
	ledgers := map[string][]Ledger{}
	for _, p := range []Policy{Standard, None, busy{}, contactOnly{}} {
		c := cfg
		c.Policy = p
		worlds[p.Name()], ledgers[p.Name()] = simulate(t, c)
	}
	std := worlds["standard"]
	t.Run("same past, customers and hidden life", func(t *testing.T) {
		for _, name := range []string{"none", "busy"} {
			w := worlds[name]
			if len(w) != len(std) {
				t.Fatalf("%s: %d customers, standard %d", name, len(w), len(std))
			}
			for i := range std {
				if *w[i].Customer != *std[i].Customer {
					t.Fatalf("%s: customer %d differs", name, i)
				}
				if a, b := normal(w[i].At(from-1)), normal(std[i].At(from-1)); !reflect.DeepEqual(a, b) {
					t.Fatalf("%s: customer %s differs before the policy took over", name, std[i].Customer.ID)
				}
				moves := func(h History) []rf.Time {
					var out []rf.Time
					for _, e := range h.Events {
						if e.Kind == "address_change" && e.OccurredAt < from {
							out = append(out, e.OccurredAt)
						}
					}
					return out
				}
				if !slices.Equal(moves(w[i]), moves(std[i])) {
					t.Fatalf("%s: customer %s moved at other times", name, std[i].Customer.ID)
				}
			}
		}
	})
	t.Run("an action without effect shifts nothing", func(t *testing.T) {
		w := worlds["contact_only"]
		strip := func(h History) History {
			h.Events = slices.DeleteFunc(slices.Clone(h.Events), func(e rf.CustomerEvent) bool { return strings.HasPrefix(e.Detail, "creditor: ") })
			for i := range h.Events {
				h.Events[i].ID = ""
			}
			return normal(h)
		}
		contacts := 0
		for i := range std {
			if !reflect.DeepEqual(strip(w[i]), strip(std[i])) {
				t.Fatalf("customer %s: rows differ beyond the contacts", std[i].Customer.ID)
			}
			a, b := ledgers["contact_only"][i], ledgers["standard"][i]
			for _, n := range a.Contacts {
				contacts += n
			}
			for _, n := range b.Contacts {
				contacts -= n
			}
			a.Contacts, b.Contacts = nil, nil
			a.Actions[Contact], b.Actions[Contact] = 0, 0
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("customer %s: ledgers differ beyond the contacts:\n%+v\n%+v", std[i].Customer.ID, a, b)
			}
		}
		if contacts <= 0 {
			t.Fatalf("the contacts policy made %d more contacts", contacts)
		}
	})
	t.Run("policies differ after the switch", func(t *testing.T) {
		sum := func(name string) (collected rf.Cents, contacts int) {
			for _, l := range ledgers[name] {
				collected += l.Collected
				for _, n := range l.Contacts {
					contacts += n
				}
			}
			return
		}
		cs, ks := sum("standard")
		cn, kn := sum("none")
		if kn != 0 || ks == 0 {
			t.Errorf("contacts: none %d, standard %d", kn, ks)
		}
		if cn >= cs {
			t.Errorf("none collected %d, standard %d: want less", cn, cs)
		}
	})
}

func TestDeterministicWithPolicy(t *testing.T) {
	cfg := testConfig(t, 1200, 12)
	cfg.Policy, cfg.PolicyFrom = busy{}, cfg.Start.AddDate(0, 4, 0)
	generate(t, cfg)
	want := readAll(t, cfg.Out)
	c := cfg
	c.Out, c.Workers = t.TempDir(), 1
	generate(t, c)
	for name, b := range readAll(t, c.Out) {
		if !slices.Equal(b, want[name]) {
			t.Fatalf("%s differs with one worker", name)
		}
	}
}
