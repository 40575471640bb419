package vertical

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"time"
)

// Checkpoint format. All integers are varints (signed: zig-zag) unless said;
// floats are little-endian IEEE 754.
//
//	magic "EBBV", version byte
//	v2: varint savedAt (Unix ns), uvarint CPU bucket count, uvarint memory bucket count
//	uvarint container count, then per container, sorted by name:
//	  uvarint name length, name
//	  v2: varint created (Unix ns)
//	  varint first, varint last (Unix ns), uvarint CPU sample count
//	  CPU histogram, memory histogram:
//	    byte flags (bit 0: reference time set), [varint ref (Unix ns)]
//	    float64 total, v2: float64 sum
//	    byte lo, uvarint n, n x float32 weights of buckets lo .. lo+n-1
//	v2: uint32 CRC-32 (IEEE) of everything before it
//
// v1 is the first, frozen encoding (no savedAt, bucket counts, created, sum
// or CRC); Decode still reads it.
const (
	checkpointMagic   = "EBBV"
	checkpointVersion = 2
	// MaxCheckpointBytes bounds an encoded checkpoint so that its base64
	// form fits a 1 MiB ConfigMap.
	MaxCheckpointBytes = 768 << 10
	maxNameLen         = 253
)

// Encode serializes the aggregates of one workload with the time it was
// taken. It fails when the result would exceed MaxCheckpointBytes.
func Encode(savedAt time.Time, states map[string]*Aggregate) ([]byte, error) {
	names := make([]string, 0, len(states))
	var cfg *Config
	for n, a := range states {
		if a == nil {
			return nil, fmt.Errorf("encode checkpoint: container %q: nil aggregate", n)
		}
		if len(n) == 0 || len(n) > maxNameLen {
			return nil, fmt.Errorf("encode checkpoint: container name %q: length %d not in [1, %d]", n, len(n), maxNameLen)
		}
		cfg = a.cfg
		names = append(names, n)
	}
	slices.Sort(names)
	b := append([]byte(checkpointMagic), checkpointVersion)
	b = binary.AppendVarint(b, savedAt.UnixNano())
	cpuN, memN := 0, 0
	if cfg != nil {
		cpuN, memN = cfg.cpu.n, cfg.mem.n
	}
	b = binary.AppendUvarint(b, uint64(cpuN))
	b = binary.AppendUvarint(b, uint64(memN))
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		a := states[n]
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
		b = binary.AppendVarint(b, a.created)
		b = binary.AppendVarint(b, a.first)
		b = binary.AppendVarint(b, a.last)
		b = binary.AppendUvarint(b, uint64(a.samples))
		b = appendHistogram(b, &a.cpu, true)
		b = appendHistogram(b, &a.mem, true)
		if len(b) > MaxCheckpointBytes {
			return nil, fmt.Errorf("encode checkpoint: more than %d bytes after %d of %d containers", MaxCheckpointBytes, slices.Index(names, n)+1, len(names))
		}
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	if len(b) > MaxCheckpointBytes {
		return nil, fmt.Errorf("encode checkpoint: %d bytes exceed %d", len(b), MaxCheckpointBytes)
	}
	return b, nil
}

func appendHistogram[W weight](b []byte, h *histogram[W], withSum bool) []byte {
	if h.ref == noRef {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendVarint(b, h.ref)
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.total))
	if withSum {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.sum))
	}
	b = append(b, h.lo)
	b = binary.AppendUvarint(b, uint64(len(h.w)))
	for _, w := range h.w {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(w)))
	}
	return b
}

// Decode restores the aggregates and the save time of a checkpoint written
// by Encode (version 2) or by the version 1 encoder. Corrupt or truncated
// input is an error naming the field and byte offset.
func Decode(cfg *Config, data []byte) (savedAt time.Time, states map[string]*Aggregate, err error) {
	if cfg == nil {
		return time.Time{}, nil, errors.New("decode checkpoint: nil Config")
	}
	if len(data) > MaxCheckpointBytes {
		return time.Time{}, nil, fmt.Errorf("decode checkpoint: %d bytes exceed %d", len(data), MaxCheckpointBytes)
	}
	if len(data) < len(checkpointMagic)+1 || string(data[:len(checkpointMagic)]) != checkpointMagic {
		return time.Time{}, nil, errors.New("decode checkpoint: missing magic \"EBBV\"")
	}
	version := data[len(checkpointMagic)]
	body := data
	switch version {
	case 1:
	case 2:
		if len(data) < len(checkpointMagic)+1+4 {
			return time.Time{}, nil, errors.New("decode checkpoint: truncated before the CRC")
		}
		body = data[:len(data)-4]
		want := binary.LittleEndian.Uint32(data[len(data)-4:])
		if got := crc32.ChecksumIEEE(body); got != want {
			return time.Time{}, nil, fmt.Errorf("decode checkpoint: CRC mismatch: computed %08x, stored %08x", got, want)
		}
	default:
		return time.Time{}, nil, fmt.Errorf("decode checkpoint: unsupported version %d (want 1 or 2)", version)
	}
	r := &reader{b: body, off: len(checkpointMagic) + 1}
	savedAt, states = decodeBody(cfg, r, version)
	if r.err == nil && r.off != len(r.b) {
		r.fail("end", fmt.Errorf("%d trailing bytes", len(r.b)-r.off))
	}
	if r.err != nil {
		return time.Time{}, nil, fmt.Errorf("decode checkpoint v%d: %w", version, r.err)
	}
	return savedAt, states, nil
}

