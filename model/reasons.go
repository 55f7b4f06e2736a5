package model

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// reasonText holds a reason code and its texts. In the texts, %s is the
// formatted value; none is used when the value is NULL.
type reasonText struct {
	code           string
	en, nl         string
	noneEN, noneNL string
}

// reasons maps feature names to stable reason codes with English and Dutch
// texts. Codes never change meaning; new features get new codes.
var reasons = map[string]reasonText{
	"tenure_days":                          {"TENURE", "customer for %s days", "%s dagen klant", "", ""},
	"invoices_365d":                        {"INVOICES_LAST_YEAR", "%s invoices due in the last year", "%s facturen vervallen in het afgelopen jaar", "", ""},
	"late_share_365d":                      {"LATE_SHARE", "%s of last year's invoices paid late", "%s van de facturen van het afgelopen jaar te laat betaald", "no invoices in the last year", "geen facturen in het afgelopen jaar"},
	"days_late_mean_365d":                  {"DAYS_LATE_MEAN", "on average %s days late in the last year", "gemiddeld %s dagen te laat in het afgelopen jaar", "no invoices in the last year", "geen facturen in het afgelopen jaar"},
	"days_late_max_365d":                   {"DAYS_LATE_MAX", "up to %s days late in the last year", "tot %s dagen te laat in het afgelopen jaar", "no invoices in the last year", "geen facturen in het afgelopen jaar"},
	"invoices_30dpd_365d":                  {"INVOICES_30_DAYS_LATE", "%s invoices 30 or more days late in the last year", "%s facturen 30 dagen of meer te laat in het afgelopen jaar", "", ""},
	"open_overdue_count":                   {"OPEN_OVERDUE", "%s overdue invoices open", "%s vervallen facturen openstaand", "", ""},
	"open_overdue_amount":                  {"OVERDUE_AMOUNT", "%s overdue and unpaid", "%s vervallen en onbetaald", "", ""},
	"oldest_overdue_days":                  {"OLDEST_OVERDUE", "oldest open invoice %s days past due", "oudste openstaande factuur %s dagen over de vervaldatum", "", ""},
	"days_since_last_late":                 {"RECENT_LATE_PAYMENT", "last late invoice %s days ago", "laatste te late factuur %s dagen geleden", "never paid late", "nooit te laat betaald"},
	"dd_failed_90d":                        {"DD_FAILED", "%s direct debits failed in the last 90 days", "%s incasso's mislukt in de afgelopen 90 dagen", "", ""},
	"dd_insufficient_funds_365d":           {"DD_INSUFFICIENT_FUNDS", "%s direct debits failed for insufficient funds in the last year", "%s incasso's mislukt wegens onvoldoende saldo in het afgelopen jaar", "", ""},
	"dd_account_closed_365d":               {"DD_ACCOUNT_CLOSED", "%s direct debits failed on a closed or blocked account in the last year", "%s incasso's mislukt op een opgeheven of geblokkeerde rekening in het afgelopen jaar", "", ""},
	"reminders_90d":                        {"REMINDERS_RECENT", "%s reminders in the last 90 days", "%s herinneringen in de afgelopen 90 dagen", "", ""},
	"final_notices_365d":                   {"FINAL_NOTICES", "%s final notices (14-day letters) in the last year", "%s aanmaningen (veertiendagenbrief) in het afgelopen jaar", "", ""},
	"paid_after_first_reminder_share_365d": {"REMINDER_RESPONSE", "pays %s of reminded invoices within 14 days of the first reminder", "betaalt %s van de herinnerde facturen binnen 14 dagen na de eerste herinnering", "no reminders in the last year", "geen herinneringen in het afgelopen jaar"},
	"arrangements_broken_730d":             {"BROKEN_ARRANGEMENTS", "%s payment plans broken in the last two years", "%s betalingsregelingen niet nagekomen in de afgelopen twee jaar", "", ""},
	"arrangement_active":                   {"ARRANGEMENT_ACTIVE", "payment plan active: %s", "betalingsregeling actief: %s", "", ""},
	"disputes_open":                        {"DISPUTES_OPEN", "%s open disputes", "%s openstaande geschillen", "", ""},
	"address_changes_180d":                 {"ADDRESS_CHANGE", "%s address changes in the last 6 months", "%s adreswijzigingen in de afgelopen 6 maanden", "", ""},
	"payment_day_std_365d":                 {"PAYMENT_DAY_VARIATION", "payment day varies by %s days", "betaaldag varieert %s dagen", "too few paid invoices to judge regularity", "te weinig betaalde facturen om regelmaat te beoordelen"},
	"monthly_amount":                       {"MONTHLY_AMOUNT", "monthly amount %s", "maandbedrag %s", "", ""},
	"late_share_90d":                       {"LATE_SHARE_RECENT", "%s of the last 90 days' invoices paid late", "%s van de facturen van de afgelopen 90 dagen te laat betaald", "no invoices in the last 90 days", "geen facturen in de afgelopen 90 dagen"},
	"days_late_mean_90d":                   {"DAYS_LATE_RECENT", "on average %s days late in the last 90 days", "gemiddeld %s dagen te laat in de afgelopen 90 dagen", "no invoices in the last 90 days", "geen facturen in de afgelopen 90 dagen"},
	"late_share_trend":                     {"LATENESS_TREND", "share of late invoices changed by %s recently", "aandeel te late facturen recent veranderd met %s", "no recent invoices", "geen recente facturen"},
	"partial_payment_share_365d":           {"PARTIAL_PAYMENTS", "%s of last year's invoices paid in parts", "%s van de facturen van het afgelopen jaar in delen betaald", "no invoices in the last year", "geen facturen in het afgelopen jaar"},
	"open_invoices_count":                  {"OPEN_INVOICES", "%s invoices open", "%s facturen openstaand", "", ""},
	"open_amount":                          {"OPEN_AMOUNT", "%s open", "%s openstaand", "", ""},
	"overdue_to_monthly":                   {"ARREARS_MONTHS", "arrears of %s monthly amounts", "achterstand van %s maandbedragen", "", ""},
	"invoice_amount_mean_365d":             {"INVOICE_AMOUNT_MEAN", "average invoice %s", "gemiddelde factuur %s", "no invoices in the last year", "geen facturen in het afgelopen jaar"},
	"dd_attempts_365d":                     {"DD_ATTEMPTS", "%s direct-debit attempts in the last year", "%s incassopogingen in het afgelopen jaar", "", ""},
	"dd_failed_share_365d":                 {"DD_FAILED_SHARE", "%s of direct debits failed in the last year", "%s van de incasso's mislukt in het afgelopen jaar", "no direct debits", "geen incasso's"},
	"days_since_last_dd_failure":           {"DD_FAILED_RECENTLY", "last failed direct debit %s days ago", "laatste mislukte incasso %s dagen geleden", "no failed direct debits", "geen mislukte incasso's"},
	"reminders_365d":                       {"REMINDERS_LAST_YEAR", "%s reminders in the last year", "%s herinneringen in het afgelopen jaar", "", ""},
	"days_since_last_reminder":             {"REMINDED_RECENTLY", "last reminder %s days ago", "laatste herinnering %s dagen geleden", "never reminded", "nooit herinnerd"},
	"collections_365d":                     {"COLLECTIONS", "%s invoices handed to collection in the last year", "%s facturen uit handen gegeven aan incasso in het afgelopen jaar", "", ""},
	"collection_payments_730d":             {"PAID_THROUGH_COLLECTION", "%s payments through a collection agency in two years", "%s betalingen via een incassobureau in twee jaar", "", ""},
	"arrangements_730d":                    {"ARRANGEMENTS", "%s payment plans in the last two years", "%s betalingsregelingen in de afgelopen twee jaar", "", ""},
	"disputes_365d":                        {"DISPUTES", "%s disputes in the last year", "%s geschillen in het afgelopen jaar", "", ""},
	"payment_method_changes_365d":          {"PAYMENT_METHOD_CHANGES", "%s payment-method changes in the last year", "%s wijzigingen van betaalwijze in het afgelopen jaar", "", ""},
	"contacts_90d":                         {"CONTACTS", "%s contacts in the last 90 days", "%s contactmomenten in de afgelopen 90 dagen", "", ""},
	"complaints_365d":                      {"COMPLAINTS", "%s complaints in the last year", "%s klachten in het afgelopen jaar", "", ""},
	"credit_limit":                         {"CREDIT_LIMIT", "credit limit %s", "kredietlimiet %s", "no credit limit", "geen kredietlimiet"},
	"credit_utilisation":                   {"CREDIT_UTILISATION", "%s of the credit limit in use", "%s van de kredietlimiet in gebruik", "no credit limit", "geen kredietlimiet"},
	"last_due_days_late":                   {"LAST_INVOICE_LATE", "latest invoice %s days late", "laatste factuur %s dagen te laat", "no invoice due yet", "nog geen factuur vervallen"},
	"as_of_month":                          {"SEASON", "month %s of the year", "maand %s van het jaar", "", ""},
	"reminder_stage_30d":                   {"DUNNING_STAGE", "dunning stage in the last 30 days: %s", "aanmaningsfase in de afgelopen 30 dagen: %s", "", ""},
	"payment_day_mean_90d":                 {"PAYMENT_DAY_RECENT", "paid on average %s the due date in the last 90 days", "in de afgelopen 90 dagen gemiddeld %s de vervaldatum betaald", "no invoice paid in the last 90 days", "geen factuur betaald in de afgelopen 90 dagen"},
	"payment_day_mean_365d":                {"PAYMENT_DAY", "paid on average %s the due date in the last year", "in het afgelopen jaar gemiddeld %s de vervaldatum betaald", "no invoice paid in the last year", "geen factuur betaald in het afgelopen jaar"},
	"days_since_last_on_time":              {"LAST_ON_TIME", "the last invoice paid on time was due %s days ago", "de laatste op tijd betaalde factuur verviel %s dagen geleden", "no invoice paid on time yet", "nog geen factuur op tijd betaald"},
	"days_since_last_address_change":       {"MOVED_RECENTLY", "moved %s days ago", "%s dagen geleden verhuisd", "no address change known", "geen adreswijziging bekend"},
	"last_payment_day":                     {"LAST_PAYMENT_DAY", "the latest invoice paid was paid %s the due date", "de laatst betaalde factuur werd %s de vervaldatum betaald", "no invoice paid yet", "nog geen factuur betaald"},
	"last_dd_failure_reason":               {"LAST_DD_FAILURE", "last failed direct debit: reason %s", "laatste mislukte incasso: reden %s", "no failed direct debit", "geen mislukte incasso"},
	"invoice_amount":                       {"INVOICE_AMOUNT", "invoice amount %s", "factuurbedrag %s", "", ""},
	"invoice_terms_days":                   {"PAYMENT_TERMS", "payment terms of %s days", "betaaltermijn van %s dagen", "", ""},
	"segment":                              {"SEGMENT", "segment %s", "segment %s", "", ""},
	"customer_type":                        {"CUSTOMER_TYPE", "%s customer", "%s klant", "", ""},
	"channel":                              {"CHANNEL", "%s customer", "%s klant", "", ""},
	"payment_method":                       {"PAYMENT_METHOD", "pays by %s", "betaalt via %s", "", ""},
	"country":                              {"COUNTRY", "country %s", "land %s", "", ""},
	"postcode_area":                        {"POSTCODE_AREA", "postcode area %s", "postcodegebied %s", "", ""},
}

