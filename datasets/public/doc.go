// Package public converts two public datasets into data-contract files so
// the same pipelines run on real data: the UCI "default of credit card
// clients" file (ImportUCI) and the IBM Watson Analytics accounts-receivable
// sample (ImportIBMAR). The mapping, its assumptions and its limits are in
// docs/public-datasets.md. Neither dataset is copied into the repository.
package public
