package features

// Signal describes one feature column. A plain value.
type Signal struct {
	// Name is the column name in snapshots and in features_latest.
	Name string
	// Kind is "numeric" (Nullable(Float64), NULL = missing) or
	// "categorical" (a String attribute).
	Kind string
	// Window is the look-back window ("365d", "90d", ...) or "static"
	// (a customer attribute) or "at T" (a state at the reference date).
	Window string
	// Meaning is a one-line definition, printed by `duewise features show`.
	Meaning string
	// Onboarding reports whether the signal is known when the customer
	// signs (used by the onboarding snapshot for cold-start scoring).
	Onboarding bool
	// Direction is the declared effect of a higher value on the risk of
	// falling behind (IncreasesRisk, DecreasesRisk or NoDirection), from
	// credit practice, not from data: the models are constrained to it
	// (docs/features.md gives each signal's reason).
	Direction string
	// Unit is what the value measures (UnitCount, UnitDays, ...); it
	// sets the realistic step of the monotonicity audit.
	Unit string
}

// Signal kinds.
const (
	Numeric     = "numeric"
	Categorical = "categorical"
)

// Directions of Signal.Direction.
const (
	// IncreasesRisk: a higher value never lowers the risk.
	IncreasesRisk = "increases_risk"
	// DecreasesRisk: a higher value never raises the risk.
	DecreasesRisk = "decreases_risk"
	// NoDirection: no known direction, or not ordinal (categories).
	NoDirection = "none"
)

// Units of Signal.Unit.
const (
	UnitCount    = "count"    // a number of things (invoices, reminders)
	UnitDays     = "days"     // a number of days
	UnitAmount   = "amount"   // money
	UnitShare    = "share"    // a share in [0, 1]
	UnitRatio    = "ratio"    // a ratio (arrears in monthly amounts, utilisation, a change of shares)
	UnitStage    = "stage"    // the dunning stage, 0..MaxStage
	UnitFlag     = "flag"     // 0 or 1
	UnitMonth    = "month"    // a calendar month, 1..12
	UnitCategory = "category" // a categorical attribute
)

// MaxStage is the highest dunning stage of reminder_stage_30d (collection).
const MaxStage = 4