// reasonsOne are the texts of reasons whose value is exactly 1, where
// the value counts something ("1 overdue invoice open", not "1 overdue
// invoices open"): English and Dutch.
var reasonsOne = map[string][2]string{
	"tenure_days":                    {"customer for 1 day", "1 dag klant"},
	"invoices_365d":                  {"1 invoice due in the last year", "1 factuur vervallen in het afgelopen jaar"},
	"days_late_mean_365d":            {"on average 1 day late in the last year", "gemiddeld 1 dag te laat in het afgelopen jaar"},
	"days_late_max_365d":             {"up to 1 day late in the last year", "tot 1 dag te laat in het afgelopen jaar"},
	"invoices_30dpd_365d":            {"1 invoice 30 or more days late in the last year", "1 factuur 30 dagen of meer te laat in het afgelopen jaar"},
	"open_overdue_count":             {"1 overdue invoice open", "1 vervallen factuur openstaand"},
	"oldest_overdue_days":            {"oldest open invoice 1 day past due", "oudste openstaande factuur 1 dag over de vervaldatum"},
	"days_since_last_late":           {"last late invoice 1 day ago", "laatste te late factuur 1 dag geleden"},
	"dd_failed_90d":                  {"1 direct debit failed in the last 90 days", "1 incasso mislukt in de afgelopen 90 dagen"},
	"dd_insufficient_funds_365d":     {"1 direct debit failed for insufficient funds in the last year", "1 incasso mislukt wegens onvoldoende saldo in het afgelopen jaar"},
	"dd_account_closed_365d":         {"1 direct debit failed on a closed or blocked account in the last year", "1 incasso mislukt op een opgeheven of geblokkeerde rekening in het afgelopen jaar"},
	"reminders_90d":                  {"1 reminder in the last 90 days", "1 herinnering in de afgelopen 90 dagen"},
	"final_notices_365d":             {"1 final notice (14-day letter) in the last year", "1 aanmaning (veertiendagenbrief) in het afgelopen jaar"},
	"arrangements_broken_730d":       {"1 payment plan broken in the last two years", "1 betalingsregeling niet nagekomen in de afgelopen twee jaar"},
	"disputes_open":                  {"1 open dispute", "1 openstaand geschil"},
	"address_changes_180d":           {"1 address change in the last 6 months", "1 adreswijziging in de afgelopen 6 maanden"},
	"payment_day_std_365d":           {"payment day varies by 1 day", "betaaldag varieert 1 dag"},
	"days_late_mean_90d":             {"on average 1 day late in the last 90 days", "gemiddeld 1 dag te laat in de afgelopen 90 dagen"},
	"open_invoices_count":            {"1 invoice open", "1 factuur openstaand"},
	"overdue_to_monthly":             {"arrears of 1 monthly amount", "achterstand van 1 maandbedrag"},
	"dd_attempts_365d":               {"1 direct-debit attempt in the last year", "1 incassopoging in het afgelopen jaar"},
	"days_since_last_dd_failure":     {"last failed direct debit 1 day ago", "laatste mislukte incasso 1 dag geleden"},
	"reminders_365d":                 {"1 reminder in the last year", "1 herinnering in het afgelopen jaar"},
	"days_since_last_reminder":       {"last reminder 1 day ago", "laatste herinnering 1 dag geleden"},
	"collections_365d":               {"1 invoice handed to collection in the last year", "1 factuur uit handen gegeven aan incasso in het afgelopen jaar"},
	"collection_payments_730d":       {"1 payment through a collection agency in two years", "1 betaling via een incassobureau in twee jaar"},
	"arrangements_730d":              {"1 payment plan in the last two years", "1 betalingsregeling in de afgelopen twee jaar"},
	"disputes_365d":                  {"1 dispute in the last year", "1 geschil in het afgelopen jaar"},
	"payment_method_changes_365d":    {"1 payment-method change in the last year", "1 wijziging van betaalwijze in het afgelopen jaar"},
	"contacts_90d":                   {"1 contact in the last 90 days", "1 contactmoment in de afgelopen 90 dagen"},
	"complaints_365d":                {"1 complaint in the last year", "1 klacht in het afgelopen jaar"},
	"last_due_days_late":             {"latest invoice 1 day late", "laatste factuur 1 dag te laat"},
	"days_since_last_on_time":        {"the last invoice paid on time was due 1 day ago", "de laatste op tijd betaalde factuur verviel 1 dag geleden"},
	"days_since_last_address_change": {"moved 1 day ago", "1 dag geleden verhuisd"},
	"invoice_terms_days":             {"payment terms of 1 day", "betaaltermijn van 1 dag"},
}

