package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// The charts are drawn as inline SVG by hand: a page that needs no
// script and no library, that prints, and whose every number is in the
// markup (the browser test reads them back).

// Colours: the model, the compared model, and the risk bands A-E.
const (
	colourA = "#1f5fa8"
	colourB = "#c2410c"
)

var bandColours = []string{"#15803d", "#65a30d", "#ca8a04", "#ea580c", "#b91c1c", "#6b7280"}

// palette colours the groups of a chart that are not bands.
var palette = []string{"#1f5fa8", "#c2410c", "#15803d", "#7c3aed", "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#475569"}

type axis struct {
	lo, hi float64
	label  string
	ticks  []float64
	format func(float64) string
}

// mark is one data point drawn as a dot, with an optional vertical error
// bar (lo, hi) and data attributes (pre-escaped).
type mark struct {
	x, y, lo, hi float64
	bar          bool
	attrs        string
}

type series struct {
	name   string
	colour string
	dashed bool
	pts    [][2]float64
	// band is a shaded interval around the line: x, lo, hi.
	band  [][3]float64
	marks []mark
}

type chart struct {
	w, h     int
	x, y     axis
	series   []series
	diagonal bool
	label    string
}

const (
	marginL, marginR, marginT, marginB = 56, 14, 12, 44
	legendRow                          = 16
)

// svg draws the chart.
func (c chart) svg() template.HTML {
	var b strings.Builder
	legendH := legendRow * ((len(c.series) + 1) / 2)
	w, h := c.w, c.h+legendH
	pw, ph := float64(c.w-marginL-marginR), float64(c.h-marginT-marginB)
	px := func(x float64) float64 { return marginL + (clamp(x, c.x.lo, c.x.hi)-c.x.lo)/(c.x.hi-c.x.lo)*pw }
	py := func(y float64) float64 { return marginT + ph - (clamp(y, c.y.lo, c.y.hi)-c.y.lo)/(c.y.hi-c.y.lo)*ph }
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`, w, h, w, h, html.EscapeString(c.label))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="#fff" stroke="#d4d4d8"/>`, marginL, marginT, pw, ph)
	for _, t := range c.x.ticks {
		x := px(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#eee"/>`, x, marginT, x, marginT+ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" class="tick">%s</text>`, x, marginT+ph+14, c.x.format(t))
	}
	for _, t := range c.y.ticks {
		y := py(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`, marginL, y, marginL+pw, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" class="tick">%s</text>`, marginL-5, y+3.5, c.y.format(t))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" class="axis">%s</text>`, marginL+pw/2, marginT+ph+32, html.EscapeString(c.x.label))
	fmt.Fprintf(&b, `<text transform="translate(14 %.1f) rotate(-90)" text-anchor="middle" class="axis">%s</text>`, marginT+ph/2, html.EscapeString(c.y.label))
	if c.diagonal {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9ca3af" stroke-dasharray="4 3"/>`, px(c.x.lo), py(c.y.lo), px(c.x.hi), py(c.y.hi))
	}
	for _, s := range c.series {
		if len(s.band) > 1 {
			var pts []string
			for _, p := range s.band {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p[0]), py(p[2])))
			}
			for i := len(s.band) - 1; i >= 0; i-- {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.band[i][0]), py(s.band[i][1])))
			}
			fmt.Fprintf(&b, `<polygon points="%s" fill="%s" fill-opacity="0.13" stroke="none"/>`, strings.Join(pts, " "), s.colour)
		}
		if len(s.pts) > 1 {
			var pts []string
			for _, p := range s.pts {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p[0]), py(p[1])))
			}
			dash := ""
			if s.dashed {
				dash = ` stroke-dasharray="6 4"`
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`, strings.Join(pts, " "), s.colour, dash)
		}
		for _, m := range s.marks {
			if m.bar {
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`, px(m.x), py(m.lo), px(m.x), py(m.hi), s.colour)
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s" %s/>`, px(m.x), py(m.y), s.colour, m.attrs)
		}
	}
	for i, s := range c.series {
		x := float64(marginL + (i%2)*(c.w-marginL)/2)
		y := float64(c.h + legendRow*(i/2) + 4)
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`, x, y, x+18, y, s.colour, dash)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="legend">%s</text>`, x+23, y+4, html.EscapeString(s.name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// bar is one bar of a horizontal bar chart.
type bar struct {
	label  string
	value  float64
	colour string
	text   string // shown at the bar's end
	attrs  string
}

// barChart draws horizontal bars scaled to top.
func barChart(bars []bar, top float64, w int, label string) template.HTML {
	var b strings.Builder
	const rowH, labelW = 20, 230
	h := rowH*len(bars) + 8
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`, w, h, w, h, html.EscapeString(label))
	pw := float64(w - labelW - 70)
	if top <= 0 {
		top = 1
	}
	for i, br := range bars {
		y := float64(4 + i*rowH)
		bw := math.Max(0, math.Min(1, br.value/top)) * pw
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" class="tick">%s</text>`, labelW-6, y+13, html.EscapeString(br.label))
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="%s" %s/>`, labelW, y+2, bw, rowH-6, br.colour, br.attrs)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="tick">%s</text>`, float64(labelW)+bw+5, y+13, html.EscapeString(br.text))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// ticks returns about n round tick values covering [lo, hi].
func ticks(lo, hi float64, n int) []float64 {
	span := hi - lo
	if !(span > 0) {
		return []float64{lo}
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi+step*1e-9; t += step {
		out = append(out, math.Round(t/step)*step)
	}
	return out
}

// unitAxis is a probability axis from 0 to 1.
func unitAxis(label string) axis {
	return axis{lo: 0, hi: 1, label: label, ticks: ticks(0, 1, 5), format: func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }}
}

// rangeAxis covers [lo, hi] with round ticks.
func rangeAxis(lo, hi float64, label string, decimals int) axis {
	if !(hi > lo) {
		hi = lo + 1
	}
	return axis{lo: lo, hi: hi, label: label, ticks: ticks(lo, hi, 5), format: func(x float64) string { return strconv.FormatFloat(x, 'f', decimals, 64) }}
}

// num formats a number with up to 4 decimals, without trailing zeros.
func num(x float64) string {
	s := strconv.FormatFloat(x, 'f', 4, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// f4 formats a metric as `duewise evaluate` prints it.
func f4(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }

// attr formats data attributes from pairs of names and values.
func attr(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, `data-%s="%s"`, kv[i], html.EscapeString(kv[i+1]))
	}
	return b.String()
}
