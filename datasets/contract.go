package datasets

// Kind is the type of a data-contract column as it appears in files.
type Kind int

// The column kinds of the data contract.
const (
	// String is free UTF-8 text.
	String Kind = iota
	// Enum is a string from a fixed set (Column.Values).
	Enum
	// Date is a calendar date, YYYY-MM-DD; stored as ClickHouse Date.
	Date
	// Timestamp is an RFC 3339 instant, stored in UTC as DateTime('UTC').
	Timestamp
	// Amount is a decimal with up to 2 decimals; stored as Decimal(18, 2).
	Amount
	// Int is a whole number; stored as Int32.
	Int
	// Currency is an ISO 4217 code: three upper-case letters.
	Currency
	// Country is an ISO 3166 alpha-2 code: two upper-case letters.
	Country
	// Number is a declared numeric attribute (see Attribute): a decimal
	// number, stored as Float64 in customer_attributes.
	Number
)

// Column is one column of a data-contract table.
type Column struct {
	Name     string
	Kind     Kind
	Required bool
	// Values lists the allowed values of an Enum column. An optional Enum
	// column may also be empty.
	Values []string
	// Doc is the column's meaning, used in docs/data-contract.md.
	Doc string
	// attr is the declaration of an attribute column (a tenant's extra
	// column of customers), nil for the contract's own columns.
	attr *Attribute
}

// Table is one table of the data contract. Columns[0] is always tenant and
// Columns[1] the row's identity: loading a row with the same (tenant, id)
// again replaces the earlier version.
type Table struct {
	Name    string
	Columns []Column
	Doc     string
	// base is the number of contract columns when Columns ends with a
	// tenant's attribute columns (withAttributes); 0 otherwise.
	base int
	// attrVersion is the version of the declaration the attribute columns
	// come from.
	attrVersion int
}

// ID returns the name of the table's identity column.
func (t Table) ID() string { return t.Columns[1].Name }

// Column returns the column called name and whether it exists.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Payment methods, direct-debit statuses and the other enumerations of the
// data contract.
var (
	CustomerTypes   = []string{"consumer", "business"}
	Channels        = []string{"online", "offline"}
	PaymentMethods  = []string{"direct_debit", "bank_transfer", "card", "pay_link"}
	PaidMethods     = []string{"direct_debit", "bank_transfer", "card", "pay_link", "collection_agency"}
	DebitStatuses   = []string{"succeeded", "failed", "reversed"}
	ReminderStages  = []string{"reminder", "second_reminder", "final_notice", "collection"}
	ReminderChannel = []string{"email", "sms", "letter", "phone"}
	ArrangementStat = []string{"active", "completed", "broken"}
	DisputeOutcomes = []string{"customer", "creditor"}
	EventKinds      = []string{"address_change", "payment_method_change", "contract_change", "complaint", "contact"}
)

func tenant() Column {
	return Column{Name: "tenant", Kind: String, Required: true, Doc: "Creditor the row belongs to; one tenant never sees another's rows."}
}