// categoryNL translates category values that appear in texts.
var categoryNL = map[string]string{
	"direct_debit": "automatische incasso", "bank_transfer": "overboeking", "card": "kaart", "pay_link": "betaallink",
	"consumer": "particuliere", "business": "zakelijke", "online": "online", "offline": "offline",
}

// categoryEN spells category values in English texts.
var categoryEN = map[string]string{
	"direct_debit": "direct debit", "bank_transfer": "bank transfer", "card": "card", "pay_link": "pay link",
}

// Reason returns the stable reason code and a short text in lang ("en" or
// "nl"; others fall back to English) for an attribution, with its value.
// Unknown features get the code OTHER_<NAME> and a generic text.
func Reason(a Attribution, lang string) (code, text string) {
	r, ok := reasons[a.Feature]
	if !ok {
		code = "OTHER_" + strings.ToUpper(a.Feature)
		return code, fmt.Sprintf("%s = %s", a.Feature, formatValue(a, lang))
	}
	tmpl, none := r.en, r.noneEN
	if lang == "nl" {
		tmpl, none = r.nl, r.noneNL
	}
	if a.Category == "" && math.IsNaN(a.Value) {
		if none == "" {
			none = inLang(lang, "unknown: %s", "onbekend: %s")
			return r.code, fill(none, a.Feature)
		}
		return r.code, none
	}
	if one, ok := reasonsOne[a.Feature]; ok && a.Category == "" && a.Value == 1 {
		return r.code, inLang(lang, one[0], one[1])
	}
	if _, count := reasonsOne[a.Feature]; count && a.Category == "" && a.Value == 0 && strings.HasPrefix(r.en, "%s ") && strings.HasPrefix(r.nl, "%s ") {
		// A count of none: "no final notices", "geen aanmaningen".
		return r.code, fill(tmpl, inLang(lang, "no", "geen"))
	}
	return r.code, fill(tmpl, formatValue(a, lang))
}

