package synth

// The simulator's parameters. docs/synthetic-world.md explains them; keep
// the two in step.

// archetype is a customer's fixed payment personality.
type archetype int

const (
	reliable archetype = iota
	forgetful
	lifeEvent
	chronic
	business
	numArchetypes
)

var archetypeNames = [numArchetypes]string{"reliable", "forgetful", "life_event", "chronic", "business"}

// archetypeShare is the share of customers per archetype.
var archetypeShare = [numArchetypes]float64{0.50, 0.18, 0.16, 0.06, 0.10}

// state is a customer's hidden financial state in a month.
type state int

const (
	healthy state = iota
	strained
	hardship
	moving
	recovering
	chronicState
	numStates
)

var stateNames = [numStates]string{"healthy", "strained", "hardship", "moving", "recovering", "chronic"}

// stateLogit is the base log-odds that the month's invoice goes 30+ days
// unpaid past due, per state.
var stateLogit = [numStates]float64{-4.5, -2.0, -0.7, -1.7, -2.6, -0.4}

// archetypeLogit shifts the log-odds per archetype.
var archetypeLogit = [numArchetypes]float64{-0.5, 0.6, 0, 0, -0.3}

// monthLogit shifts the log-odds per calendar month (index 1..12):
// December (holiday spending) and January worst, summer holidays a little.
var monthLogit = [13]float64{0, 0.25, 0, 0, 0, 0, 0, 0.15, 0.15, 0, 0, 0, 0.5}

// Log-odds effects of observable customer attributes.
const (
	offlineLogit     = 0.3  // offline customers miss more mail and pay links
	newCustomerLogit = 0.35 // first 180 days of the relationship
	arrearsLogit     = 0.9  // an earlier invoice is still 30+ days unpaid
	amountLogit      = 0.35 // per unit of log(amount / segment median), clipped to +-1
)

var methodLogit = map[string]float64{"direct_debit": -0.35, "card": -0.15, "bank_transfer": 0.2, "pay_link": 0.1}

var countryLogit = map[string]float64{"NL": 0, "BE": 0.1, "DE": -0.15}

// segment is a line of business with its typical monthly amount.
type segment struct {
	name   string
	share  float64
	median float64 // monthly amount, EUR
	logit  float64
}

var segments = []segment{
	{"energy", 0.35, 140, -0.1},
	{"telecom", 0.30, 45, 0.15},
	{"insurance", 0.20, 80, -0.25},
	{"publishing", 0.15, 22, 0.35},
}

// onTime is the probability that an invoice which does not go 30+ days
// unpaid is paid by its due date, per archetype, times stateOnTime.
var onTime = [numArchetypes]float64{0.97, 0.35, 0.95, 0.45, 0.82}

var stateOnTime = [numStates]float64{1, 0.75, 0.55, 0.7, 0.85, 1}

// leadMin..leadMax is the range of a customer's habitual lead: the days
// before the due date on which they pay an invoice by transfer or pay
// link when nothing is wrong (drawn once per customer, +-1 day per
// invoice). Under strain, hardship or a move the money comes at the last
// moment (0..1 days early); see daysEarly.
var (
	leadMin = [numArchetypes]int{2, 0, 2, 0, 2}
	leadMax = [numArchetypes]int{8, 2, 8, 2, 8}
)

// A late payer (of an invoice paid within 30 days) pays after the first
// reminder with probability firstReminderPays x stateReminderPays, else
// after the second: a nudge is enough for the forgetful, not for a
// customer who is short of money.
var (
	firstReminderPays = [numArchetypes]float64{0.6, 1, 0.6, 0.6, 0.6}
	stateReminderPays = [numStates]float64{1, 0.6, 0.35, 0.8, 0.8, 1}
)

// refundShare is the probability, per state, that a direct debit which
// was collected is refunded on the debtor's request (MD06, SEPA Core's
// 8-week no-questions refund) a few days later, and the invoice then paid
// by transfer after a reminder: a way to free cash that customers in
// payment trouble use.
var refundShare = [numStates]float64{0.002, 0.12, 0.25, 0.05, 0.06, 0.15}

// partialShare is the probability that a late bank-transfer payment
// comes in two parts, per state: paying what one can is a liquidity sign.
var partialShare = [numStates]float64{0.10, 0.30, 0.45, 0.15, 0.25, 0.25}

// A planned move (the "moving house" life event) is reported ahead with
// probability movedAhead, movedAheadMin..movedAheadMax days before the
// move's trace date.
const (
	movedAhead                   = 0.6
	movedAheadMin, movedAheadMax = 7, 35
)

// Monthly transition probabilities of the hidden state outside life events.
var toStrained = [numArchetypes]float64{0.008, 0.015, 0.008, 0, 0.012}

const (
	strainedToHealthy    = 0.22
	strainedToHardship   = 0.05
	hardshipToRecovering = 0.25
	recoveringToHealthy  = 0.35
	recoveringToStrained = 0.05
)

// monthStrain multiplies toStrained per calendar month.
var monthStrain = [13]float64{0, 1.3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.6}

