package datasets

import "strings"

// protected are name fragments of attributes that must never be model
// inputs: sex, age, marital status, education, ethnicity, religion,
// nationality and their usual spellings in public credit data
// (ForeignWorker of the German credit data stands for nationality).
var protected = []string{"sex", "gender", "age", "birth", "marriage", "marital", "education", "ethnic", "religion", "nationality",
	"foreignworker", "foreign_worker"}

// protectedGroups are one-hot groups (the part of "Group.Level" before the
// first dot, R's naming of dummy columns) that encode a protected
// attribute without naming it: "Personal.Male.Single" of the German credit
// data combines sex and marital status. Only the group is matched, so a
// column such as personal_loan_amount is not refused.
var protectedGroups = []string{"personal"}

// Protected reports whether the column name looks like a protected
// attribute and returns the fragment it matched. A name matches when,
// lower-cased, it equals a fragment, starts with fragment+"_", ends with
// "_"+fragment, or its one-hot group (before the first '.') does
// ("Age", "customer_age", "sex_code", "Education.University",
// "Personal.Female.Single", "ForeignWorker"); "Purpose.Education" (the
// loan's purpose) and "page_views" do not. Package training refuses such
// columns as inputs and the applications import leaves them out.
func Protected(name string) (string, bool) {
	low := strings.ToLower(strings.TrimSpace(name))
	group, _, _ := strings.Cut(low, ".")
	for _, p := range protected {
		if low == p || strings.HasPrefix(low, p+"_") || strings.HasSuffix(low, "_"+p) || group == p {
			return p, true
		}
	}
	for _, p := range protectedGroups {
		if group == p && group != low {
			return p, true
		}
	}
	return "", false
}
