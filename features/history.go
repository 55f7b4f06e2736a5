package features

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/duewise/duewise/datasets"
)

// History is one customer's raw rows in the data-contract shape (see
// docs/data-contract.md): the JSON field names are the contract's column
// names, so a REST request body decodes straight into it. Rows are assumed
// deduplicated (one row per id). A plain value.
type History struct {
	Customer     Customer        `json:"customer"`
	Invoices     []Invoice       `json:"invoices,omitempty"`
	Payments     []Payment       `json:"payments,omitempty"`
	DirectDebits []DirectDebit   `json:"direct_debits,omitempty"`
	Reminders    []Reminder      `json:"reminders,omitempty"`
	Arrangements []Arrangement   `json:"arrangements,omitempty"`
	Disputes     []Dispute       `json:"disputes,omitempty"`
	Events       []CustomerEvent `json:"customer_events,omitempty"`
}

// Date is a contract date (a UTC calendar day); JSON "YYYY-MM-DD".
type Date struct{ time.Time }

// D returns the Date of a "YYYY-MM-DD" string and panics on a bad one; for
// literals in tests and examples.
func D(s string) Date {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return Date{t}
}

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) {
	return []byte(`"` + d.UTC().Format(time.DateOnly) + `"`), nil
}

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: want a string YYYY-MM-DD: %w", err)
	}
	days, err := datasets.ParseDate(s)
	if err != nil {
		return err
	}
	d.Time = time.Unix(int64(days)*86400, 0).UTC()
	return nil
}

// days returns the day number since 1970-01-01.
func (d Date) days() int32 { return int32(d.Unix() / 86400) }

// TS returns the UTC time of an RFC 3339 string and panics on a bad one;
// for literals in tests and examples.
func TS(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// Amount is a contract amount in hundredths (cents); JSON a decimal string
// or number with at most 2 decimals, written as a string "12.34".
type Amount int64

// MarshalJSON writes the amount as a decimal string.
func (a Amount) MarshalJSON() ([]byte, error) {
	neg := a < 0
	if neg {
		a = -a
	}
	s := strconv.FormatInt(int64(a)/100, 10) + "." + fmt.Sprintf("%02d", int64(a)%100)
	if neg {
		s = "-" + s
	}
	return []byte(`"` + s + `"`), nil
}

// UnmarshalJSON reads a decimal string or number exactly.
func (a *Amount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := datasets.ParseAmount(s)
	if err != nil {
		return err
	}
	*a = Amount(v)
	return nil
}

// Customer is a row of customers.
type Customer struct {
	Tenant        string  `json:"tenant"`
	CustomerID    string  `json:"customer_id"`
	CreatedAt     Date    `json:"created_at"`
	CustomerType  string  `json:"customer_type"`
	Segment       string  `json:"segment"`
	Channel       string  `json:"channel"`
	PaymentMethod string  `json:"payment_method"`
	Country       string  `json:"country"`
	PostcodeArea  string  `json:"postcode_area"`
	MonthlyAmount Amount  `json:"monthly_amount"`
	CreditLimit   *Amount `json:"credit_limit"`
}

// Invoice is a row of invoices.
type Invoice struct {
	Tenant     string `json:"tenant"`
	InvoiceID  string `json:"invoice_id"`
	CustomerID string `json:"customer_id"`
	IssuedAt   Date   `json:"issued_at"`
	DueAt      Date   `json:"due_at"`
	Amount     Amount `json:"amount"`
	Currency   string `json:"currency"`
}

// Payment is a row of payments.
type Payment struct {
	Tenant     string    `json:"tenant"`
	PaymentID  string    `json:"payment_id"`
	InvoiceID  string    `json:"invoice_id"`
	CustomerID string    `json:"customer_id"`
	PaidAt     time.Time `json:"paid_at"`
	Amount     Amount    `json:"amount"`
	Method     string    `json:"method"`
}

// DirectDebit is a row of direct_debits.
type DirectDebit struct {
	Tenant      string    `json:"tenant"`
	AttemptID   string    `json:"attempt_id"`
	InvoiceID   string    `json:"invoice_id"`
	CustomerID  string    `json:"customer_id"`
	AttemptedAt time.Time `json:"attempted_at"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason"`
}

// Reminder is a row of reminders.
type Reminder struct {
	Tenant     string    `json:"tenant"`
	ReminderID string    `json:"reminder_id"`
	InvoiceID  string    `json:"invoice_id"`
	CustomerID string    `json:"customer_id"`
	SentAt     time.Time `json:"sent_at"`
	Stage      string    `json:"stage"`
	Channel    string    `json:"channel"`
}

// Arrangement is a row of arrangements.
type Arrangement struct {
	Tenant        string     `json:"tenant"`
	ArrangementID string     `json:"arrangement_id"`
	CustomerID    string     `json:"customer_id"`
	AgreedAt      time.Time  `json:"agreed_at"`
	Installments  int32      `json:"installments"`
	Amount        Amount     `json:"amount"`
	Status        string     `json:"status"`
	EndedAt       *time.Time `json:"ended_at"`
}

// Dispute is a row of disputes.
type Dispute struct {
	Tenant     string     `json:"tenant"`
	DisputeID  string     `json:"dispute_id"`
	InvoiceID  string     `json:"invoice_id"`
	CustomerID string     `json:"customer_id"`
	OpenedAt   time.Time  `json:"opened_at"`
	ResolvedAt *time.Time `json:"resolved_at"`
	Outcome    string     `json:"outcome"`
}

// CustomerEvent is a row of customer_events.
type CustomerEvent struct {
	Tenant     string    `json:"tenant"`
	EventID    string    `json:"event_id"`
	CustomerID string    `json:"customer_id"`
	OccurredAt time.Time `json:"occurred_at"`
	Kind       string    `json:"kind"`
	Detail     string    `json:"detail"`
}

// Rows returns h's rows per contract table name as JSON objects, in load
// order: the body datasets.Loader.LoadRows takes.
func (h *History) Rows() (map[string][]json.RawMessage, error) {
	out := map[string][]json.RawMessage{}
	add := func(table string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s row: %w", table, err)
		}
		out[table] = append(out[table], b)
		return nil
	}
	if err := add("customers", h.Customer); err != nil {
		return nil, err
	}
	for _, r := range h.Invoices {
		if err := add("invoices", r); err != nil {
			return nil, err
		}
	}
	for _, r := range h.Payments {
		if err := add("payments", r); err != nil {
			return nil, err
		}
	}
	for _, r := range h.DirectDebits {
		if err := add("direct_debits", r); err != nil {
			return nil, err
		}
	}
	for _, r := range h.Reminders {
		if err := add("reminders", r); err != nil {
			return nil, err
		}
	}
	for _, r := range h.Arrangements {
		if err := add("arrangements", r); err != nil {
			return nil, err
		}
	}
	for _, r := range h.Disputes {
		if err := add("disputes", r); err != nil {
			return nil, err
		}
	}
	for _, r := range h.Events {
		if err := add("customer_events", r); err != nil {
			return nil, err
		}
	}
	return out, nil
}