// Life events of the life_event archetype: what happens, how long the
// trouble lasts (months, min..max) and the recovery after it.
type lifeKind struct {
	name           string
	share          float64
	state          state
	minDur, maxDur int
}

var lifeKinds = []lifeKind{
	{"moving house", 0.35, moving, 1, 2},
	{"job loss", 0.25, hardship, 3, 9},
	{"divorce", 0.20, hardship, 2, 6},
	{"illness", 0.20, hardship, 2, 8},
}

// Mechanisms by which an invoice stays 30+ days unpaid, with their
// probabilities per state.
type mechanism int

const (
	latePay mechanism = iota // pays after the final notice
	arrangement
	collection
	never
	longDispute
	numMechanisms
)

var mechanismShare = [numStates][numMechanisms]float64{
	healthy:      {0.40, 0.05, 0.15, 0.05, 0.35},
	strained:     {0.45, 0.25, 0.20, 0.05, 0.05},
	hardship:     {0.25, 0.45, 0.22, 0.05, 0.03},
	moving:       {0.55, 0.10, 0.30, 0.02, 0.03},
	recovering:   {0.50, 0.20, 0.20, 0.05, 0.05},
	chronicState: {0.15, 0.15, 0.45, 0.20, 0.05},
}

// arrangementKept is the probability that an arrangement is kept, per state.
var arrangementKept = [numStates]float64{0.8, 0.6, 0.65, 0.75, 0.8, 0.2}

// Probability that a collection agency recovers the money of a claim
// handed over at the standard age (standardHandOverDays); an earlier or
// later hand-over scales it by the claim's remaining value (claimLost).
var collected = [numStates]float64{0.6, 0.6, 0.55, 0.7, 0.6, 0.4}

// Monthly probability of leaving (contract ended: no more invoices).
const (
	leaveBase       = 0.006
	leaveCollection = 0.03 // extra after an invoice went to collection
	leaveChronic    = 0.02 // extra for chronic non-payers
)

// Monthly probabilities of events that carry no information about payment
// trouble (noise every real CRM has).
const (
	noiseMove      = 0.004
	noiseContact   = 0.015
	noiseContract  = 0.005
	noiseComplaint = 0.003
	noiseMethod    = 0.002
	quickDispute   = 0.004 // a dispute on an invoice that is still paid within 30 days
)

// The standard policy's dunning days after the due date (issue 16: the
// same for every late payer).
const (
	standardReminder       = 7
	standardSecondReminder = 21
	standardFinalNotice    = 35 // the Dutch 14-day letter
	standardHandOver       = 50 // collection
)

// noneHandOver is when the none policy hands a claim over: it never
// contacts the customer.
const noneHandOver = 90

// A late payer who responds to a nudge pays nudgeMin..nudgeMax days after
// the first one (a reminder, a call, a follow-up); unprompted they pay on
// their own day: selfMin..selfMax days after the due date, later for the
// forgetful, who mostly pay when reminded.
var (
	selfMin = [numArchetypes]int{4, 12, 4, 4, 4}
	selfMax = [numArchetypes]int{28, 45, 28, 28, 28}
)

const (
	nudgeMin, nudgeMax = 1, 6
	// A customer short of money pays moneyMin..moneyMax days after the
	// due date, when the money comes (after the standard second reminder).
	moneyMin, moneyMax = 22, 26
	// A pressed payer (the late-pay mechanism) pays pressMin..pressMax days
	// after the first firm step: the 14-day letter, the hand-over or the
	// announced stop of service.
	pressMin, pressMax = 3, 14
)

// claimDecay is the share of an overdue claim's value lost with its age
// in months: 13% at 3 months, 36% at 6, 57% at a year, 91% at two (the
// figures collection agencies publish; the same curve as duewise's default
// policy, serving/policy/default.yaml, which is the creditor's belief and
// may differ from this world's truth in a user's policy file).
var claimDecay = [][2]float64{{3, 0.13}, {6, 0.36}, {12, 0.57}, {24, 0.91}}

// claimLost interpolates claimDecay at an age in days (0 at 0 days; flat
// after the last point).
func claimLost(days float64) float64 {
	if days <= 0 {
		return 0
	}
	m := days / 30.4375
	pm, pl := 0.0, 0.0
	for _, p := range claimDecay {
		if m <= p[0] {
			return pl + (p[1]-pl)*(m-pm)/(p[0]-pm)
		}
		pm, pl = p[0], p[1]
	}
	return pl
}

// writeOffDays is how long a collection agency works a claim before it
// gives up and the creditor writes it off (assumption).
const writeOffDays = 180

// loyalTenureDays is the tenure from which a customer counts as loyal: a
// loyal customer who slipped once reacts to a standard dunning letter by
// leaving more often (Effects.DunningLeave).
const loyalTenureDays = 730

// The hidden payday of a customer (day of the month their income arrives),
// for the timing of debit retries: 25th 55%, 1st 25%, 15th 10%, 20th 10%
// (assumption: monthly salaries in the Netherlands are mostly paid around
// the 25th).
var (
	paydays     = []int{25, 1, 15, 20}
	paydayShare = []float64{0.55, 0.25, 0.10, 0.10}
)
