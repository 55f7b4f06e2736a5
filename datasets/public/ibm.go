package public

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	rf "github.com/duewise/duewise/datasets/rowfile"
)

// IBMCountries maps the IBM sample's numeric countryCode to the country
// column. The codes are not ISO 3166 numeric codes and the sample does not
// say which countries they are, so they map to ISO 3166 user-assigned
// alpha-2 codes (XA..XE): distinct, stable, and never mistaken for a real
// country.
var IBMCountries = map[string]string{"391": "XA", "406": "XB", "770": "XC", "818": "XD", "897": "XE"}

var ibmColumns = []string{"countryCode", "customerID", "PaperlessDate", "invoiceNumber", "InvoiceDate",
	"DueDate", "InvoiceAmount", "Disputed", "SettledDate", "PaperlessBill"}

type ibmInvoice struct {
	inv       rf.Invoice
	settled   rf.Date
	disputed  bool
	paperless bool
	country   string
	switchAt  rf.Date // PaperlessDate
}

// ImportIBMAR converts the IBM Watson Analytics accounts-receivable sample
// (WA_Fn-UseC_-Accounts-Receivable.csv) at path into contract CSV files in
// outDir with the given tenant: customers, invoices (USD), one payment per
// invoice at its settled date, disputes for Disputed=Yes and a
// contract_change event when a customer switched to paperless billing. See
// docs/public-datasets.md for the assumptions. It is safe for concurrent use
// with different outDirs.
func ImportIBMAR(ctx context.Context, path, tenant, outDir string) (Result, error) {
	src, err := openSource(path, ibmColumns)
	if err != nil {
		return Result{}, fmt.Errorf("import ibm-ar: %w", err)
	}
	defer src.close()
	var all []ibmInvoice
	_, err = src.each(ctx, func() error {
		r, err := ibmRow(src)
		all = append(all, r)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("import ibm-ar: %w", err)
	}
	if len(all) == 0 {
		return Result{}, fmt.Errorf("import ibm-ar: %s: no data rows", path)
	}
	// Customer by customer, invoices in date order (then number).
	slices.SortStableFunc(all, func(a, b ibmInvoice) int {
		if a.inv.CustomerID != b.inv.CustomerID {
			return cmp.Compare(a.inv.CustomerID, b.inv.CustomerID)
		}
		if a.inv.IssuedAt != b.inv.IssuedAt {
			return int(a.inv.IssuedAt - b.inv.IssuedAt)
		}
		return cmp.Compare(a.inv.ID, b.inv.ID)
	})
	var b rf.Batch
	for i, r := range all {
		first := i == 0 || all[i-1].inv.CustomerID != r.inv.CustomerID
		if first {
			b.Customers = append(b.Customers, rf.Customer{
				ID: r.inv.CustomerID, CreatedAt: r.inv.IssuedAt, Type: "business", Segment: "unknown",
				Channel: channel(r.paperless), PaymentMethod: "bank_transfer", Country: r.country,
				MonthlyAmount: r.inv.Amount, CreditLimit: rf.NoCents,
			})
		}
		if !first && r.paperless && !all[i-1].paperless {
			// At PaperlessDate, kept between the last paper and the first
			// electronic invoice.
			at := min(max(r.switchAt, all[i-1].inv.IssuedAt+1), r.inv.IssuedAt)
			b.CustomerEvents = append(b.CustomerEvents, rf.CustomerEvent{
				ID: r.inv.CustomerID + "-paperless", CustomerID: r.inv.CustomerID, OccurredAt: at.At(9, 0, 0),
				Kind: "contract_change", Detail: "switched to paperless billing",
			})
		}
		b.Invoices = append(b.Invoices, r.inv)
		paidAt := r.settled.At(12, 0, 0)
		b.Payments = append(b.Payments, rf.Payment{
			InvoiceRef: rf.InvoiceRef{ID: r.inv.ID + "-P", InvoiceID: r.inv.ID, CustomerID: r.inv.CustomerID}, PaidAt: paidAt,
			Amount: r.inv.Amount, Method: method(r.paperless),
		})
		if r.disputed {
			// The source only says the invoice was disputed. Assume it was
			// raised halfway between invoice and settlement, and resolved
			// for the creditor when the invoice was paid in full.
			open := r.inv.IssuedAt + (r.settled-r.inv.IssuedAt)/2
			b.Disputes = append(b.Disputes, rf.Dispute{
				InvoiceRef: rf.InvoiceRef{ID: r.inv.ID + "-D", InvoiceID: r.inv.ID, CustomerID: r.inv.CustomerID},
				OpenedAt:   open.At(9, 0, 0), ResolvedAt: paidAt, Outcome: "creditor",
			})
		}
	}
	rows, files, err := write(outDir, tenant, nil, &b)
	if err != nil {
		return Result{}, fmt.Errorf("import ibm-ar: %w", err)
	}
	return Result{Source: path, SourceRows: len(all), Rows: rows, Files: files}, nil
}

func ibmRow(src *source) (ibmInvoice, error) {
	var r ibmInvoice
	date := func(col string) (rf.Date, error) {
		v := src.str(col)
		t, err := time.Parse("1/2/2006", v)
		if err != nil {
			return 0, src.errf(col, "%q is not a M/D/YYYY date", v)
		}
		return rf.DateOf(t), nil
	}
	var err error
	r.country = IBMCountries[src.str("countryCode")]
	if r.country == "" {
		return r, src.errf("countryCode", "unknown code %q (known: 391, 406, 770, 818, 897)", src.str("countryCode"))
	}
	r.inv.CustomerID = src.str("customerID")
	if r.inv.CustomerID == "" {
		return r, src.errf("customerID", "empty")
	}
	r.inv.ID = src.str("invoiceNumber")
	if r.inv.ID == "" {
		return r, src.errf("invoiceNumber", "empty")
	}
	if r.inv.IssuedAt, err = date("InvoiceDate"); err != nil {
		return r, err
	}
	if r.inv.DueAt, err = date("DueDate"); err != nil {
		return r, err
	}
	if r.inv.DueAt < r.inv.IssuedAt {
		return r, src.errf("DueDate", "before InvoiceDate")
	}
	if r.settled, err = date("SettledDate"); err != nil {
		return r, err
	}
	if r.settled < r.inv.IssuedAt {
		return r, src.errf("SettledDate", "before InvoiceDate")
	}
	if r.switchAt, err = date("PaperlessDate"); err != nil {
		return r, err
	}
	amt, err := src.float("InvoiceAmount")
	if err != nil {
		return r, err
	}
	if r.inv.Amount = rf.CentsOf(amt); r.inv.Amount <= 0 {
		return r, src.errf("InvoiceAmount", "%v is not positive", amt)
	}
	r.inv.Currency = "USD"
	if r.disputed, err = src.choice("Disputed", "Yes", "No"); err != nil {
		return r, err
	}
	if r.paperless, err = src.choice("PaperlessBill", "Electronic", "Paper"); err != nil {
		return r, err
	}
	return r, nil
}

func channel(paperless bool) string {
	if paperless {
		return "online"
	}
	return "offline"
}

// method is how a bill was paid: from the e-invoice's pay link when
// paperless, by bank transfer otherwise (an assumption: the sample has no
// payment method).
func method(paperless bool) string {
	if paperless {
		return "pay_link"
	}
	return "bank_transfer"
}
