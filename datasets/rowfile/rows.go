package rowfile

// Encoder receives the values of one row, column by column in contract
// order after tenant (the Writer adds tenant itself).
type Encoder interface {
	String(s string)
	Date(d Date)
	Time(t Time)    // NoTime writes an absent value
	Amount(c Cents) // NoCents writes an absent value
	Int(v int32)
	Float(v float64) // only for the truth table
}

// Customer is a row of the customers table.
type Customer struct {
	ID            string
	CreatedAt     Date
	Type          string
	Segment       string
	Channel       string
	PaymentMethod string
	Country       string
	PostcodeArea  string
	MonthlyAmount Cents
	CreditLimit   Cents // NoCents when the creditor sets none
}

// Encode writes r in contract column order.
func (r *Customer) Encode(e Encoder) {
	e.String(r.ID)
	e.Date(r.CreatedAt)
	e.String(r.Type)
	e.String(r.Segment)
	e.String(r.Channel)
	e.String(r.PaymentMethod)
	e.String(r.Country)
	e.String(r.PostcodeArea)
	e.Amount(r.MonthlyAmount)
	e.Amount(r.CreditLimit)
}

// Invoice is a row of the invoices table.
type Invoice struct {
	ID, CustomerID  string
	IssuedAt, DueAt Date
	Amount          Cents
	Currency        string
}

// Encode writes r in contract column order.
func (r *Invoice) Encode(e Encoder) {
	e.String(r.ID)
	e.String(r.CustomerID)
	e.Date(r.IssuedAt)
	e.Date(r.DueAt)
	e.Amount(r.Amount)
	e.String(r.Currency)
}

// InvoiceRef is the identity shared by rows about one invoice (payments,
// direct debits, reminders, disputes): the row's id, the invoice and the
// customer.
type InvoiceRef struct {
	ID, InvoiceID, CustomerID string
}

func (r *InvoiceRef) encode(e Encoder) {
	e.String(r.ID)
	e.String(r.InvoiceID)
	e.String(r.CustomerID)
}

// Payment is a row of the payments table.
type Payment struct {
	InvoiceRef
	PaidAt Time
	Amount Cents
	Method string
}

// Encode writes r in contract column order.
func (r *Payment) Encode(e Encoder) {
	r.encode(e)
	e.Time(r.PaidAt)
	e.Amount(r.Amount)
	e.String(r.Method)
}

// DirectDebit is a row of the direct_debits table.
type DirectDebit struct {
	InvoiceRef
	AttemptedAt    Time
	Status, Reason string
}

// Encode writes r in contract column order.
func (r *DirectDebit) Encode(e Encoder) {
	r.encode(e)
	e.Time(r.AttemptedAt)
	e.String(r.Status)
	e.String(r.Reason)
}

// Reminder is a row of the reminders table.
type Reminder struct {
	InvoiceRef
	SentAt         Time
	Stage, Channel string
}

// Encode writes r in contract column order.
func (r *Reminder) Encode(e Encoder) {
	r.encode(e)
	e.Time(r.SentAt)
	e.String(r.Stage)
	e.String(r.Channel)
}

// Arrangement is a row of the arrangements table.
type Arrangement struct {
	ID, CustomerID string
	AgreedAt       Time
	Installments   int32
	Amount         Cents
	Status         string
	EndedAt        Time // NoTime while active
}

// Encode writes r in contract column order.
func (r *Arrangement) Encode(e Encoder) {
	e.String(r.ID)
	e.String(r.CustomerID)
	e.Time(r.AgreedAt)
	e.Int(r.Installments)
	e.Amount(r.Amount)
	e.String(r.Status)
	e.Time(r.EndedAt)
}

// Dispute is a row of the disputes table.
type Dispute struct {
	InvoiceRef
	OpenedAt   Time
	ResolvedAt Time // NoTime while open
	Outcome    string
}

// Encode writes r in contract column order.
func (r *Dispute) Encode(e Encoder) {
	r.encode(e)
	e.Time(r.OpenedAt)
	e.Time(r.ResolvedAt)
	e.String(r.Outcome)
}

// CustomerEvent is a row of the customer_events table.
type CustomerEvent struct {
	ID, CustomerID string
	OccurredAt     Time
	Kind, Detail   string
}

// Encode writes r in contract column order.
func (r *CustomerEvent) Encode(e Encoder) {
	e.String(r.ID)
	e.String(r.CustomerID)
	e.Time(r.OccurredAt)
	e.String(r.Kind)
	e.String(r.Detail)
}

// Truth is a row of the simulator's truth.csv: the true probability that
// the customer's invoice of Month goes 30 or more days unpaid past its due
// date, and the latent state that produced it.
type Truth struct {
	CustomerID string
	Month      Date // first day of the month
	Hazard     float64
	State      string
}

// Encode writes r in column order.
func (r *Truth) Encode(e Encoder) {
	e.String(r.CustomerID)
	e.Date(r.Month)
	e.Float(r.Hazard)
	e.String(r.State)
}

// Label is a row of labels.csv: whether the customer fell behind (Event 1)
// in the period that starts at AsOf, as stated by a public dataset.
type Label struct {
	CustomerID string
	AsOf       Date
	Event      int32
}

// Encode writes r in column order.
func (r *Label) Encode(e Encoder) {
	e.String(r.CustomerID)
	e.Date(r.AsOf)
	e.Int(r.Event)
}

// Batch holds rows of every table, written together by Writer.Write. Rows
// of a table are written in slice order. Reset empties it for reuse. A
// Batch is not safe for concurrent use.
type Batch struct {
	Customers      []Customer
	Invoices       []Invoice
	Payments       []Payment
	DirectDebits   []DirectDebit
	Reminders      []Reminder
	Arrangements   []Arrangement
	Disputes       []Dispute
	CustomerEvents []CustomerEvent
	Truth          []Truth
	Labels         []Label
}

// Reset empties every slice, keeping its capacity.
func (b *Batch) Reset() {
	b.Customers = b.Customers[:0]
	b.Invoices = b.Invoices[:0]
	b.Payments = b.Payments[:0]
	b.DirectDebits = b.DirectDebits[:0]
	b.Reminders = b.Reminders[:0]
	b.Arrangements = b.Arrangements[:0]
	b.Disputes = b.Disputes[:0]
	b.CustomerEvents = b.CustomerEvents[:0]
	b.Truth = b.Truth[:0]
	b.Labels = b.Labels[:0]
}
