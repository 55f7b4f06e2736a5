package policy

// sepaReasons explains the SEPA R-transaction reason codes a failed or
// reversed direct debit carries (EPC guidance on reason codes), in English
// and Dutch, so that a follow-up can tell the customer why the debit
// failed in plain words.
var sepaReasons = map[string][2]string{
	"AC01": {"the account number is wrong", "het rekeningnummer klopt niet"},
	"AC04": {"the account has been closed", "de rekening is opgeheven"},
	"AC06": {"the account is blocked", "de rekening is geblokkeerd"},
	"AC13": {"the account is not a consumer account", "de rekening is geen particuliere rekening"},
	"AG01": {"the bank does not allow direct debits on this account", "de bank staat geen incasso's toe op deze rekening"},
	"AG02": {"the bank rejected the transaction code", "de bank weigerde de transactiecode"},
	"AM04": {"there was not enough money on the account", "er stond niet genoeg saldo op de rekening"},
	"AM05": {"the debit was a duplicate", "de incasso was dubbel"},
	"BE05": {"the creditor was not recognised", "de incassant werd niet herkend"},
	"CNOR": {"the creditor's bank is not reachable", "de bank van de incassant is niet bereikbaar"},
	"DNOR": {"the customer's bank is not reachable", "de bank van de klant is niet bereikbaar"},
	"FF01": {"the file format was invalid", "het bestandsformaat was ongeldig"},
	"MD01": {"there is no valid mandate", "er is geen geldige machtiging"},
	"MD02": {"mandate data is missing or wrong", "machtigingsgegevens ontbreken of kloppen niet"},
	"MD06": {"the customer asked the bank for a refund", "de klant heeft de bank om terugboeking gevraagd"},
	"MD07": {"the account holder has died", "de rekeninghouder is overleden"},
	"MS02": {"the customer refused the debit", "de klant heeft de incasso geweigerd"},
	"MS03": {"the bank gave no reason", "de bank gaf geen reden"},
	"RC01": {"the bank identifier (BIC) is wrong", "de bankcode (BIC) klopt niet"},
	"RR01": {"regulatory reasons: account holder details missing", "wettelijke reden: gegevens rekeninghouder ontbreken"},
	"RR02": {"regulatory reasons: name or address missing", "wettelijke reden: naam of adres ontbreekt"},
	"RR03": {"regulatory reasons: creditor details missing", "wettelijke reden: gegevens incassant ontbreken"},
	"RR04": {"regulatory reasons", "wettelijke reden"},
	"SL01": {"the customer's bank blocked debits from this creditor", "de bank van de klant blokkeert incasso's van deze incassant"},
}

// SEPAReason returns the plain-language meaning of a SEPA reason code in
// lang ("en" or "nl") and whether the code is known.
func SEPAReason(code, lang string) (string, bool) {
	r, ok := sepaReasons[code]
	if !ok {
		if lang == "nl" {
			return "reden onbekend", false
		}
		return "reason not known", false
	}
	if lang == "nl" {
		return r[1], true
	}
	return r[0], true
}
