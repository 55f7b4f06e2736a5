package model

import (
	"encoding/binary"
	"math"
	"os"
	"testing"
)

func BenchmarkZZRows(b *testing.B) {
	a, err := Read(os.Getenv("IGX_MODEL"))
	if err != nil {
		b.Fatal(err)
	}
	s, _ := NewScorer(a)
	raw, _ := os.ReadFile("/tmp/igx/rows.bin")
	nrows := len(raw) / 4 / s.width
	rows := make([][]float32, nrows)
	for i := range rows {
		rows[i] = make([]float32, s.width)
		for j := range rows[i] {
			rows[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[(i*s.width+j)*4:]))
		}
	}
	sc := s.newIGScratch()
	i := 0
	for b.Loop() {
		s.integratedGradients(rows[i%nrows], sc, nil)
		i++
	}
}
