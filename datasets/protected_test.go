package datasets

import "testing"

func TestProtected(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string // "" = not protected
	}{
		{"Age", "age"},
		{"customer_age", "age"},
		{"age_band", "age"},
		{"SEX", "sex"},
		{"MARRIAGE", "marriage"},
		{"EDUCATION", "education"},
		{"Education.University", "education"},
		{"ForeignWorker", "foreignworker"},
		{"foreign_worker", "foreign_worker"},
		{"Personal.Male.Single", "personal"},
		{"Personal.Female.NotSingle", "personal"},
		{"nationality", "nationality"},
		{"Purpose.Education", ""},
		{"page_views", ""},
		{"usage", ""},
		{"personal_loan_amount", ""},
		{"Personal", ""},
		{"Duration", ""},
		{"Housing.Own", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Protected(tc.name)
			if ok != (tc.want != "") || got != tc.want {
				t.Fatalf("Protected(%q) = %q, %v; want %q", tc.name, got, ok, tc.want)
			}
		})
	}
}
