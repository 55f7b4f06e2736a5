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
}

// Signal kinds.
const (
	Numeric     = "numeric"
	Categorical = "categorical"
)

// catalog is the ordered list of customer-level signals: the column order of
// snapshots and of features_latest. The SQL (sql/core.sql) and Compute
// produce exactly these names; TestCatalogMatchesSQL checks it.
var catalog = []Signal{
	{"segment", Categorical, "static", "line of business (customers.segment)", true},
	{"customer_type", Categorical, "static", "consumer or business", true},
	{"channel", Categorical, "static", "online or offline", true},
	{"payment_method", Categorical, "static", "agreed way of paying at signup", true},
	{"country", Categorical, "static", "ISO country code", true},
	{"postcode_area", Categorical, "static", "coarse postcode area", true},

	{"tenure_days", Numeric, "at T", "days from created_at to T", false},
	{"invoices_365d", Numeric, "365d", "invoices with due_at in [T-365, T)", false},
	{"late_share_365d", Numeric, "365d", "share of those invoices with running lateness > 0 at T", false},
	{"days_late_mean_365d", Numeric, "365d", "mean running lateness (days) of those invoices", false},
	{"days_late_max_365d", Numeric, "365d", "max running lateness (days) of those invoices", false},
	{"invoices_30dpd_365d", Numeric, "365d", "those invoices with running lateness >= 30 days", false},
	{"open_overdue_count", Numeric, "at T", "invoices past due and not paid in full before T", false},
	{"open_overdue_amount", Numeric, "at T", "unpaid amount of the overdue invoices", false},
	{"oldest_overdue_days", Numeric, "at T", "days past due of the oldest overdue invoice (0 when none)", false},
	{"days_since_last_late", Numeric, "at T", "days since the due date of the latest invoice paid late or overdue", false},
	{"dd_failed_90d", Numeric, "90d", "failed or reversed direct debits", false},
	{"dd_insufficient_funds_365d", Numeric, "365d", "direct debits rejected for insufficient funds (AM04)", false},
	{"dd_account_closed_365d", Numeric, "365d", "direct debits rejected for a closed or blocked account (AC04, AC06)", false},
	{"reminders_90d", Numeric, "90d", "reminders sent", false},
	{"final_notices_365d", Numeric, "365d", "final notices (14-day letters) sent", false},
	{"paid_after_first_reminder_share_365d", Numeric, "365d", "share of reminded invoices paid in full within 14 days of the first reminder", false},
	{"arrangements_broken_730d", Numeric, "730d", "payment arrangements broken", false},
	{"arrangement_active", Numeric, "at T", "1 when a payment arrangement is running", false},
	{"disputes_open", Numeric, "at T", "disputes opened and not resolved", false},
	{"address_changes_180d", Numeric, "180d", "address changes", false},
	{"payment_day_std_365d", Numeric, "365d", "standard deviation of days from due date to full payment", false},
	{"monthly_amount", Numeric, "static", "expected recurring amount per month", true},

	{"late_share_90d", Numeric, "90d", "share of invoices due in [T-90, T) with running lateness > 0", false},
	{"days_late_mean_90d", Numeric, "90d", "mean running lateness of invoices due in [T-90, T)", false},
	{"late_share_trend", Numeric, "90d vs 365d", "late_share_90d minus late_share_365d (positive = getting worse)", false},
	{"partial_payment_share_365d", Numeric, "365d", "share of invoices due in the 365d window paid in parts or partly before T", false},
	{"open_invoices_count", Numeric, "at T", "invoices issued and not paid in full before T (due or not)", false},
	{"open_amount", Numeric, "at T", "unpaid amount of all open invoices", false},
	{"overdue_to_monthly", Numeric, "at T", "open_overdue_amount / monthly_amount", false},
	{"invoice_amount_mean_365d", Numeric, "365d", "mean amount of invoices due in the 365d window", false},
	{"dd_attempts_365d", Numeric, "365d", "direct-debit attempts", false},
	{"dd_failed_share_365d", Numeric, "365d", "share of direct-debit attempts failed or reversed", false},
	{"days_since_last_dd_failure", Numeric, "at T", "days since the latest failed or reversed direct debit", false},
	{"reminders_365d", Numeric, "365d", "reminders sent", false},
	{"days_since_last_reminder", Numeric, "at T", "days since the latest reminder", false},
	{"collections_365d", Numeric, "365d", "invoices handed to collection (reminder stage collection)", false},
	{"collection_payments_730d", Numeric, "730d", "payments received through a collection agency", false},
	{"arrangements_730d", Numeric, "730d", "payment arrangements agreed", false},
	{"disputes_365d", Numeric, "365d", "disputes opened", false},
	{"payment_method_changes_365d", Numeric, "365d", "payment-method changes", false},
	{"contacts_90d", Numeric, "90d", "customer contacts logged", false},
	{"complaints_365d", Numeric, "365d", "complaints logged", false},
	{"credit_limit", Numeric, "static", "credit limit (NULL when none)", true},
	{"credit_utilisation", Numeric, "at T", "open_amount / credit_limit (NULL without a positive limit)", false},
	{"last_due_days_late", Numeric, "at T", "running lateness of the invoice with the latest due date before T", false},
	{"as_of_month", Numeric, "at T", "calendar month of T, 1..12 (seasonality)", true},
	{"reminder_stage_30d", Numeric, "30d", "highest dunning stage sent in the last 30 days: 0 none, 1 reminder, 2 second reminder, 3 final notice, 4 collection", false},
	{"payment_day_mean_90d", Numeric, "90d", "mean days from due date to full payment of invoices paid in full in [T-90, T) (negative = paid early)", false},
	{"payment_day_mean_365d", Numeric, "365d", "mean days from due date to full payment of invoices paid in full in [T-365, T) (negative = paid early)", false},
	{"days_since_last_on_time", Numeric, "at T", "days since the due date of the latest invoice paid in full on or before its due date", false},
	{"days_since_last_address_change", Numeric, "at T", "days since the latest address change", false},
	{"last_payment_day", Numeric, "at T", "days from due date to full payment of the invoice paid in full most recently before T (negative = paid early)", false},
	{"last_dd_failure_reason", Categorical, "at T", "SEPA reason code of the latest failed or reversed direct debit before T (of two on the same day, the alphabetically last); empty when none", false},
}

// invoiceSignals are the extra columns of invoice snapshots.
var invoiceSignals = []Signal{
	{"invoice_amount", Numeric, "invoice", "amount of the invoice", false},
	{"invoice_terms_days", Numeric, "invoice", "payment terms: due_at - issued_at in days", false},
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