// catalog is the ordered list of customer-level signals: the column order of
// snapshots and of features_latest. The SQL (sql/core.sql) and Compute
// produce exactly these names; TestCatalogMatchesSQL checks it.
var catalog = []Signal{
	{"segment", Categorical, "static", "line of business (customers.segment)", true, NoDirection, UnitCategory},
	{"customer_type", Categorical, "static", "consumer or business", true, NoDirection, UnitCategory},
	{"channel", Categorical, "static", "online or offline", true, NoDirection, UnitCategory},
	{"payment_method", Categorical, "static", "agreed way of paying at signup", true, NoDirection, UnitCategory},
	{"country", Categorical, "static", "ISO country code", true, NoDirection, UnitCategory},
	{"postcode_area", Categorical, "static", "coarse postcode area", true, NoDirection, UnitCategory},

	{"tenure_days", Numeric, "at T", "days from created_at to T", false, DecreasesRisk, UnitDays},
	{"invoices_365d", Numeric, "365d", "invoices with due_at in [T-365, T)", false, NoDirection, UnitCount},
	{"late_share_365d", Numeric, "365d", "share of those invoices with running lateness > 0 at T", false, IncreasesRisk, UnitShare},
	{"days_late_mean_365d", Numeric, "365d", "mean running lateness (days) of those invoices", false, IncreasesRisk, UnitDays},
	{"days_late_max_365d", Numeric, "365d", "max running lateness (days) of those invoices", false, IncreasesRisk, UnitDays},
	{"invoices_30dpd_365d", Numeric, "365d", "those invoices with running lateness >= 30 days", false, IncreasesRisk, UnitCount},
	{"open_overdue_count", Numeric, "at T", "invoices past due and not paid in full before T", false, IncreasesRisk, UnitCount},
	{"open_overdue_amount", Numeric, "at T", "unpaid amount of the overdue invoices", false, IncreasesRisk, UnitAmount},
	{"oldest_overdue_days", Numeric, "at T", "days past due of the oldest overdue invoice (0 when none)", false, IncreasesRisk, UnitDays},
	{"days_since_last_late", Numeric, "at T", "days since the due date of the latest invoice paid late or overdue", false, NoDirection, UnitDays},
	{"dd_failed_90d", Numeric, "90d", "failed or reversed direct debits", false, IncreasesRisk, UnitCount},
	{"dd_insufficient_funds_365d", Numeric, "365d", "direct debits rejected for insufficient funds (AM04)", false, IncreasesRisk, UnitCount},
	{"dd_account_closed_365d", Numeric, "365d", "direct debits rejected for a closed or blocked account (AC04, AC06)", false, IncreasesRisk, UnitCount},
	{"reminders_90d", Numeric, "90d", "reminders sent", false, IncreasesRisk, UnitCount},
	{"final_notices_365d", Numeric, "365d", "final notices (14-day letters) sent", false, IncreasesRisk, UnitCount},
	{"paid_after_first_reminder_share_365d", Numeric, "365d", "share of reminded invoices paid in full within 14 days of the first reminder", false, DecreasesRisk, UnitShare},
	{"arrangements_broken_730d", Numeric, "730d", "payment arrangements broken", false, IncreasesRisk, UnitCount},
	{"arrangement_active", Numeric, "at T", "1 when a payment arrangement is running", false, NoDirection, UnitFlag},
	{"disputes_open", Numeric, "at T", "disputes opened and not resolved", false, IncreasesRisk, UnitCount},
	{"address_changes_180d", Numeric, "180d", "address changes", false, IncreasesRisk, UnitCount},
	{"payment_day_std_365d", Numeric, "365d", "standard deviation of days from due date to full payment", false, NoDirection, UnitDays},
	{"monthly_amount", Numeric, "static", "expected recurring amount per month", true, NoDirection, UnitAmount},

	{"late_share_90d", Numeric, "90d", "share of invoices due in [T-90, T) with running lateness > 0", false, IncreasesRisk, UnitShare},
	{"days_late_mean_90d", Numeric, "90d", "mean running lateness of invoices due in [T-90, T)", false, IncreasesRisk, UnitDays},
	{"late_share_trend", Numeric, "90d vs 365d", "late_share_90d minus late_share_365d (positive = getting worse)", false, IncreasesRisk, UnitRatio},
	{"partial_payment_share_365d", Numeric, "365d", "share of invoices due in the 365d window paid in parts or partly before T", false, IncreasesRisk, UnitShare},
	{"open_invoices_count", Numeric, "at T", "invoices issued and not paid in full before T (due or not)", false, NoDirection, UnitCount},
	{"open_amount", Numeric, "at T", "unpaid amount of all open invoices", false, NoDirection, UnitAmount},
	{"overdue_to_monthly", Numeric, "at T", "open_overdue_amount / monthly_amount", false, IncreasesRisk, UnitRatio},
	{"invoice_amount_mean_365d", Numeric, "365d", "mean amount of invoices due in the 365d window", false, NoDirection, UnitAmount},
	{"dd_attempts_365d", Numeric, "365d", "direct-debit attempts", false, NoDirection, UnitCount},
	{"dd_failed_share_365d", Numeric, "365d", "share of direct-debit attempts failed or reversed", false, IncreasesRisk, UnitShare},
	{"days_since_last_dd_failure", Numeric, "at T", "days since the latest failed or reversed direct debit", false, DecreasesRisk, UnitDays},
	{"reminders_365d", Numeric, "365d", "reminders sent", false, IncreasesRisk, UnitCount},
	{"days_since_last_reminder", Numeric, "at T", "days since the latest reminder", false, DecreasesRisk, UnitDays},
	{"collections_365d", Numeric, "365d", "invoices handed to collection (reminder stage collection)", false, IncreasesRisk, UnitCount},
	{"collection_payments_730d", Numeric, "730d", "payments received through a collection agency", false, IncreasesRisk, UnitCount},
	{"arrangements_730d", Numeric, "730d", "payment arrangements agreed", false, IncreasesRisk, UnitCount},
	{"disputes_365d", Numeric, "365d", "disputes opened", false, IncreasesRisk, UnitCount},
	{"payment_method_changes_365d", Numeric, "365d", "payment-method changes", false, NoDirection, UnitCount},
	{"contacts_90d", Numeric, "90d", "customer contacts logged", false, NoDirection, UnitCount},
	{"complaints_365d", Numeric, "365d", "complaints logged", false, IncreasesRisk, UnitCount},
	{"credit_limit", Numeric, "static", "credit limit (NULL when none)", true, DecreasesRisk, UnitAmount},
	{"credit_utilisation", Numeric, "at T", "open_amount / credit_limit (NULL without a positive limit)", false, IncreasesRisk, UnitRatio},
	{"last_due_days_late", Numeric, "at T", "running lateness of the invoice with the latest due date before T", false, IncreasesRisk, UnitDays},
	{"as_of_month", Numeric, "at T", "calendar month of T, 1..12 (seasonality)", true, NoDirection, UnitMonth},
	{"reminder_stage_30d", Numeric, "30d", "highest dunning stage sent in the last 30 days: 0 none, 1 reminder, 2 second reminder, 3 final notice, 4 collection", false, IncreasesRisk, UnitStage},
	{"payment_day_mean_90d", Numeric, "90d", "mean days from due date to full payment of invoices paid in full in [T-90, T) (negative = paid early)", false, NoDirection, UnitDays},
	{"payment_day_mean_365d", Numeric, "365d", "mean days from due date to full payment of invoices paid in full in [T-365, T) (negative = paid early)", false, NoDirection, UnitDays},
	{"days_since_last_on_time", Numeric, "at T", "days since the due date of the latest invoice paid in full on or before its due date", false, NoDirection, UnitDays},
	{"days_since_last_address_change", Numeric, "at T", "days since the latest address change", false, DecreasesRisk, UnitDays},
	{"last_payment_day", Numeric, "at T", "days from due date to full payment of the invoice paid in full most recently before T (negative = paid early)", false, NoDirection, UnitDays},
	{"last_dd_failure_reason", Categorical, "at T", "SEPA reason code of the latest failed or reversed direct debit before T (of two on the same day, the alphabetically last); empty when none", false, NoDirection, UnitCategory},
}

