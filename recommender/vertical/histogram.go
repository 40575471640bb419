package vertical

import (
	"math"
	"time"
	"unsafe"
)

// weight is the storage type of bucket weights: float32 for CPU histograms
// (only ever added to), float64 for memory-peak histograms (peaks are
// subtracted and re-added, which float32 rounding would leave residues of).
type weight interface{ ~float32 | ~float64 }

// maxDecayExponent is how many half-lives the reference time may lag behind
// a sample before it is moved forward (VPA's maxDecayExponent).
const maxDecayExponent = 100

// noRef marks a histogram whose reference time is not set yet.
const noRef = math.MinInt64

// histogram is a decaying exponential histogram with the VPA's semantics. It
// stores only the window of buckets [lo, lo+len(w)) that ever held weight
// instead of all buckets; the bucketing scheme is passed in by the owner so
// it is not stored per histogram.
type histogram[W weight] struct {
	w     []W     // weights of buckets lo .. lo+len(w)-1, relative to ref
	total float64 // total weight, relative to ref
	sum   float64 // sum of weight x value, relative to ref: sum/total is the decaying mean
	ref   int64   // reference time, Unix nanoseconds; noRef when unset
	lo    uint8
}

func newHistogram[W weight]() histogram[W] { return histogram[W]{ref: noRef} }

// add adds value v with weight wt, decayed to time t (Unix nanoseconds).
func (h *histogram[W]) add(s *scheme, v, wt float64, t int64) {
	wt *= h.decayFactor(s, t)
	b := s.bucket(v)
	h.grow(b)
	h.w[b-int(h.lo)] += W(wt)
	h.total += wt
	h.sum += wt * v
}

// subtract removes value v with weight wt decayed to t; weights falling
// below epsilon become zero (VPA's safeSubtract).
func (h *histogram[W]) subtract(s *scheme, v, wt float64, t int64) {
	wt *= h.decayFactor(s, t)
	h.total = safeSubtract(h.total, wt, s.eps)
	h.sum = max(0, h.sum-wt*v)
	if h.total == 0 {
		h.sum = 0
	}
	b := s.bucket(v) - int(h.lo)
	if b >= 0 && b < len(h.w) {
		h.w[b] = W(safeSubtract(float64(h.w[b]), wt, s.eps))
	}
	h.trim(s.eps)
}

func safeSubtract(v, sub, eps float64) float64 {
	v -= sub
	if v < eps {
		return 0
	}
	return v
}

// grow extends the window to include bucket b, allocating exactly.
func (h *histogram[W]) grow(b int) {
	switch {
	case len(h.w) == 0:
		h.w = make([]W, 1)
		h.lo = uint8(b)
	case b < int(h.lo):
		w := make([]W, len(h.w)+int(h.lo)-b)
		copy(w[int(h.lo)-b:], h.w)
		h.w, h.lo = w, uint8(b)
	case b >= int(h.lo)+len(h.w):
		w := make([]W, b-int(h.lo)+1)
		copy(w, h.w)
		h.w = w
	}
}

// trim drops buckets below epsilon from both ends of the window: the VPA
// keeps them but never reads them (they lie outside its min/max bucket).
func (h *histogram[W]) trim(eps float64) {
	i, j := 0, len(h.w)
	for i < j && float64(h.w[i]) < eps {
		i++
	}
	for j > i && float64(h.w[j-1]) < eps {
		j--
	}
	if i == 0 && j == len(h.w) {
		return
	}
	if i == j {
		h.w, h.lo = nil, 0
		return
	}
	w := make([]W, j-i)
	copy(w, h.w[i:j])
	h.w, h.lo = w, h.lo+uint8(i)
}

// decayFactor returns 2^((t-ref)/halfLife), first moving ref forward when t
// is more than maxDecayExponent half-lives past it.
func (h *histogram[W]) decayFactor(s *scheme, t int64) float64 {
	hl := int64(s.halfLife)
	if h.ref == noRef || t-h.ref > hl*maxDecayExponent {
		h.shift(s, t)
	}
	return s.exp2(float64(t-h.ref) / float64(hl))
}

// shift moves the reference time to t rounded to a multiple of the
// half-life (since Go's zero time, as the VPA's time.Round) and rescales the
// weights so percentiles do not change.
func (h *histogram[W]) shift(s *scheme, t int64) {
	ref := time.Unix(0, t).Round(s.halfLife).UnixNano()
	if h.ref != noRef {
		exp := math.Floor(float64(h.ref-ref)/float64(s.halfLife) + 0.5)
		f := math.Ldexp(1, int(exp))
		for i := range h.w {
			h.w[i] *= W(f)
		}
		h.total *= f
		h.sum *= f
		h.trim(s.eps)
	}
	h.ref = ref
}

// bounds returns the window indexes of the lowest and highest buckets with
// weight >= epsilon (the VPA's minBucket/maxBucket); ok is false when the
// histogram is empty.
func (h *histogram[W]) bounds(eps float64) (lo, hi int, ok bool) {
	lo, hi = 0, len(h.w)-1
	for lo <= hi && float64(h.w[lo]) < eps {
		lo++
	}
	for hi >= lo && float64(h.w[hi]) < eps {
		hi--
	}
	return lo, hi, lo <= hi
}

func (h *histogram[W]) isEmpty(eps float64) bool {
	_, _, ok := h.bounds(eps)
	return !ok
}

// percentile returns the end of the bucket where the cumulative weight
// reaches p * total (the start of the last bucket for the last one), 0 when
// the histogram is empty: the VPA's Percentile.
func (h *histogram[W]) percentile(s *scheme, p float64) float64 {
	lo, hi, ok := h.bounds(s.eps)
	if !ok {
		return 0
	}
	threshold := p * h.total
	sum := 0.0
	i := lo
	for ; i < hi; i++ {
		sum += float64(h.w[i])
		if sum >= threshold {
			break
		}
	}
	b := int(h.lo) + i
	if b < s.n-1 {
		return s.starts[b+1]
	}
	return s.starts[b]
}

// mean is the decaying weighted mean of the values added, 0 when empty.
func (h *histogram[W]) mean() float64 {
	if h.total <= 0 {
		return 0
	}
	return h.sum / h.total
}

// size is the bytes this histogram occupies: the struct and the capacity of
// its weight slice.
func (h *histogram[W]) size() int {
	var zero W
	return int(unsafe.Sizeof(*h)) + cap(h.w)*int(unsafe.Sizeof(zero))
}