func decodeBody(cfg *Config, r *reader, version byte) (time.Time, map[string]*Aggregate) {
	var savedAt time.Time
	if version >= 2 {
		savedAt = time.Unix(0, r.time("savedAt"))
		if n := r.uvarint("CPU bucket count"); r.err == nil && n != uint64(cfg.cpu.n) {
			r.fail("CPU bucket count", fmt.Errorf("%d, config has %d", n, cfg.cpu.n))
		}
		if n := r.uvarint("memory bucket count"); r.err == nil && n != uint64(cfg.mem.n) {
			r.fail("memory bucket count", fmt.Errorf("%d, config has %d", n, cfg.mem.n))
		}
	}
	count := r.uvarint("container count")
	if r.err == nil && count > uint64(len(r.b)-r.off) { // every container takes more than a byte
		r.fail("container count", fmt.Errorf("%d exceeds the %d bytes left", count, len(r.b)-r.off))
	}
	states := map[string]*Aggregate{}
	for i := uint64(0); r.err == nil && i < count; i++ {
		name := r.name()
		if _, dup := states[name]; dup && r.err == nil {
			r.fail("container name", fmt.Errorf("%q repeated", name))
		}
		a := &Aggregate{cfg: cfg, cpu: newHistogram[float32](), mem: newHistogram[float64]()}
		if version >= 2 {
			a.created = r.time("created")
		}
		a.first, a.last = r.time("first sample"), r.time("last sample")
		if version < 2 {
			a.created = a.first
		}
		a.samples = int64(min(r.uvarint("sample count"), math.MaxInt32))
		if r.err == nil && a.samples > 0 && a.first > a.last {
			r.fail("first sample", fmt.Errorf("%s after last sample %s", time.Unix(0, a.first).UTC(), time.Unix(0, a.last).UTC()))
		}
		readHistogram(r, &a.cpu, &cfg.cpu, "container "+name+" CPU histogram", version >= 2)
		readHistogram(r, &a.mem, &cfg.mem, "container "+name+" memory histogram", version >= 2)
		states[name] = a
	}
	return savedAt, states
}

func readHistogram[W weight](r *reader, h *histogram[W], s *scheme, what string, withSum bool) {
	flags := r.byte(what + " flags")
	switch {
	case r.err != nil:
		return
	case flags == 1:
		h.ref = r.time(what + " reference time")
	case flags != 0:
		r.fail(what+" flags", fmt.Errorf("unknown bits %#x", flags))
		return
	}
	h.total = r.float64(what + " total")
	if withSum {
		h.sum = r.float64(what + " sum")
	}
	lo := int(r.byte(what + " first bucket"))
	n := r.uvarint(what + " bucket count")
	if r.err == nil && uint64(lo)+n > uint64(s.n) {
		r.fail(what+" buckets", fmt.Errorf("%d from %d exceed the %d buckets", n, lo, s.n))
	}
	if r.err != nil {
		return
	}
	h.lo = uint8(lo)
	if n > 0 {
		h.w = make([]W, n)
	}
	for i := range h.w {
		h.w[i] = W(r.float32(what + " weight"))
	}
	if !withSum && r.err == nil { // v1: estimate the mean from bucket midpoints
		for i, w := range h.w {
			b := lo + i
			hi := s.starts[min(b+1, s.n-1)]
			h.sum += float64(w) * (s.starts[b] + hi) / 2
		}
	}
}

// reader decodes fields, remembering the first error with its field name
// and offset.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(field string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%s at byte %d: %w", field, r.off, err)
	}
}

func (r *reader) uvarint(field string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail(field, errors.New("truncated or overlong varint"))
		return 0
	}
	r.off += n
	return v
}

func (r *reader) time(field string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail(field, errors.New("truncated or overlong varint"))
		return 0
	}
	if v < minSampleTime.UnixNano() || v > maxSampleTime.UnixNano() {
		r.fail(field, fmt.Errorf("%d ns outside [1970, 2200]", v))
		return 0
	}
	r.off += n
	return v
}

func (r *reader) byte(field string) byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail(field, errors.New("truncated"))
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *reader) name() string {
	n := r.uvarint("container name length")
	if r.err == nil && (n == 0 || n > maxNameLen || n > uint64(len(r.b)-r.off)) {
		r.fail("container name length", fmt.Errorf("%d not in [1, %d] or past the end", n, maxNameLen))
	}
	if r.err != nil {
		return ""
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s
}

func (r *reader) float64(field string) float64 {
	if r.err != nil {
		return 0
	}
	if len(r.b)-r.off < 8 {
		r.fail(field, errors.New("truncated"))
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b[r.off:]))
	if !(v >= 0) || math.IsInf(v, 0) {
		r.fail(field, fmt.Errorf("%v is not a finite non-negative number", v))
		return 0
	}
	r.off += 8
	return v
}

func (r *reader) float32(field string) float32 {
	if r.err != nil {
		return 0
	}
	if len(r.b)-r.off < 4 {
		r.fail(field, errors.New("truncated"))
		return 0
	}
	v := math.Float32frombits(binary.LittleEndian.Uint32(r.b[r.off:]))
	if !(v >= 0) || math.IsInf(float64(v), 0) {
		r.fail(field, fmt.Errorf("%v is not a finite non-negative number", v))
		return 0
	}
	r.off += 4
	return v
}