// invoiceSignals are the extra columns of invoice snapshots.
var invoiceSignals = []Signal{
	{"invoice_amount", Numeric, "invoice", "amount of the invoice", false, NoDirection, UnitAmount},
	{"invoice_terms_days", Numeric, "invoice", "payment terms: due_at - issued_at in days", false, NoDirection, UnitDays},
}

// Catalog returns the customer-level signals in column order (categorical
// attributes first). The slice is a fresh copy; safe for concurrent use.
func Catalog() []Signal {
	return append([]Signal(nil), catalog...)
}

// InvoiceSignals returns the signals only invoice snapshots carry, after
// the customer's signals. A fresh copy; safe for concurrent use.
func InvoiceSignals() []Signal {
	return append([]Signal(nil), invoiceSignals...)
}

// NumericNames returns the names of the numeric customer-level signals in
// column order: the order of Row.Values.
func NumericNames() []string { return names(catalog, Numeric, false) }

// CategoricalNames returns the names of the categorical attributes in
// column order: the order of Row.Categorical.
func CategoricalNames() []string { return names(catalog, Categorical, false) }

func names(ss []Signal, kind string, onboardingOnly bool) []string {
	var out []string
	for _, s := range ss {
		if (kind == "" || s.Kind == kind) && (!onboardingOnly || s.Onboarding) {
			out = append(out, s.Name)
		}
	}
	return out
}

// NullMeansNever reports whether a NULL of signal name means that the
// event that worsens it never happened: the days since the latest
// reminder, address change or failed debit of a customer who never had
// one, the failed share of the debits of a customer never debited. A model
// encodes such a NULL at the safe end of the order (model.Feature.NullAs:
// longer ago than any value, no failure), so that a customer's first
// failed debit or reminder moves the risk like a later one and never the
// other way.
func NullMeansNever(name string) bool { return nullMeansNever[name] }

var nullMeansNever = map[string]bool{"days_since_last_reminder": true, "days_since_last_address_change": true,
	"days_since_last_dd_failure": true, "dd_failed_share_365d": true}

// ModelInput reports whether a model may take signal name as an input.
// Not inputs: signals that an event which worsens the customer changes in
// no declared direction, which would let a failed debit lower the risk
// through them (the attempts a failed debit adds, the reason code of the
// latest failure); their information is in the declared signals of the
// same events (the failed share, the failures per reason). The policy and
// the answers still use them.
func ModelInput(name string) bool { return !notInputs[name] }

var notInputs = map[string]bool{"dd_attempts_365d": true, "last_dd_failure_reason": true}

// Lookup returns the signal called name (customer level or invoice level).
func Lookup(name string) (Signal, bool) {
	for _, s := range catalog {
		if s.Name == name {
			return s, true
		}
	}
	for _, s := range invoiceSignals {
		if s.Name == name {
			return s, true
		}
	}
	return Signal{}, false
}
