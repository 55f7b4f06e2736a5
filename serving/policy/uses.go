package policy

// Uses reports whether a behaviour or invoice rule (or one of its actions'
// own conditions) tests the signal called name: a caller that scores many
// customers can skip what no rule reads, such as the model's reasons
// (package simulation scores without explanations unless a rule tests
// "reasons"). Safe for concurrent use.
func (p *Policy) Uses(name string) bool {
	in := func(c *Condition) bool {
		if c == nil {
			return false
		}
		for _, g := range [][]Predicate{c.All, c.Any, c.None} {
			for i := range g {
				if g[i].Signal == name {
					return true
				}
			}
		}
		return false
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		if in(&r.When) {
			return true
		}
		for k := range r.Actions {
			if in(r.Actions[k].If) {
				return true
			}
		}
	}
	return false
}