// Tables is the data contract: every raw table duewise stores, in load order
// (a table's references point only to tables earlier in the list).
var Tables = []Table{
	{Name: "customers", Doc: "One row per customer (or prospect once signed).", Columns: []Column{
		tenant(),
		{Name: "customer_id", Kind: String, Required: true, Doc: "Creditor's customer number."},
		{Name: "created_at", Kind: Date, Required: true, Doc: "Date the customer relationship started."},
		{Name: "customer_type", Kind: Enum, Required: true, Values: CustomerTypes, Doc: "Consumer or business."},
		{Name: "segment", Kind: String, Required: true, Doc: "Line of business, free text: energy, telecom, insurance, publishing..."},
		{Name: "channel", Kind: Enum, Required: true, Values: Channels, Doc: "How the customer deals with the creditor: online or offline."},
		{Name: "payment_method", Kind: Enum, Required: true, Values: PaymentMethods, Doc: "Agreed way of paying."},
		{Name: "country", Kind: Country, Required: true, Doc: "ISO 3166 alpha-2 country code."},
		{Name: "postcode_area", Kind: String, Doc: "Coarse postcode area (for example the 4 digits of a Dutch postcode)."},
		{Name: "monthly_amount", Kind: Amount, Required: true, Doc: "Expected recurring amount per month."},
		{Name: "credit_limit", Kind: Amount, Doc: "Credit limit, when the creditor sets one."},
	}},
	{Name: "invoices", Doc: "Every invoice sent to a customer.", Columns: []Column{
		tenant(),
		{Name: "invoice_id", Kind: String, Required: true, Doc: "Invoice number."},
		{Name: "customer_id", Kind: String, Required: true, Doc: "Customer invoiced."},
		{Name: "issued_at", Kind: Date, Required: true, Doc: "Invoice date."},
		{Name: "due_at", Kind: Date, Required: true, Doc: "Due date; never before issued_at."},
		{Name: "amount", Kind: Amount, Required: true, Doc: "Amount due, > 0."},
		{Name: "currency", Kind: Currency, Required: true, Doc: "ISO 4217 currency code."},
	}},
	{Name: "payments", Doc: "Money received against an invoice; several partial payments may settle one invoice.", Columns: []Column{
		tenant(),
		{Name: "payment_id", Kind: String, Required: true, Doc: "Payment reference."},
		{Name: "invoice_id", Kind: String, Required: true, Doc: "Invoice paid."},
		{Name: "customer_id", Kind: String, Required: true, Doc: "Customer who paid."},
		{Name: "paid_at", Kind: Timestamp, Required: true, Doc: "When the money was received."},
		{Name: "amount", Kind: Amount, Required: true, Doc: "Amount received, > 0; may be partial."},
		{Name: "method", Kind: Enum, Required: true, Values: PaidMethods, Doc: "How it was paid."},
	}},
	{Name: "direct_debits", Doc: "Every direct-debit collection attempt and its outcome.", Columns: []Column{
		tenant(),
		{Name: "attempt_id", Kind: String, Required: true, Doc: "Attempt reference."},
		{Name: "invoice_id", Kind: String, Required: true, Doc: "Invoice collected."},
		{Name: "customer_id", Kind: String, Required: true, Doc: "Customer debited."},
		{Name: "attempted_at", Kind: Timestamp, Required: true, Doc: "When the debit was attempted (or reversed)."},
		{Name: "status", Kind: Enum, Required: true, Values: DebitStatuses, Doc: "succeeded, failed or reversed."},
		{Name: "reason", Kind: String, Doc: "SEPA R-transaction reason code (AM04, MS02, AC04, AC06, MD01, MD06, MS03, SL01...); empty when succeeded."},
	}},
	{Name: "reminders", Doc: "Dunning steps sent for an invoice.", Columns: []Column{
		tenant(),
		{Name: "reminder_id", Kind: String, Required: true, Doc: "Reminder reference."},
		{Name: "invoice_id", Kind: String, Required: true, Doc: "Invoice reminded."},
		{Name: "customer_id", Kind: String, Required: true, Doc: "Customer reminded."},
		{Name: "sent_at", Kind: Timestamp, Required: true, Doc: "When it was sent."},
		{Name: "stage", Kind: Enum, Required: true, Values: ReminderStages, Doc: "reminder, second_reminder, final_notice (the Dutch 14-day letter) or collection."},
		{Name: "channel", Kind: Enum, Required: true, Values: ReminderChannel, Doc: "email, sms, letter or phone."},
	}},
	{Name: "arrangements", Doc: "Payment plans agreed with a customer; a later version of the same id replaces the earlier one.", Columns: []Column{
		tenant(),
		{Name: "arrangement_id", Kind: String, Required: true, Doc: "Arrangement reference."},
		{Name: "customer_id", Kind: String, Required: true, Doc: "Customer."},
		{Name: "agreed_at", Kind: Timestamp, Required: true, Doc: "When the plan was agreed."},
		{Name: "installments", Kind: Int, Required: true, Doc: "Number of installments, > 0."},
		{Name: "amount", Kind: Amount, Required: true, Doc: "Total amount under the plan, > 0."},
		{Name: "status", Kind: Enum, Required: true, Values: ArrangementStat, Doc: "active, completed or broken."},
		{Name: "ended_at", Kind: Timestamp, Doc: "When it was completed or broken; empty while active."},
	}},
	{Name: "disputes", Doc: "Invoices the customer contested.", Columns: []Column{
		tenant(),
		{Name: "dispute_id", Kind: String, Required: true, Doc: "Dispute reference."},
		{Name: "invoice_id", Kind: String, Required: true, Doc: "Invoice contested."},
		{Name: "customer_id", Kind: String, Required: true, Doc: "Customer."},
		{Name: "opened_at", Kind: Timestamp, Required: true, Doc: "When the dispute was raised."},
		{Name: "resolved_at", Kind: Timestamp, Doc: "When it was resolved; empty while open."},
		{Name: "outcome", Kind: Enum, Values: DisputeOutcomes, Doc: "Who was proven right: customer or creditor; empty while open."},
	}},
	{Name: "customer_events", Doc: "Things that happened to the customer relationship.", Columns: []Column{
		tenant(),
		{Name: "event_id", Kind: String, Required: true, Doc: "Event reference."},
		{Name: "customer_id", Kind: String, Required: true, Doc: "Customer."},
		{Name: "occurred_at", Kind: Timestamp, Required: true, Doc: "When it happened."},
		{Name: "kind", Kind: Enum, Required: true, Values: EventKinds, Doc: "address_change, payment_method_change, contract_change, complaint or contact."},
		{Name: "detail", Kind: String, Doc: "Free text, no personal data beyond ids."},
	}},
}

// TableByName returns the contract table called name.
func TableByName(name string) (Table, bool) {
	for _, t := range Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}