// inLang returns nl for lang "nl", else en.
func inLang(lang, en, nl string) string {
	if lang == "nl" {
		return nl
	}
	return en
}

// ReasonFor is Reason for an attribution to feature f: an attribute of
// the tenant's own (f.Attribute) is named by its label in lang, with the
// code ATTRIBUTE_<NAME> ("bureau score 640", "income band: low"); any
// other feature as Reason names it. Safe for concurrent use.
func ReasonFor(f *Feature, a Attribution, lang string) (code, text string) {
	if f == nil || f.Attribute == nil {
		return Reason(a, lang)
	}
	code = "ATTRIBUTE_" + strings.ToUpper(f.Name)
	label := f.Attribute.Label.In(lang)
	switch {
	case a.Category == MissingCategory || (a.Category == "" && math.IsNaN(a.Value)):
		return code, label + inLang(lang, " unknown", " onbekend")
	case a.Category != "":
		return code, label + ": " + a.Category
	case a.Value == math.Trunc(a.Value) && math.Abs(a.Value) < 1e15:
		return code, label + " " + strconv.FormatFloat(a.Value, 'f', 0, 64)
	}
	return code, label + " " + strconv.FormatFloat(math.Round(a.Value*100)/100, 'f', -1, 64)
}

// fill puts s in place of the %s of a reason template.
func fill(tmpl, s string) string {
	before, after, ok := strings.Cut(tmpl, "%s")
	if !ok {
		return tmpl
	}
	return before + s + after
}

