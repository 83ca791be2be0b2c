package storeutil

import "testing"

// Windows spread over the id span, never read a row twice, and scale the
// share of matches to the scope's rows.
func TestSamplerEstimate(t *testing.T) {
	s := Sampler{Windows: 4, Rows: 10}
	// Live ids 1..1000, every tenth matches.
	var starts []int64
	n, err := s.Estimate(1000, 1, 1000, func(from int64, limit int) (read, hits, last int64, err error) {
		starts = append(starts, from)
		for id := from; id < from+int64(limit) && id <= 1000; id++ {
			read, last = read+1, id
			if id%10 == 0 {
				hits++
			}
		}
		return read, hits, last, nil
	})
	if err != nil || n != 100 || len(starts) != 4 || starts[0] != 1 || starts[3] != 751 {
		t.Fatalf("estimate %d, windows at %v", n, starts)
	}
	// Sparse ids: a window reads on past the next one's start, which then
	// begins after it.
	ids := []int64{1, 2, 3, 900, 901, 902, 903, 904}
	starts = nil
	n, _ = s.Estimate(int64(len(ids)), 1, 904, func(from int64, limit int) (read, hits, last int64, err error) {
		starts = append(starts, from)
		for _, id := range ids {
			if id >= from && read < int64(limit) {
				read, hits, last = read+1, hits+1, id
			}
		}
		return read, hits, last, nil
	})
	if n != int64(len(ids)) || len(starts) != 1 {
		t.Fatalf("sparse: estimate %d, windows at %v", n, starts)
	}
	if !s.Covers(40) || s.Covers(41) {
		t.Fatal("Covers is not windows × rows")
	}
}