// formatValue spells a value: categories translated, shares as percent,
// amounts and counts as plain numbers.
func formatValue(a Attribution, lang string) string {
	if a.Category != "" {
		if lang == "nl" {
			if v, ok := categoryNL[a.Category]; ok {
				return v
			}
		} else if v, ok := categoryEN[a.Category]; ok {
			return v
		}
		return a.Category
	}
	v := a.Value
	switch {
	case math.IsNaN(v):
		return inLang(lang, "unknown", "onbekend")
	case strings.Contains(a.Feature, "share") || a.Feature == "credit_utilisation":
		return strconv.FormatFloat(v*100, 'f', 0, 64) + "%"
	case a.Feature == "reminder_stage_30d":
		stages := [2][5]string{{"none", "reminder", "second reminder", "final notice", "collection"},
			{"geen", "herinnering", "tweede herinnering", "aanmaning", "incasso"}}
		k := min(max(int(v), 0), 4)
		return inLang(lang, stages[0][k], stages[1][k])
	case strings.HasPrefix(a.Feature, "payment_day_mean_") || a.Feature == "last_payment_day":
		d := strconv.FormatFloat(math.Abs(v), 'f', 1, 64)
		if math.Abs(v) == math.Trunc(math.Abs(v)) {
			d = strconv.FormatFloat(math.Abs(v), 'f', 0, 64)
		}
		days, dagen := " days", " dagen"
		if d == "1" {
			days, dagen = " day", " dag"
		}
		switch {
		case lang == "nl" && v < 0:
			return d + dagen + " vóór"
		case lang == "nl":
			return d + dagen + " na"
		case v < 0:
			return d + days + " before"
		}
		return d + days + " after"
	case a.Feature == "arrangement_active":
		if v > 0 {
			return inLang(lang, "yes", "ja")
		}
		return inLang(lang, "no", "nee")
	case strings.Contains(a.Feature, "amount") || a.Feature == "credit_limit" || a.Feature == "open_amount":
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// Direction is "increases_risk" for a positive weight and
// "decreases_risk" otherwise.
func Direction(a Attribution) string {
	if a.Weight > 0 {
		return "increases_risk"
	}
	return "decreases_risk"
}
